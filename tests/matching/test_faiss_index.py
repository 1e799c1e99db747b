"""The vector index backends: updates in place, exact and HNSW search, filters that never starve.

Tests taking ``any_kind`` run on FAISS flat, FAISS HNSW and Qdrant (local mode); those taking
``kind`` are about FAISS only (tombstones, compaction, reserved room, the HNSW selector path)."""

from __future__ import annotations

import threading

import faiss
import numpy as np
import pytest
from numpy.typing import NDArray

from matching.config import Settings
from matching.faiss_index import COMPACT_FRACTION, SUBSET_LIMIT, FaissIndex
from matching.index import VectorIndex, create_index
from matching.qdrant_index import QdrantIndex

DIMENSION = 32


def unit(rng: np.random.Generator, count: int, dimension: int = DIMENSION) -> NDArray[np.float32]:
    vectors = rng.standard_normal((count, dimension), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build(kind: str, vectors: NDArray[np.float32], first_id: int = 1000) -> FaissIndex:
    if kind == "flat":
        index = FaissIndex.flat(vectors.shape[1])
    else:
        index = FaissIndex.hnsw(vectors.shape[1], m=16, ef_construction=64, ef_search=64)
    index.upsert(np.arange(first_id, first_id + len(vectors)), vectors)
    return index


def build_any(kind: str, vectors: NDArray[np.float32], first_id: int = 1000) -> VectorIndex:
    """``build``, or the same in a Qdrant local-mode index for ``kind`` "qdrant"."""
    if kind != "qdrant":
        return build(kind, vectors, first_id)
    index = QdrantIndex.create(vectors.shape[1], Settings(vector_backend="qdrant"))
    index.upsert(np.arange(first_id, first_id + len(vectors)), vectors)
    return index


def exact(
    vectors: NDArray[np.float32], ids: NDArray[np.int64], query: NDArray[np.float32], k: int
) -> list[int]:
    scores = vectors @ query
    return ids[np.argsort(-scores, kind="stable")[:k]].tolist()


@pytest.fixture(params=["flat", "hnsw"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["flat", "hnsw", "qdrant"])
def any_kind(request: pytest.FixtureRequest) -> str:
    """Every backend and kind: FAISS flat, FAISS HNSW, Qdrant."""
    return str(request.param)


@pytest.fixture(scope="module")
def ten_thousand() -> tuple[NDArray[np.float32], dict[str, VectorIndex]]:
    """10,000 vectors in every kind of index, shared read-only by the filter tests."""
    vectors = unit(np.random.default_rng(7), 10_000)
    kinds = ("flat", "hnsw", "qdrant")
    return vectors, {kind: build_any(kind, vectors, first_id=0) for kind in kinds}


@pytest.mark.parametrize("exact_kind", ["flat", "qdrant"])
def test_flat_search_is_exact(exact_kind: str) -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 2000)
    index = build_any(exact_kind, vectors)
    ids = np.arange(1000, 3000)
    for query in unit(rng, 20):
        found = index.search(query, 10)
        assert [key for key, _ in found] == exact(vectors, ids, query, 10)
        expected_scores = np.sort(vectors @ query)[::-1][:10]
        assert np.allclose([score for _, score in found], expected_scores, atol=1e-5)


def test_hnsw_path_from_settings_has_high_recall() -> None:
    rng = np.random.default_rng(2)
    vectors = unit(rng, 3000)
    settings = Settings(exact_index_limit=1000, hnsw_m=16, hnsw_ef_construction=80)
    index = create_index(DIMENSION, 3000, settings)
    assert index.kind == "hnsw"
    index.upsert(np.arange(3000), vectors)
    hits = 0
    for query in unit(rng, 30):
        found = [key for key, _ in index.search(query, 10)]
        assert len(found) == 10
        hits += len(set(found) & set(exact(vectors, np.arange(3000), query, 10)))
    assert hits / 300 >= 0.95


def test_upsert_replaces_a_vector_in_place(any_kind: str) -> None:
    rng = np.random.default_rng(3)
    vectors = unit(rng, 500)
    index = build_any(any_kind, vectors)
    target = unit(rng, 1)
    index.upsert([1007], target)
    assert len(index) == 500
    if isinstance(index, FaissIndex):
        assert index.tombstones == 1  # replaced without a rebuild
    top_id, top_score = index.search(target[0], 1)[0]
    assert top_id == 1007 and top_score == pytest.approx(1.0, abs=1e-5)
    old = index.search(vectors[7], 500)
    assert dict(old)[1007] == pytest.approx(float(vectors[7] @ target[0]), abs=1e-5)
    assert [key for key, _ in old].count(1007) == 1


def test_upsert_adds_new_ids_and_keeps_the_last_of_a_duplicate(any_kind: str) -> None:
    rng = np.random.default_rng(4)
    index = build_any(any_kind, unit(rng, 100))
    first, last = unit(rng, 2)
    index.upsert(np.array([5, 5]), np.stack([first, last]))
    assert len(index) == 101
    assert index.search(last, 1)[0][0] == 5
    assert 5 in index.ids()


def test_remove_drops_ids_and_ignores_unknown_ones(any_kind: str) -> None:
    rng = np.random.default_rng(5)
    vectors = unit(rng, 300)
    index = build_any(any_kind, vectors)
    index.remove([1000, 1001, 99_999])
    index.remove([])
    assert len(index) == 298
    assert index.ids().tolist() == list(range(1002, 1300))
    found = index.search(vectors[0], 300)
    assert len(found) == 298
    assert {1000, 1001}.isdisjoint(key for key, _ in found)


def test_many_updates_compact_and_stay_correct(kind: str) -> None:
    rng = np.random.default_rng(6)
    index = build(kind, unit(rng, 400))
    replaced = int(400 * COMPACT_FRACTION / (1 - COMPACT_FRACTION)) + 30  # past the threshold
    fresh = unit(rng, replaced)
    for offset in range(0, replaced, 30):
        part = slice(offset, offset + 30)
        index.upsert(np.arange(1000, 1000 + replaced)[part], fresh[part])
    assert index.tombstones < replaced  # compacted on the way
    assert len(index) == 400
    for row in (0, replaced - 1):
        assert index.search(fresh[row], 1)[0][0] == 1000 + row


def test_search_edge_cases(any_kind: str) -> None:
    rng = np.random.default_rng(8)
    empty = build_any(any_kind, unit(rng, 0))
    assert empty.search(unit(rng, 1)[0], 5) == []
    index = build_any(any_kind, unit(rng, 30))
    assert index.search(unit(rng, 1)[0], 0) == []
    assert len(index.search(unit(rng, 1)[0], 100)) == 30
    assert index.search(unit(rng, 1)[0], 5, allowed=set()) == []
    assert index.search(unit(rng, 1)[0], 5, allowed={42}) == []


def test_bad_input_is_refused(any_kind: str) -> None:
    index = build_any(any_kind, unit(np.random.default_rng(0), 0))
    rng = np.random.default_rng(9)
    with pytest.raises(ValueError, match="dimensions"):
        index.upsert([1], unit(rng, 1, DIMENSION + 1))
    with pytest.raises(ValueError, match="dimensions"):
        index.upsert([1, 2], unit(rng, 1))
    with pytest.raises(ValueError, match="normalised"):
        index.upsert([1], 2 * unit(rng, 1))
    with pytest.raises(ValueError, match="non-negative"):
        index.upsert([-1], unit(rng, 1))
    with pytest.raises(ValueError, match="dimensions"):
        index.search(unit(rng, 1, 8)[0], 3)
    assert len(index) == 0


def test_filter_with_three_far_ids_returns_those_three(
    ten_thousand: tuple[NDArray[np.float32], dict[str, VectorIndex]],
) -> None:
    vectors, indexes = ten_thousand
    query = vectors[0]
    farthest = np.argsort(vectors @ query)[:3]
    for index in indexes.values():
        found = index.search(query, 10, allowed=set(farthest.tolist()))
        assert sorted(key for key, _ in found) == sorted(farthest.tolist())
        assert [key for key, _ in found] == exact(vectors[farthest], farthest, query, 3)
        assert [key for key, _ in index.search(query, 2, allowed=farthest.tolist())] == exact(
            vectors[farthest], farthest, query, 2
        )


def test_filter_larger_than_k_returns_the_best_k_allowed(
    ten_thousand: tuple[NDArray[np.float32], dict[str, VectorIndex]],
) -> None:
    vectors, indexes = ten_thousand
    rng = np.random.default_rng(10)
    allowed = rng.choice(10_000, 500, replace=False)
    for query in unit(rng, 5):
        expected = exact(vectors[allowed], allowed, query, 10)
        for index in indexes.values():
            assert [key for key, _ in index.search(query, 10, allowed=allowed)] == expected


def test_filter_counts_only_ids_that_are_held(any_kind: str) -> None:
    rng = np.random.default_rng(11)
    index = build_any(any_kind, unit(rng, 200))
    index.remove([1003])
    allowed = {1001, 1002, 1003, 5, 77_777}
    found = index.search(unit(rng, 1)[0], 10, allowed=allowed)
    assert sorted(key for key, _ in found) == [1001, 1002]


@pytest.fixture(scope="module")
def two_clusters() -> tuple[NDArray[np.float32], FaissIndex]:
    """HNSW over 6,000 vectors near +e1 and more than SUBSET_LIMIT near -e1 (ids from 6,000)."""
    rng = np.random.default_rng(12)
    near, far = 6_000, SUBSET_LIMIT + 2_000
    axis = np.zeros(16, dtype=np.float32)
    axis[0] = 1
    vectors = np.vstack([axis + 0.3 * unit(rng, near, 16), -axis + 0.3 * unit(rng, far, 16)])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = FaissIndex.hnsw(16, m=8, ef_construction=32, ef_search=32)
    index.upsert(np.arange(len(vectors)), vectors)
    return vectors, index


def test_hnsw_filter_of_many_far_ids_never_starves(
    two_clusters: tuple[NDArray[np.float32], FaissIndex],
) -> None:
    vectors, index = two_clusters
    allowed = np.arange(6_000, len(vectors))
    assert allowed.size > SUBSET_LIMIT  # the FAISS selector path, not the exact subset path
    query = vectors[0]
    for k in (10, 200):
        found = index.search(query, k, allowed=set(allowed.tolist()))
        assert len(found) == k
        assert all(key >= 6_000 for key, _ in found)
        expected = exact(vectors[allowed], allowed, query, k)
        assert len({key for key, _ in found} & set(expected)) >= 0.9 * k


def test_hnsw_with_tombstones_returns_k_live_ids(
    two_clusters: tuple[NDArray[np.float32], FaissIndex],
) -> None:
    vectors, shared = two_clusters
    index = FaissIndex.hnsw(16, m=8, ef_construction=32, ef_search=32)
    index.upsert(np.arange(3_000), vectors[:3_000])
    gone = np.argsort(-(vectors[:3_000] @ vectors[0]))[:500]
    index.remove(gone.tolist())
    assert index.tombstones == 500
    found = index.search(vectors[0], 20)
    assert len(found) == 20
    assert set(gone.tolist()).isdisjoint(key for key, _ in found)
    assert len(shared) == len(vectors)


def test_searches_and_updates_from_several_threads(any_kind: str) -> None:
    rng = np.random.default_rng(13)
    vectors = unit(rng, 3_000)
    index = build_any(any_kind, vectors[:1_000], first_id=0)
    threads_before = faiss.omp_get_max_threads()
    errors: list[BaseException] = []

    def update() -> None:
        try:
            for first in range(1_000, 3_000, 100):
                index.upsert(np.arange(first, first + 100), vectors[first : first + 100])
                index.remove([first - 500])
        except BaseException as error:  # reported below
            errors.append(error)

    writer = threading.Thread(target=update)
    writer.start()
    while writer.is_alive():
        for query in vectors[:5]:
            assert len(index.search(query, 10)) == 10
            assert len(index.search(query, 10, allowed=range(0, 3_000, 7))) == 10
    writer.join()
    assert errors == []
    assert len(index) == 3_000 - 20
    assert faiss.omp_get_max_threads() == threads_before


def test_reserving_room_keeps_what_is_stored(kind: str) -> None:
    rng = np.random.default_rng(14)
    vectors = unit(rng, 300)
    index = build(kind, vectors[:100], first_id=0)
    index.reserve(5_000)
    index.reserve(10)  # smaller than held: nothing to do
    assert len(index) == 100 and index.tombstones == 0
    index.upsert(np.arange(100, 300), vectors[100:])
    for row in (5, 150, 299):
        assert index.search(vectors[row], 1)[0][0] == row
