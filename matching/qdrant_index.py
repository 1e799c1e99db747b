"""Qdrant backend of the vector index: Qdrant's local mode in process, or a Qdrant cluster.

Points are keyed by the store's ids; the collection uses cosine distance (Qdrant normalises the
vectors, which are unit length already, so scores are the inner products FAISS gives). A filter
is a ``HasIdCondition`` on the allowed ids.

Local mode (``settings.qdrant_url`` unset), for tests and single machines: the live collection
is in memory (exact, brute-force search in numpy; Qdrant advises it up to ~20,000 points). A
save writes its ids and vectors (``.npz``) as the checksum-named index file of
:func:`~matching.index.write_index_files`, so a missing, truncated or altered snapshot is
refused at load and the manifest rename stays the commit point, exactly as with FAISS. (Qdrant's
own on-disk local mode, ``QdrantClient(path=...)``, commits SQLite once per point: 400 points
took 4 s here, so it is not used for snapshots.)

Cluster mode (``settings.qdrant_url`` set), for production: the live collection
``techmatch-<random>`` is on the server, durable on every write (Qdrant's write-ahead log), and
HNSW with ``hnsw_m`` / ``hnsw_ef_construction`` / ``hnsw_ef_search``. A save only writes the
manifest naming the collection (``location``), then drops the collection the previous manifest
named, if another. A load refuses a collection that is gone or has another dimension or
distance; points written after the last save are not an error, since opening a corpus catches
the index up with the store anyway (re-embedding rows changed since the manifest's mark).
Filtered searches over up to :data:`EXACT_FILTER_LIMIT` ids are exact, so they never starve.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
import zipfile
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from qdrant_client import QdrantClient, models

from matching.config import Settings
from matching.errors import IndexCorrupt, IndexMissing, IndexStale
from matching.index import (
    IndexManifest,
    check_rows,
    file_checksum,
    index_file_name,
    read_manifest,
    write_index_files,
    write_manifest,
)

__all__ = ["EXACT_FILTER_LIMIT", "QdrantIndex"]

EXACT_FILTER_LIMIT = 16_384
"""Cluster mode: filtered searches over up to this many ids score them all (exact)."""
_COLLECTION = "vectors"  # the in-memory collection's name in local mode
_BATCH = 1_024  # points per upsert request
_SCROLL = 10_000  # points per scroll page


class QdrantIndex:
    """A :class:`~matching.index.VectorIndex` on Qdrant; build with :meth:`create`."""

    kind: str = "qdrant"

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        dimension: int,
        params: dict[str, int],
        *,
        local: bool,
    ) -> None:
        self._client = client
        self._collection = collection
        self.dimension: int = dimension
        self.params: dict[str, int] = dict(params)
        self._local = local
        self._exists = client.collection_exists(collection)
        # local mode is plain Python state: serialise; the cluster client is thread-safe
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self._local else contextlib.nullcontext()
        )
        self._create_lock = threading.Lock()  # one collection, even from concurrent writers

    @classmethod
    def create(cls, dimension: int, settings: Settings) -> QdrantIndex:
        """An empty index: in memory, or a new collection on ``settings.qdrant_url`` (created
        on the first write, so an index that stays empty leaves nothing on the server)."""
        if settings.qdrant_url is None:
            return cls(QdrantClient(location=":memory:"), _COLLECTION, dimension, {}, local=True)
        client = QdrantClient(url=settings.qdrant_url)
        name = f"techmatch-{uuid.uuid4().hex}"
        return cls(client, name, dimension, _hnsw(settings), local=False)

    @classmethod
    def read(cls, folder: Path, manifest: IndexManifest, settings: Settings) -> QdrantIndex:
        """The index a manifest of ``folder`` describes (cluster collection or local snapshot)."""
        if bool(manifest.location) != (settings.qdrant_url is not None):
            where = "Qdrant 集群" if manifest.location else "Qdrant 本地模式"
            raise IndexStale(
                f"向量索引保存在{where}，与当前 TECHMATCH_QDRANT_URL 设置不符，需要重建"
            )
        if manifest.location:
            return cls._read_cluster(manifest, settings)
        return cls._read_snapshot(folder, manifest)

    @classmethod
    def _read_cluster(cls, manifest: IndexManifest, settings: Settings) -> QdrantIndex:
        client = QdrantClient(url=settings.qdrant_url)
        if not client.collection_exists(manifest.location):
            raise IndexCorrupt(f"Qdrant 集合缺失：{manifest.location}")
        params = manifest.params or _hnsw(settings)
        index = cls(client, manifest.location, manifest.dimension, params, local=False)
        _check_collection(client, manifest.location, manifest.dimension)
        return index

    @classmethod
    def _read_snapshot(cls, folder: Path, manifest: IndexManifest) -> QdrantIndex:
        path = folder / index_file_name(manifest.checksum)
        if not path.is_file():
            raise IndexCorrupt(f"向量索引文件缺失：{path}")
        if file_checksum(path) != manifest.checksum:
            raise IndexCorrupt(f"向量索引文件校验和不符（被截断或修改）：{path}")
        try:
            with np.load(path, allow_pickle=False) as arrays:
                ids, rows = arrays["ids"], arrays["vectors"]
            if ids.dtype != np.int64 or rows.dtype != np.float32:
                raise ValueError("arrays of the wrong type")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise IndexCorrupt(f"向量索引文件无法读取：{path}（{error}）") from error
        if rows.ndim != 2 or rows.shape[1] != manifest.dimension:
            raise IndexCorrupt(f"向量索引文件与清单不符（类型或维度）：{path}")
        if ids.size != manifest.count or np.unique(ids).size != ids.size:
            raise IndexCorrupt(f"向量索引文件与清单不符（条数）：{path}")
        memory = QdrantClient(location=":memory:")
        index = cls(memory, _COLLECTION, manifest.dimension, {}, local=True)
        try:
            index.upsert(ids, rows)
        except ValueError as error:  # negative ids, vectors not of unit length
            raise IndexCorrupt(f"向量索引文件无法读取：{path}（{error}）") from error
        return index

    def __len__(self) -> int:
        with self._lock:
            if not self._exists:
                return 0
            return int(self._client.count(self._collection, exact=True).count)

    def ids(self) -> NDArray[np.int64]:
        """The ids held, ascending."""
        with self._lock:
            if not self._exists:
                return np.empty(0, dtype=np.int64)
            pages = [ids for ids, _ in _pages(self._client, self._collection, with_vectors=False)]
        return np.sort(np.concatenate([np.empty(0, dtype=np.int64), *pages]))

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
            keys, rows = keys[keep], rows[keep]
        with self._lock:
            self._ensure_collection()
            for start in range(0, keys.size, _BATCH):
                batch = models.Batch(
                    ids=keys[start : start + _BATCH].tolist(),
                    vectors=rows[start : start + _BATCH].tolist(),
                )
                self._client.upsert(self._collection, points=batch, wait=True)

    def remove(self, ids: Sequence[int]) -> None:
        """Drop the given ids; ids not held are ignored."""
        keys = [int(key) for key in ids if int(key) >= 0]
        with self._lock:
            if not keys or not self._exists:
                return
            selector = models.PointIdsList(points=list(keys))
            self._client.delete(self._collection, points_selector=selector, wait=True)

    def search(
        self, query: NDArray[np.float32], k: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """Up to ``k`` (id, cosine) pairs for one query vector, best first.

        With ``allowed``, exactly ``min(k, |allowed ∩ ids|)`` pairs come back, all allowed
        (cluster mode: guaranteed up to :data:`EXACT_FILTER_LIMIT` allowed ids).
        """
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        if vector.size != self.dimension:
            raise ValueError(f"query has {vector.size} dimensions, index {self.dimension}")
        condition: models.Filter | None = None
        exact = False
        if allowed is not None:
            keys = sorted({int(key) for key in allowed if int(key) >= 0})
            if not keys:
                return []
            condition = models.Filter(must=[models.HasIdCondition(has_id=list(keys))])
            exact = len(keys) <= EXACT_FILTER_LIMIT
        with self._lock:
            if k <= 0 or not self._exists:
                return []
            response = self._client.query_points(
                self._collection,
                query=vector.tolist(),
                limit=k,
                query_filter=condition,
                search_params=None if self._local else self._search_params(k, exact),
                with_payload=False,
            )
        pairs = [(int(point.id), float(point.score)) for point in response.points]
        # equal scores (the same text twice) come back in storage order: make it the id order
        return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))

    def vectors(self, ids: Sequence[int]) -> NDArray[np.float32]:
        """The stored vectors of ``ids`` (one row each); KeyError for an unknown id."""
        keys = [int(key) for key in ids]
        if not keys:
            return np.empty((0, self.dimension), dtype=np.float32)
        with self._lock:
            found = {} if not self._exists else self._retrieve(keys)
        return np.stack([found[key] for key in keys]).astype(np.float32)

    def save(self, folder: Path, *, model_id: str, high_water: str) -> IndexManifest:
        """Local mode: the index file, then the manifest (as FAISS); cluster mode: the manifest
        naming the collection, then drop the collection saved before (if another)."""
        with self._lock:
            self._ensure_collection()
            if self._local:
                return write_index_files(
                    folder,
                    self._write_arrays,
                    model_id=model_id,
                    dimension=self.dimension,
                    count=len(self),
                    high_water=high_water,
                    kind=self.kind,
                    params=self.params,
                )
            manifest = IndexManifest(
                model_id,
                self.dimension,
                len(self),
                "",
                high_water,
                self.kind,
                dict(self.params),
                self._collection,
            )
            previous = _previous_location(folder)
            write_manifest(folder, manifest)
        for old in folder.glob("vectors-*.index"):
            old.unlink(missing_ok=True)
        if previous and previous != self._collection:
            self._client.delete_collection(previous)
        return manifest

    def close(self) -> None:
        """Release the client (its connections, or the local-mode state)."""
        self._client.close()

    def _search_params(self, k: int, exact: bool) -> models.SearchParams:
        return models.SearchParams(hnsw_ef=max(self.params["ef_search"], k), exact=exact)

    def _retrieve(self, keys: list[int]) -> dict[int, NDArray[np.float32]]:
        found: dict[int, NDArray[np.float32]] = {}
        for start in range(0, len(keys), _SCROLL):
            records = self._client.retrieve(
                self._collection, keys[start : start + _SCROLL], with_vectors=True
            )
            for record in records:
                found[int(record.id)] = np.asarray(record.vector, dtype=np.float32)
        return found

    def _ensure_collection(self) -> None:
        with self._create_lock:
            self._create_collection()

    def _create_collection(self) -> None:
        if self._exists:
            return
        hnsw = None
        if not self._local:
            hnsw = models.HnswConfigDiff(
                m=self.params["m"], ef_construct=self.params["ef_construction"]
            )
        self._client.create_collection(
            self._collection,
            vectors_config=models.VectorParams(
                size=self.dimension, distance=models.Distance.COSINE
            ),
            hnsw_config=hnsw,
        )
        self._exists = True

    def _write_arrays(self, path: Path) -> None:
        pages = list(_pages(self._client, self._collection, with_vectors=True))
        ids = np.concatenate([np.empty(0, dtype=np.int64), *(ids for ids, _ in pages)])
        empty = np.empty((0, self.dimension), dtype=np.float32)
        rows = np.concatenate([empty, *(rows for _, rows in pages)])
        with open(path, "wb") as handle:
            np.savez(handle, ids=ids, vectors=rows)


def _hnsw(settings: Settings) -> dict[str, int]:
    return {
        "m": settings.hnsw_m,
        "ef_construction": settings.hnsw_ef_construction,
        "ef_search": settings.hnsw_ef_search,
    }


def _check_collection(client: QdrantClient, collection: str, dimension: int) -> None:
    try:
        vectors = client.get_collection(collection).config.params.vectors
    except Exception as error:  # a missing collection raises differently per mode
        raise IndexCorrupt(f"Qdrant 集合无法读取：{collection}（{error!r}）") from error
    if (
        not isinstance(vectors, models.VectorParams)
        or vectors.size != dimension
        or vectors.distance != models.Distance.COSINE
    ):
        raise IndexCorrupt(f"Qdrant 集合与清单不符（类型或维度）：{collection}")


def _pages(
    client: QdrantClient, collection: str, *, with_vectors: bool
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32]]]:
    """Every point of a collection, a page at a time: (ids, vectors or an empty array)."""
    offset: Any = None
    while True:
        records, offset = client.scroll(
            collection, limit=_SCROLL, offset=offset, with_payload=False, with_vectors=with_vectors
        )
        ids = np.array([int(record.id) for record in records], dtype=np.int64)
        if with_vectors:
            rows = np.array([record.vector for record in records], dtype=np.float32)
        else:
            rows = np.empty((0, 0), dtype=np.float32)
        if ids.size:
            yield ids, rows
        if offset is None:
            return


def _previous_location(folder: Path) -> str:
    try:
        return read_manifest(folder).location
    except (IndexMissing, IndexCorrupt):
        return ""
