"""The embedding cache: hits and misses, keys, restarts, several processes (no model needed)."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from matching.embedding_cache import CachedEncoder, EmbeddingCache, text_key

DIMENSION = 8


class FakeCountingEncoder:
    """Deterministic vectors from a text's hash; records every text it is asked to embed."""

    def __init__(
        self, model_id: str = "fake/1", prefixes: tuple[str, str] = ("q: ", "p: ")
    ) -> None:
        self.model_id = model_id
        self.dimension = DIMENSION
        self.prefixes = prefixes
        self.embedded: list[str] = []
        self.calls = 0

    def _embed(self, texts: Sequence[str], prefix: str) -> NDArray[np.float32]:
        self.calls += 1
        self.embedded += texts
        return np.vstack(
            [_vector(prefix + text) for text in texts]
            or [np.empty((0, DIMENSION), dtype=np.float32)]
        )

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._embed(texts, self.prefixes[0])

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._embed(texts, self.prefixes[1])


def _vector(text: str) -> NDArray[np.float32]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    vector = np.random.default_rng(seed).normal(size=DIMENSION)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def _cached(path: Path, fake: FakeCountingEncoder) -> CachedEncoder:
    prefixes = fake.prefixes
    return CachedEncoder(
        fake, EmbeddingCache(path), query_prefix=prefixes[0], passage_prefix=prefixes[1]
    )


def test_each_text_is_embedded_once(tmp_path: Path) -> None:
    fake = FakeCountingEncoder()
    cached = _cached(tmp_path / "e.sqlite", fake)
    first = cached.encode_passages(["铜带", "尾矿", "铜带"])
    assert fake.embedded == ["铜带", "尾矿"]
    second = cached.encode_passages(["尾矿", "烟气", "铜带"])
    assert fake.embedded == ["铜带", "尾矿", "烟气"]
    assert np.array_equal(second[0], first[1]) and np.array_equal(second[2], first[0])
    assert np.array_equal(second[1], _vector("p: 烟气"))
    assert (cached.misses, cached.hits) == (3, 3)
    assert second.dtype == np.float32 and second.shape == (3, DIMENSION)


def test_nothing_to_embed_means_no_call(tmp_path: Path) -> None:
    fake = FakeCountingEncoder()
    cached = _cached(tmp_path / "e.sqlite", fake)
    assert cached.encode_queries([]).shape == (0, DIMENSION)
    cached.encode_queries(["磷石膏"])
    cached.encode_queries(["磷石膏", "磷石膏"])
    assert fake.calls == 1


def test_cache_survives_a_restart(tmp_path: Path) -> None:
    first = _cached(tmp_path / "e.sqlite", FakeCountingEncoder())
    vectors = first.encode_passages(["电解槽短路", "注塑机液压泵"])
    first.cache.close()
    fake = FakeCountingEncoder()
    again = _cached(tmp_path / "e.sqlite", fake).encode_passages(["注塑机液压泵", "电解槽短路"])
    assert fake.calls == 0
    assert np.array_equal(again, vectors[::-1])


def test_keys_separate_models_and_roles(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    e5 = FakeCountingEncoder("fake/1")
    _cached(path, e5).encode_queries(["枸杞"])
    _cached(path, e5).encode_passages(["枸杞"])
    assert e5.embedded == ["枸杞", "枸杞"]  # "q: 枸杞" and "p: 枸杞" are different texts
    other = FakeCountingEncoder("fake/2")
    _cached(path, other).encode_queries(["枸杞"])
    assert other.embedded == ["枸杞"]  # another model never gets the first one's vectors
    plain = FakeCountingEncoder("fake/plain", prefixes=("", ""))
    _cached(path, plain).encode_queries(["枸杞"])
    _cached(path, plain).encode_passages(["枸杞"])
    assert plain.embedded == ["枸杞"]  # no prefixes: a query and a passage are the same text
    assert EmbeddingCache(path).count("fake/1") == 2


def test_key_is_sha256_of_the_prefixed_text(tmp_path: Path) -> None:
    _cached(tmp_path / "e.sqlite", FakeCountingEncoder()).encode_queries(["乳房炎"])
    rows = sqlite3.connect(tmp_path / "e.sqlite").execute("SELECT * FROM embeddings").fetchall()
    assert rows == [("fake/1", hashlib.sha256("q: 乳房炎".encode()).digest(), rows[0][2])]
    assert np.array_equal(np.frombuffer(rows[0][2], dtype=np.float32), _vector("q: 乳房炎"))
    assert text_key("q: 乳房炎") == rows[0][1]


def test_many_texts_are_looked_up_in_batches(tmp_path: Path) -> None:
    texts = [f"需求{i}" for i in range(1_234)]
    fake = FakeCountingEncoder()
    cached = _cached(tmp_path / "e.sqlite", fake)
    cached.encode_passages(texts[:700])
    vectors = cached.encode_passages(texts)
    assert len(fake.embedded) == 1_234 and fake.calls == 2
    assert np.array_equal(vectors[1_000], _vector("p: 需求1000"))


def test_a_vector_of_the_wrong_size_is_embedded_again(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "e.sqlite")
    cache.put_many("fake/1", [text_key("p: 铜")], np.zeros((1, 3), dtype=np.float32))
    fake = FakeCountingEncoder()
    vector = CachedEncoder(fake, cache, passage_prefix="p: ").encode_passages(["铜"])[0]
    assert fake.embedded == ["铜"] and np.array_equal(vector, _vector("p: 铜"))
    assert len(cache.get_many("fake/1", [text_key("p: 铜")], DIMENSION)) == 1


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    EmbeddingCache(tmp_path / "e.sqlite")
    mode = sqlite3.connect(tmp_path / "e.sqlite").execute("PRAGMA journal_mode").fetchone()
    assert mode == ("wal",)


def _write_from_another_process(path: str, start: int) -> None:
    cached = _cached(Path(path), FakeCountingEncoder())
    for first in range(start, start + 300, 30):
        cached.encode_passages([f"文本{i}" for i in range(first, first + 30)])


def test_several_processes_share_the_file(tmp_path: Path) -> None:
    processes = 3
    path = tmp_path / "e.sqlite"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_write_from_another_process, args=(str(path), 100 * number))
        for number in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0] * processes
    fake = FakeCountingEncoder()
    vectors = _cached(path, fake).encode_passages([f"文本{i}" for i in range(500)])
    assert fake.embedded == [] and np.array_equal(vectors[499], _vector("p: 文本499"))
