"""The index factory and persistence: round trips, and refusals for every kind of bad file.

Tests taking ``backend`` run on FAISS (flat) and Qdrant (local mode, a snapshot folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from matching.config import Settings
from matching.errors import IndexCorrupt, IndexMissing, IndexStale
from matching.faiss_index import FaissIndex
from matching.index import (
    MANIFEST_NAME,
    IndexManifest,
    VectorIndex,
    create_index,
    file_checksum,
    index_file_name,
    load_index,
    write_index_files,
)
from matching.qdrant_index import QdrantIndex

DIMENSION = 24
MODEL = "intfloat/multilingual-e5-small@test"


def unit(rng: np.random.Generator, count: int) -> NDArray[np.float32]:
    vectors = rng.standard_normal((count, DIMENSION), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def filled(kind: str, count: int = 400, seed: int = 0) -> tuple[VectorIndex, NDArray[np.float32]]:
    """An index of ``kind`` ("flat", "hnsw", or a backend: "faiss" is flat, "qdrant")."""
    limit = 10 if kind == "hnsw" else 10_000
    backend = "qdrant" if kind == "qdrant" else "faiss"
    settings = Settings(
        exact_index_limit=limit, hnsw_m=8, hnsw_ef_construction=40, vector_backend=backend
    )
    index = create_index(DIMENSION, count, settings)
    vectors = unit(np.random.default_rng(seed), count)
    index.upsert(np.arange(1, count + 1), vectors)
    return index, vectors


def only_index_file(folder: Path) -> Path:
    (path,) = folder.glob("vectors-*.index")
    return path


@pytest.fixture(params=["flat", "hnsw", "qdrant"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["faiss", "qdrant"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def saved(tmp_path: Path, backend: str) -> Path:
    index, _ = filled(backend)
    index.save(tmp_path, model_id=MODEL, high_water="2026-01-01T00:00:00|400")
    return tmp_path


def load_settings(backend: str) -> Settings:
    return Settings(vector_backend="qdrant" if backend == "qdrant" else "faiss")


def test_factory_follows_the_backend_setting() -> None:
    qdrant = create_index(DIMENSION, 10, Settings(vector_backend="qdrant"))
    assert isinstance(qdrant, QdrantIndex) and qdrant.kind == "qdrant"
    assert qdrant.dimension == DIMENSION and len(qdrant) == 0
    assert isinstance(create_index(DIMENSION, 10, Settings()), FaissIndex)


def test_factory_is_exact_up_to_the_limit_and_hnsw_above() -> None:
    settings = Settings(
        exact_index_limit=100, hnsw_m=12, hnsw_ef_construction=50, hnsw_ef_search=70
    )
    assert create_index(DIMENSION, 100, settings).kind == "flat"
    hnsw = create_index(DIMENSION, 101, settings)
    assert hnsw.kind == "hnsw" and hnsw.dimension == DIMENSION
    assert isinstance(hnsw, FaissIndex)
    assert hnsw.params == {"m": 12, "ef_construction": 50, "ef_search": 70}


def test_round_trip_keeps_ids_vectors_and_manifest(kind: str, tmp_path: Path) -> None:
    index, vectors = filled(kind)
    index.remove([3, 4])
    index.upsert([5], vectors[:1])
    manifest = index.save(tmp_path, model_id=MODEL, high_water="hw-1")
    assert manifest.count == 398 and manifest.kind == kind and manifest.dimension == DIMENSION
    assert manifest.checksum == file_checksum(tmp_path / index_file_name(manifest.checksum))
    assert {path.name for path in tmp_path.iterdir()} == {
        MANIFEST_NAME,
        index_file_name(manifest.checksum),
        ".lock",  # the folder's save/load lock (empty)
    }

    loaded, read = load_index(tmp_path, MODEL, DIMENSION, load_settings(kind))
    assert read == manifest and loaded.kind == kind and len(loaded) == 398
    assert np.array_equal(loaded.ids(), index.ids())
    for query in vectors[:10]:
        assert same_hits(loaded.search(query, 10), index.search(query, 10))
    assert same_hits(
        loaded.search(vectors[0], 2, allowed={1, 3, 5}),
        index.search(vectors[0], 2, allowed={1, 3, 5}),
    )
    loaded.upsert([10_000], vectors[1:2])  # a loaded index stays updatable
    assert loaded.search(vectors[1], 2)[0][0] in (2, 10_000)


def same_hits(left: list[tuple[int, float]], right: list[tuple[int, float]]) -> bool:
    """The same ids in the same order, scores equal within 1e-5."""
    return [key for key, _ in left] == [key for key, _ in right] and np.allclose(
        [score for _, score in left], [score for _, score in right], atol=1e-5
    )


def test_second_save_replaces_the_first_and_leaves_one_file(tmp_path: Path, backend: str) -> None:
    index, _ = filled(backend)
    first = index.save(tmp_path, model_id=MODEL, high_water="a")
    index.remove([1])
    second = index.save(tmp_path, model_id=MODEL, high_water="b")
    assert second.checksum != first.checksum
    assert only_index_file(tmp_path).name == index_file_name(second.checksum)
    loaded, manifest = load_index(tmp_path, MODEL, DIMENSION)
    assert manifest.high_water == "b" and len(loaded) == 399


def test_a_save_removes_what_a_killed_save_left_and_keeps_a_live_writer_s_files(
    tmp_path: Path, backend: str
) -> None:
    """A save killed mid-way leaves its temp files (and, FAISS, its pending index file); the
    next save deletes those of writers no longer running, and never a running writer's."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = int(ended.stdout)  # that process has exited
    index, _ = filled(backend)
    index.save(tmp_path, model_id=MODEL, high_water="a")
    orphans = [
        f"..vectors.pending.{dead}.{dead}.k3j_x9ab.tmp",
        f".manifest.json.{dead}.q1w2e3r4.tmp",
        f".vectors.pending.{dead}",
    ]
    live = [f".manifest.json.{os.getppid()}.zz99yy88.tmp", f".vectors.pending.{os.getppid()}"]
    for name in [*orphans, *live]:
        (tmp_path / name).write_bytes(b"half-written")
    index.remove([1])
    index.save(tmp_path, model_id=MODEL, high_water="b")
    left = {path.name for path in tmp_path.iterdir()}
    assert not left & set(orphans)
    assert set(live) <= left
    loaded, manifest = load_index(tmp_path, MODEL, DIMENSION, load_settings(backend))
    assert manifest.high_water == "b" and len(loaded) == 399


