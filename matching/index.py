"""Vector index: the protocol every backend follows, its manifest, and the factory.

Two backends, chosen by ``settings.vector_backend``: FAISS (:mod:`matching.faiss_index`, in
process) and Qdrant (:mod:`matching.qdrant_index`, local mode or a Qdrant cluster).

A saved FAISS index is a folder with two files: ``vectors-<sha256 prefix>.index`` (the backend's
own format) and ``manifest.json`` (an :class:`IndexManifest`); a Qdrant one is described in its
module. The manifest is written last and is
the commit point: a save that fails at any step leaves the previous index and manifest in
place, and :func:`load_index` refuses (raises) rather than serve a file that is missing,
truncated, altered, or built for another model.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from matching.atomic import atomic_path, remove_orphaned_temporaries
from matching.config import Settings
from matching.errors import IndexCorrupt, IndexMissing, IndexStale

__all__ = [
    "MANIFEST_NAME",
    "IndexManifest",
    "VectorIndex",
    "check_rows",
    "create_index",
    "file_checksum",
    "folder_lock",
    "index_file_name",
    "load_index",
    "read_manifest",
    "write_index_files",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"
_FORMAT = 1
_PENDING_NAME = ".vectors.pending"
_LOCK_NAME = ".lock"
_PENDING = re.compile(r"^\.vectors\.pending\.(\d+)$")
_NORM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class IndexManifest:
    """What a saved index holds; checked at load so vectors of different models never mix."""

    model_id: str
    dimension: int
    count: int
    checksum: str
    high_water: str
    kind: str
    params: dict[str, int] = field(default_factory=dict)
    location: str = ""
    """Where the vectors are when not in a file of the folder (a Qdrant cluster's collection)."""


class VectorIndex(Protocol):
    """Inner-product search over L2-normalised float32 vectors keyed by the store's int64 ids."""

    dimension: int
    kind: str

    def __len__(self) -> int: ...

    def ids(self) -> NDArray[np.int64]:
        """The ids held, ascending."""
        ...

    def upsert(self, ids: Sequence[int] | NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add vectors, replacing the vector of an id already held (no rebuild)."""
        ...

    def remove(self, ids: Sequence[int]) -> None:
        """Drop the given ids; ids not held are ignored."""
        ...

    def search(
        self, query: NDArray[np.float32], k: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """Up to ``k`` (id, inner product) pairs, best first.

        With ``allowed``, exactly ``min(k, |allowed ∩ ids|)`` pairs come back, all allowed.
        """
        ...

    def vectors(self, ids: Sequence[int]) -> NDArray[np.float32]:
        """The stored vectors of ``ids``, one row each (KeyError for an unknown id)."""
        ...

    def save(self, folder: Path, *, model_id: str, high_water: str) -> IndexManifest:
        """Write the index and its manifest atomically into ``folder``."""
        ...


def create_index(dimension: int, expected_size: int, settings: Settings) -> VectorIndex:
    """An empty index of ``settings.vector_backend`` with room for ``expected_size`` vectors.

    FAISS: exact (flat) up to ``settings.exact_index_limit`` vectors, HNSW above it with
    ``settings.hnsw_m`` / ``hnsw_ef_construction`` / ``hnsw_ef_search``; the room is allocated
    now, and the kind is fixed at creation: an index that outgrows the limit stays flat until it
    is rebuilt. Qdrant: a new collection in memory, or on ``settings.qdrant_url``.
    """
    if settings.vector_backend == "qdrant":
        from matching.qdrant_index import QdrantIndex

        return QdrantIndex.create(dimension, settings)

    from matching.faiss_index import FaissIndex

    if expected_size <= settings.exact_index_limit:
        return FaissIndex.flat(dimension, capacity=expected_size)
    return FaissIndex.hnsw(
        dimension,
        m=settings.hnsw_m,
        ef_construction=settings.hnsw_ef_construction,
        ef_search=settings.hnsw_ef_search,
        capacity=expected_size,
    )


def load_index(
    folder: Path,
    expected_model_id: str,
    expected_dimension: int,
    settings: Settings | None = None,
) -> tuple[VectorIndex, IndexManifest]:
    """The index saved in ``folder`` and its manifest, after checking both.

    Raises :class:`IndexMissing` when nothing was saved, :class:`IndexStale` when it was built
    for another model or dimension, or (given ``settings``) by another backend or Qdrant
    location, :class:`IndexCorrupt` when a file or collection is missing, truncated, altered or
    unreadable. Without ``settings`` either backend loads, Qdrant in local mode.
    """
    if not folder.is_dir():
        raise IndexMissing(f"没有已保存的向量索引：{folder}")
    with folder_lock(folder, exclusive=False):
        return _load_index(folder, expected_model_id, expected_dimension, settings)


def _load_index(
    folder: Path,
    expected_model_id: str,
    expected_dimension: int,
    settings: Settings | None,
) -> tuple[VectorIndex, IndexManifest]:
    from matching.faiss_index import FaissIndex

    manifest = read_manifest(folder)
    if manifest.model_id != expected_model_id or manifest.dimension != expected_dimension:
        raise IndexStale(
            f"向量索引由模型 {manifest.model_id}（{manifest.dimension} 维）生成，"
            f"当前模型为 {expected_model_id}（{expected_dimension} 维），需要重建"
        )
    backend = "qdrant" if manifest.kind == "qdrant" else "faiss"
    if settings is not None and settings.vector_backend != backend:
        raise IndexStale(
            f"向量索引由 {backend} 后端生成，当前配置为 {settings.vector_backend}，需要重建"
        )
    if backend == "qdrant":
        from matching.qdrant_index import QdrantIndex

        return QdrantIndex.read(folder, manifest, settings or Settings()), manifest
    path = folder / index_file_name(manifest.checksum)
    if not path.is_file():
        raise IndexCorrupt(f"向量索引文件缺失：{path}")
    if file_checksum(path) != manifest.checksum:
        raise IndexCorrupt(f"向量索引文件校验和不符（被截断或修改）：{path}")
    return FaissIndex.read(path, manifest), manifest


def index_file_name(checksum: str) -> str:
    """Name of the index file with the given sha256: a new save never overwrites the old file."""
    return f"vectors-{checksum[:16]}.index"


def file_checksum(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def folder_lock(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """An advisory lock on an index folder (``flock`` on ``<folder>/.lock``): saves take it
    exclusively, loads shared, so several processes serving one data folder never read an index
    half-way through another's save or delete the file another's manifest just named. The
    kernel releases it when the holder dies."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / _LOCK_NAME, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_index_files(
    folder: Path,
    write: Callable[[Path], None],
    *,
    model_id: str,
    dimension: int,
    count: int,
    high_water: str,
    kind: str,
    params: dict[str, int],
) -> IndexManifest:
    """Save an index: ``write`` fills a temp path, which becomes the checksum-named index file;
    then the manifest replaces the old one in one rename, and older index files are deleted.

    Every file is fsynced before its rename. Until the manifest rename, the folder still
    describes the previous index.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder, exclusive=True):  # one save at a time per folder, across processes
        # What a killed save left (its temp files; its pending index file) would stay for good.
        remove_orphaned_temporaries(folder)
        remove_orphaned_temporaries(folder, _PENDING)
        pending = folder / f"{_PENDING_NAME}.{os.getpid()}"  # one per process: saves never collide
        with atomic_path(pending) as temp:
            write(temp)
        checksum = file_checksum(pending)
        name = index_file_name(checksum)
        os.replace(pending, folder / name)
        _fsync_folder(folder)
        manifest = IndexManifest(
            model_id, dimension, count, checksum, high_water, kind, dict(params)
        )
        write_manifest(folder, manifest)
        for old in folder.glob("vectors-*.index"):
            if old.name != name:
                old.unlink(missing_ok=True)
        return manifest


def write_manifest(folder: Path, manifest: IndexManifest) -> None:
    """Replace the folder's manifest in one rename (the commit point of a save)."""
    with atomic_path(folder / MANIFEST_NAME) as temp:
        text = json.dumps({"format": _FORMAT, **asdict(manifest)}, ensure_ascii=False, indent=2)
        temp.write_text(text, "utf-8")


def read_manifest(folder: Path) -> IndexManifest:
    """The folder's manifest; :class:`IndexMissing` if none, :class:`IndexCorrupt` if unreadable."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise IndexMissing(f"没有已保存的向量索引：{folder}")
    try:
        data: Any = json.loads(path.read_text("utf-8"))
        if data.pop("format") != _FORMAT:
            raise ValueError("unknown format")
        manifest = IndexManifest(**data)
        _check_types(manifest)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise IndexCorrupt(f"向量索引清单无法读取：{path}（{error}）") from error
    return manifest


def _check_types(manifest: IndexManifest) -> None:
    texts = (
        manifest.model_id,
        manifest.checksum,
        manifest.high_water,
        manifest.kind,
        manifest.location,
    )
    numbers = (manifest.dimension, manifest.count, *manifest.params.values())
    if not all(isinstance(text, str) for text in texts) or not all(
        isinstance(number, int) for number in numbers
    ):
        raise TypeError("field of the wrong type")


def check_rows(keys: NDArray[np.int64], rows: NDArray[np.float32], dimension: int) -> None:
    """Refuse (``ValueError``) negative ids, or rows of the wrong shape, non-finite or not of
    unit length (tolerance 1e-3)."""
    if rows.ndim != 2 or rows.shape != (keys.size, dimension):
        raise ValueError(
            f"expected {keys.size} vectors of {dimension} dimensions, got {rows.shape}"
        )
    if keys.size == 0:
        return
    if int(keys.min()) < 0:
        raise ValueError("ids must be non-negative")
    norms = np.linalg.norm(rows, axis=1)
    if not np.all(np.isfinite(norms)) or float(np.abs(norms - 1).max()) > _NORM_TOLERANCE:
        raise ValueError("vectors must be finite and L2-normalised")


def _fsync_folder(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
