"""FAISS backend of the vector index: exact (flat) or HNSW, updated in place.

Layout: a ``faiss.IndexIDMap`` over ``IndexFlatIP`` or ``IndexHNSWFlat`` (inner product, which
is cosine for L2-normalised vectors). The inner index numbers vectors by slot, 0..n-1 in the
order they were added; the IDMap's ``id_map`` (saved with the index) holds each slot's store id,
or -1 for a tombstone. A Python dict maps live ids back to slots (~100 bytes per id).

Updates never rebuild: removing or replacing an id tombstones its slot (HNSW cannot delete a
node) and a replacement appends the new vector. Searches skip tombstones with an
``IDSelectorBitmap`` of live slots. When tombstones exceed :data:`COMPACT_FRACTION` of the
slots the index compacts itself: flat drops them in place (milliseconds); HNSW re-adds its live
vectors from its own storage into a new graph, which costs about a fresh build (minutes per
100,000 vectors on 2 cores) and, while it runs, twice the memory. At a million vectors, rather
rebuild from the store off-line before that point (:attr:`FaissIndex.tombstones` tells).

Filtered search returns ``min(k, |allowed ∩ ids|)`` results always. Up to :data:`SUBSET_LIMIT`
allowed vectors are scored exactly, reading only their rows. Larger sets go through FAISS with
a bitmap selector: flat scans exactly; HNSW widens its search breadth as the allowed share
shrinks and falls back to an exact scan when fewer than ``k`` come back. No second float32
copy of the vectors is ever kept.

Memory: flat 4·d bytes per vector; HNSW 4·d + ~8·M bytes (level-0 links) plus the id dict:
measured 1.89 GB resident for 1,000,000 × 384 at M=32. Growing the storage copies it (both
copies resident for a moment); :meth:`FaissIndex.reserve` (called by ``create_index`` with the
expected size) avoids that: a chunked 1,000,000-vector flat build peaked at 1.75 GB instead of
2.62 GB.

Thread-safe: every public method holds an internal lock; searches run FAISS on one thread.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from matching.errors import IndexCorrupt
from matching.index import IndexManifest, check_rows, write_index_files

__all__ = ["COMPACT_FRACTION", "SUBSET_LIMIT", "FaissIndex"]

COMPACT_FRACTION = 0.2
"""Tombstones, as a fraction of all slots, above which the index compacts itself."""
SUBSET_LIMIT = 16_384
"""Allowed sets up to this size are scored exactly (~9 ms for 16,000 rows at d=384, 2 cores)."""
_LOOKUP_LIMIT = 10_000  # larger allowed sets are matched against the id map in numpy
_EF_CAP = 2_048  # widest HNSW breadth a filtered search may use before the exact fallback
_CHUNK = 65_536  # vectors re-added per step when an HNSW index is compacted
_HNSW_PARAMS = frozenset({"m", "ef_construction", "ef_search"})


class FaissIndex:
    """A :class:`~matching.index.VectorIndex` on FAISS; build with :meth:`flat` or :meth:`hnsw`."""

    def __init__(self, index: faiss.IndexIDMap, kind: str, params: dict[str, int]) -> None:
        self._index = index
        self.dimension: int = index.d
        self.kind: str = kind
        self.params: dict[str, int] = dict(params)
        self._lock = threading.RLock()
        self._slots: dict[int, int] = {}
        self._live: faiss.IDSelector | None = None  # selector of live slots, reset on change
        self._reindex()

    @classmethod
    def flat(cls, dimension: int, *, capacity: int = 0) -> FaissIndex:
        """An exact index: every search scores every vector (memory-bound, ~4 bytes·d each).

        ``capacity``: vectors to allocate room for now (see :meth:`reserve`).
        """
        index = cls(faiss.IndexIDMap(faiss.IndexFlatIP(dimension)), "flat", {})
        index.reserve(capacity)
        return index

    @classmethod
    def hnsw(
        cls, dimension: int, *, m: int, ef_construction: int, ef_search: int, capacity: int = 0
    ) -> FaissIndex:
        """An HNSW graph index with ``m`` links per node and the given build/search breadths."""
        params = {"m": m, "ef_construction": ef_construction, "ef_search": ef_search}
        index = cls(_new_hnsw(dimension, params), "hnsw", params)
        index.reserve(capacity)
        return index

    @classmethod
    def read(cls, path: Path, manifest: IndexManifest) -> FaissIndex:
        """The index in ``path`` (already checksum-verified), checked against its manifest."""
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as error:
            raise IndexCorrupt(f"向量索引文件无法读取：{path}") from error
        if not isinstance(index, faiss.IndexIDMap):
            raise IndexCorrupt(f"向量索引文件不是带编号的索引：{path}")
        expected = {"flat": faiss.IndexFlat, "hnsw": faiss.IndexHNSWFlat}.get(manifest.kind)
        inner = faiss.downcast_index(index.index)
        if (
            expected is None
            or not isinstance(inner, expected)
            or inner.metric_type != faiss.METRIC_INNER_PRODUCT
            or index.d != manifest.dimension
        ):
            raise IndexCorrupt(f"向量索引文件与清单不符（类型或维度）：{path}")
        if manifest.kind == "hnsw" and not _HNSW_PARAMS.issubset(manifest.params):
            raise IndexCorrupt(f"向量索引清单缺少 HNSW 参数：{path}")
        loaded = cls(index, manifest.kind, manifest.params)
        if len(loaded) != manifest.count or index.id_map.size() != index.ntotal:
            raise IndexCorrupt(f"向量索引文件与清单不符（条数）：{path}")
        return loaded

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def tombstones(self) -> int:
        """Slots held by removed or replaced vectors, awaiting compaction."""
        return int(self._index.ntotal) - len(self._slots)

    def ids(self) -> NDArray[np.int64]:
        """The ids held, ascending."""
        with self._lock:
            labels = self._labels()
            return np.sort(labels[labels >= 0])

    def upsert(self, ids: Sequence[int] | NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add vectors (rows, L2-normalised), replacing those of ids already held.

        An id given twice keeps its last vector. Raises ``ValueError`` for negative ids or rows
        of the wrong shape, non-finite or not of unit length.
        """
        keys = np.asarray(ids, dtype=np.int64).reshape(-1)
        rows = np.ascontiguousarray(vectors, dtype=np.float32)
        check_rows(keys, rows, self.dimension)
        if keys.size == 0:
            return
        _, last = np.unique(keys[::-1], return_index=True)
        if last.size < keys.size:
            keep = np.sort(keys.size - 1 - last)
            keys, rows = keys[keep], np.ascontiguousarray(rows[keep])
        with self._lock:
            self._tombstone(keys.tolist())
            first = int(self._index.ntotal)
            self._index.add_with_ids(rows, keys)
            self._slots.update(zip(keys.tolist(), range(first, first + keys.size), strict=True))
            self._changed()

    def remove(self, ids: Sequence[int]) -> None:
        """Drop the given ids; ids not held are ignored."""
        with self._lock:
            if self._tombstone([int(key) for key in ids]):
                self._changed()

    def search(
        self, query: NDArray[np.float32], k: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """Up to ``k`` (id, inner product) pairs for one query vector, best first.

        With ``allowed``, exactly ``min(k, |allowed ∩ ids|)`` pairs come back, all allowed.
        """
        vector = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if vector.shape[1] != self.dimension:
            raise ValueError(f"query has {vector.shape[1]} dimensions, index {self.dimension}")
        with self._lock, _one_thread():
            if k <= 0 or not self._slots:
                return []
            if allowed is None:
                selector = None if self.tombstones == 0 else self._live_selector()
                if self.kind == "flat":
                    return self._scan(vector, k, selector)
                return self._search(vector, k, selector, len(self._slots))
            slots = self._allowed_slots(allowed)
            if slots.size == 0:
                return []
            if slots.size <= max(SUBSET_LIMIT, k):
                return self._score_subset(vector, k, slots)
            mask = np.zeros(self._index.ntotal, dtype=bool)
            mask[slots] = True
            if self.kind == "flat":
                return self._scan(vector, k, _bitmap_selector(mask))
            return self._search(vector, k, _bitmap_selector(mask), slots.size)

    def vectors(self, ids: Sequence[int]) -> NDArray[np.float32]:
        """Copies of the stored vectors of ``ids`` (one row each); KeyError for an unknown id."""
        with self._lock:
            slots = [self._slots[int(key)] for key in ids]
            return np.array(self._stored()[slots], dtype=np.float32, copy=True)

    def save(self, folder: Path, *, model_id: str, high_water: str) -> IndexManifest:
        """Write the index file and then its manifest into ``folder``, each atomically."""
        with self._lock:
            return write_index_files(
                folder,
                lambda path: faiss.write_index(self._index, str(path)),
                model_id=model_id,
                dimension=self.dimension,
                count=len(self),
                high_water=high_water,
                kind=self.kind,
                params=self.params,
            )

    def reserve(self, capacity: int) -> None:
        """Allocate (and make resident) room for ``capacity`` stored vectors now.

        FAISS grows its vector storage like a ``std::vector``: growing copies it, and during
        the copy old and new buffers are both resident. Building 1,000,000 × 384 in chunks
        peaked at 2.86 GB for 1.89 GB at rest; with the room reserved, no copy happens until
        the index outgrows ``capacity``.
        """
        with self._lock:
            _reserve(self._index, capacity)

    def compact(self) -> None:
        """Drop tombstoned slots now (HNSW: rebuild the graph from the stored vectors)."""
        with self._lock:
            if self.tombstones == 0:
                return
            if self.kind == "flat":
                self._index.remove_ids(faiss.IDSelectorBatch(np.array([-1], dtype=np.int64)))
            else:
                self._index = self._rebuilt()
            self._reindex()

    def _search(
        self, vector: NDArray[np.float32], k: int, selector: faiss.IDSelector | None, size: int
    ) -> list[tuple[int, float]]:
        """HNSW search among ``size`` selected slots; an exact scan if fewer than k come back.

        The breadth grows with the share of slots not selected, up to ``_EF_CAP``.
        """
        breadth = max(self.params["ef_search"], k)
        breadth = max(breadth, min(math.ceil(breadth * self._index.ntotal / size), _EF_CAP))
        # the type stubs lack SearchParametersHNSW, which the library has
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = breadth
        params.sel = selector
        scores, hits = self._inner().search(vector, k, params=params)
        if int((hits[0] >= 0).sum()) < min(k, size):
            return self._scan(vector, k, selector)
        return self._pairs(hits[0], scores[0])

    def _scan(
        self, vector: NDArray[np.float32], k: int, selector: faiss.IDSelector | None
    ) -> list[tuple[int, float]]:
        """Exact: FAISS scores every stored vector the selector lets through."""
        params = faiss.SearchParameters()
        params.sel = selector
        scores, hits = self._storage().search(vector, k, params=params)
        return self._pairs(hits[0], scores[0])

    def _score_subset(
        self, vector: NDArray[np.float32], k: int, slots: NDArray[np.int64]
    ) -> list[tuple[int, float]]:
        """Exact over a few slots: only their rows are read, and nothing big is allocated."""
        scores = np.empty(slots.size, dtype=np.float32)
        storage: Any = self._storage()  # compute_distance_subset is missing from the type stubs
        storage.compute_distance_subset(
            1, faiss.swig_ptr(vector), slots.size, faiss.swig_ptr(scores), faiss.swig_ptr(slots)
        )
        if k < scores.size:
            top = np.argpartition(-scores, k - 1)[:k]
            order = top[np.argsort(-scores[top], kind="stable")]
        else:
            order = np.argsort(-scores, kind="stable")
        return self._pairs(slots[order], scores[order])

    def _pairs(
        self, slots: NDArray[np.int64], scores: NDArray[np.float32]
    ) -> list[tuple[int, float]]:
        found = slots >= 0
        labels = self._labels()[slots[found]]
        return list(zip(labels.tolist(), scores[found].tolist(), strict=True))

    def _allowed_slots(self, allowed: Collection[int]) -> NDArray[np.int64]:
        if isinstance(allowed, np.ndarray):
            keys = allowed.astype(np.int64).reshape(-1)
        else:
            keys = np.fromiter(allowed, dtype=np.int64, count=len(allowed))
        if keys.size > _LOOKUP_LIMIT:
            return np.flatnonzero(np.isin(self._labels(), keys[keys >= 0])).astype(np.int64)
        found = [self._slots.get(key) for key in keys.tolist()]
        slots = np.array([slot for slot in found if slot is not None], dtype=np.int64)
        # sorted slots read the storage in order; a set needs no deduplication
        return np.sort(slots) if isinstance(allowed, AbstractSet) else np.unique(slots)

    def _live_selector(self) -> faiss.IDSelector:
        if self._live is None:
            self._live = _bitmap_selector(self._labels() >= 0)
        return self._live

    def _tombstone(self, keys: list[int]) -> int:
        labels = self._labels()
        count = 0
        for key in keys:
            slot = self._slots.pop(key, None)
            if slot is not None:
                labels[slot] = -1
                count += 1
        return count

    def _changed(self) -> None:
        self._live = None
        if self.tombstones > COMPACT_FRACTION * self._index.ntotal:
            self.compact()

    def _reindex(self) -> None:
        labels = self._labels()
        live = np.flatnonzero(labels >= 0)
        self._slots = dict(zip(labels[live].tolist(), live.tolist(), strict=True))
        self._live = None
        if len(self._slots) != live.size:
            raise IndexCorrupt("向量索引中有重复的编号")

    def _rebuilt(self) -> faiss.IndexIDMap:
        labels, stored = self._labels(), self._stored()
        live = np.flatnonzero(labels >= 0)
        fresh = _new_hnsw(self.dimension, self.params)
        _reserve(fresh, live.size)
        for start in range(0, live.size, _CHUNK):
            part = live[start : start + _CHUNK]
            fresh.add_with_ids(np.ascontiguousarray(stored[part]), labels[part].copy())
        return fresh

    def _inner(self) -> faiss.Index:
        return faiss.downcast_index(self._index.index)

    def _labels(self) -> NDArray[np.int64]:
        """Writable view of the slot → id map (valid until the next add)."""
        size = int(self._index.id_map.size())
        if size == 0:
            return np.empty(0, dtype=np.int64)
        view: NDArray[np.int64] = faiss.rev_swig_ptr(self._index.id_map.data(), size)
        return view

    def _storage(self) -> faiss.IndexFlat:
        return _storage_of(self._index)

    def _stored(self) -> NDArray[np.float32]:
        """View of the stored vectors, one row per slot, not to be written (valid until an add)."""
        storage = self._storage()
        count = int(storage.ntotal)
        if count == 0:
            return np.empty((0, self.dimension), dtype=np.float32)
        view: NDArray[np.float32] = faiss.rev_swig_ptr(storage.get_xb(), count * self.dimension)
        return view.reshape(count, self.dimension)


def _storage_of(index: faiss.IndexIDMap) -> faiss.IndexFlat:
    """The flat index that stores the vectors, one per slot (HNSW keeps one inside)."""
    inner = faiss.downcast_index(index.index)
    storage = faiss.downcast_index(inner.storage) if isinstance(inner, faiss.IndexHNSW) else inner
    assert isinstance(storage, faiss.IndexFlat)
    return storage


def _reserve(index: faiss.IndexIDMap, capacity: int) -> None:
    storage = _storage_of(index)
    if capacity > storage.ntotal:
        codes: Any = storage.codes  # a MaybeOwnedVector: resizing down keeps the capacity
        size = storage.ntotal * storage.code_size
        codes.resize(capacity * storage.code_size)
        codes.resize(size)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run FAISS on one OpenMP thread in this thread only (the setting is per thread).

    One query gains nothing from a second thread, and waking it costs milliseconds when the
    cores are busy (measured: 6-12 ms for a 100-vector subset on 2 shared cores, 0.05 ms alone).
    """
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _bitmap_selector(mask: NDArray[np.bool_]) -> faiss.IDSelector:
    """Selector of the slots set in ``mask``; it keeps its packed bitmap alive."""
    bitmap = np.packbits(mask, bitorder="little")
    # the wrapper's one-array form (length in bytes, and a reference kept) is not in the stubs
    selector: faiss.IDSelector = faiss.IDSelectorBitmap(bitmap)  # type: ignore[call-arg,arg-type]
    return selector


def _new_hnsw(dimension: int, params: dict[str, int]) -> faiss.IndexIDMap:
    graph = faiss.IndexHNSWFlat(dimension, params["m"], faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = params["ef_construction"]
    graph.hnsw.efSearch = params["ef_search"]
    return faiss.IndexIDMap(graph)