def test_nothing_saved_is_missing(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing):
        load_index(tmp_path / "absent", MODEL, DIMENSION)
    assert issubclass(IndexMissing, IndexCorrupt)


def test_missing_index_file_is_corrupt(saved: Path) -> None:
    only_index_file(saved).unlink()
    with pytest.raises(IndexCorrupt, match="缺失"):
        load_index(saved, MODEL, DIMENSION)


def test_truncated_file_is_corrupt(saved: Path) -> None:
    path = only_index_file(saved)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IndexCorrupt, match="校验和"):
        load_index(saved, MODEL, DIMENSION)


def test_flipped_byte_is_corrupt(saved: Path) -> None:
    path = only_index_file(saved)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="校验和"):
        load_index(saved, MODEL, DIMENSION)


def test_garbage_with_a_matching_checksum_is_corrupt_not_a_crash(saved: Path) -> None:
    manifest_path = saved / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text("utf-8"))
    only_index_file(saved).unlink()
    garbage = saved / "garbage"
    garbage.write_bytes(b"IxMp" + bytes(range(256)) * 4)
    checksum = file_checksum(garbage)
    garbage.rename(saved / index_file_name(checksum))
    manifest_path.write_text(json.dumps({**manifest, "checksum": checksum}), "utf-8")
    with pytest.raises(IndexCorrupt, match="无法读取"):
        load_index(saved, MODEL, DIMENSION)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("count", 401, "条数"), ("kind", "hnsw", "类型"), ("kind", "ivf", "类型")],
)
def test_manifest_that_disagrees_with_the_file_is_corrupt(
    saved: Path, backend: str, field: str, value: object, message: str
) -> None:
    if backend == "qdrant" and field == "kind":
        message = "无法读取"  # read as a FAISS index, the .npz file is not one
    manifest_path = saved / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest_path.write_text(json.dumps({**manifest, field: value}), "utf-8")
    with pytest.raises(IndexCorrupt, match=message):
        load_index(saved, MODEL, DIMENSION)


@pytest.mark.parametrize("text", ["{", "[]", '{"format": 1}', '{"format": 99}'])
def test_unreadable_manifest_is_corrupt(saved: Path, text: str) -> None:
    (saved / MANIFEST_NAME).write_text(text, "utf-8")
    with pytest.raises(IndexCorrupt, match="清单"):
        load_index(saved, MODEL, DIMENSION)


def test_other_model_or_dimension_is_stale(saved: Path) -> None:
    with pytest.raises(IndexStale, match="other-model"):
        load_index(saved, "other-model", DIMENSION)
    with pytest.raises(IndexStale, match="384"):
        load_index(saved, MODEL, 384)


def test_failed_write_leaves_the_previous_index_intact(saved: Path) -> None:
    before = sorted(path.name for path in saved.iterdir())

    def half_then_fail(path: Path) -> None:
        path.write_bytes(b"partial index")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_index_files(
            saved,
            half_then_fail,
            model_id=MODEL,
            dimension=DIMENSION,
            count=0,
            high_water="new",
            kind="flat",
            params={},
        )
    assert sorted(path.name for path in saved.iterdir()) == before
    loaded, manifest = load_index(saved, MODEL, DIMENSION)
    assert len(loaded) == 400 and manifest.high_water.endswith("|400")


def test_failure_after_the_index_file_keeps_the_previous_manifest(
    saved: Path, backend: str
) -> None:
    index, _ = filled(backend, count=50, seed=1)
    with pytest.raises(UnicodeEncodeError):
        index.save(saved, model_id=MODEL, high_water="\ud800")  # unencodable: manifest fails
    loaded, manifest = load_index(saved, MODEL, DIMENSION)
    assert len(loaded) == 400 and manifest.count == 400
    index.save(saved, model_id=MODEL, high_water="ok")
    assert len(list(saved.glob("vectors-*.index"))) == 1  # the orphan is cleaned up
    assert len(load_index(saved, MODEL, DIMENSION)[0]) == 50


def test_hnsw_manifest_without_its_parameters_is_corrupt(tmp_path: Path) -> None:
    index, _ = filled("hnsw", count=100)
    index.save(tmp_path, model_id=MODEL, high_water="x")
    manifest_path = tmp_path / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest_path.write_text(json.dumps({**manifest, "params": {"m": 8}}), "utf-8")
    with pytest.raises(IndexCorrupt, match="HNSW"):
        load_index(tmp_path, MODEL, DIMENSION)


def test_an_index_of_the_other_backend_is_stale(saved: Path, backend: str) -> None:
    other = "faiss" if backend == "qdrant" else "qdrant"
    with pytest.raises(IndexStale, match=backend):
        load_index(saved, MODEL, DIMENSION, load_settings(other))
    loaded, _ = load_index(saved, MODEL, DIMENSION, load_settings(backend))
    assert len(loaded) == 400


def test_qdrant_manifest_of_another_location_is_stale(tmp_path: Path) -> None:
    index, _ = filled("qdrant", count=20)
    index.save(tmp_path, model_id=MODEL, high_water="x")
    cluster = Settings(vector_backend="qdrant", qdrant_url="http://127.0.0.1:9")  # never reached
    with pytest.raises(IndexStale, match="本地模式"):
        load_index(tmp_path, MODEL, DIMENSION, cluster)
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text("utf-8"))
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({**manifest, "location": "c1"}), "utf-8")
    with pytest.raises(IndexStale, match="集群"):
        load_index(tmp_path, MODEL, DIMENSION, load_settings("qdrant"))


def test_manifest_of_an_older_version_without_location_still_loads(saved: Path) -> None:
    manifest_path = saved / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text("utf-8"))
    del manifest["location"]
    manifest_path.write_text(json.dumps(manifest), "utf-8")
    loaded, read = load_index(saved, MODEL, DIMENSION)
    assert isinstance(read, IndexManifest) and read.location == "" and len(loaded) == 400


SAVER_PROCESS = """
import sys
import numpy as np
from pathlib import Path
from matching.faiss_index import FaissIndex
folder, seed, rounds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(seed)
for round_number in range(rounds):
    index = FaissIndex.flat(24, capacity=300)
    vectors = rng.standard_normal((300, 24), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1)[:, None]
    index.upsert(np.arange(1, 301) + seed * 1000, vectors)
    index.save(folder, model_id="m", high_water=f"{seed}-{round_number}")
"""


def test_processes_saving_one_folder_never_let_a_load_fail(tmp_path: Path) -> None:
    """Several service processes on one data folder each save their indexes at shutdown: two
    processes save into one folder over and over while this one loads it; every load finds a
    whole index (its manifest and the file it names), and the folder ends with one index."""
    filled("faiss")[0].save(tmp_path, model_id="m", high_water="start")
    savers = [
        subprocess.Popen([sys.executable, "-c", SAVER_PROCESS, str(tmp_path), str(seed), "40"])
        for seed in (1, 2)
    ]
    loads = 0
    try:
        while any(saver.poll() is None for saver in savers):
            loaded, manifest = load_index(tmp_path, "m", DIMENSION)
            assert len(loaded) == manifest.count
            loads += 1
    finally:
        for saver in savers:
            saver.wait(timeout=120)
    assert [saver.returncode for saver in savers] == [0, 0]
    assert loads > 10
    assert len(list(tmp_path.glob("vectors-*.index"))) == 1
    loaded, manifest = load_index(tmp_path, "m", DIMENSION)
    assert manifest.high_water in ("1-39", "2-39") and len(loaded) == 300
