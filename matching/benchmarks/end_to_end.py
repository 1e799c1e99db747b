"""End-to-end need → results latency: the real model embeds the need, both retrievers search,
fusion, explanations and the store lookup run as in a request.

At the demo's own size the corpus is the demo data. At 100,000 and 1,000,000 results the vector
index holds the demo results' real vectors plus random unit vectors up to that size ("synthetic
vectors plus the real query path"); the lexical side searches the demo results (its own scaling,
measured separately in ``docs/benchmarks.md``, is about 10 ms p95 at 100,000 documents).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from matching.config import Settings
from matching.encode import Encoder, load_encoder, load_uncached_encoder
from matching.index import create_index

__all__ = ["end_to_end_latency"]

_CHUNK = 50_000


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _grow(engine: Any, size: int, settings: Settings, seed: int) -> None:
    """Replace the results' vector index by one of ``size`` vectors: the real ones plus random
    unit vectors under ids above the store's."""
    corpus = engine.corpora["results"]
    real_ids = np.array(sorted(corpus.texts), dtype=np.int64)
    dimension = corpus.encoder.dimension
    index = create_index(dimension, size, settings)
    # The corpus's own (cached) encoder gives the real vectors back without embedding again.
    index.upsert(real_ids, corpus.encoder.encode_passages([corpus.texts[int(i)] for i in real_ids]))
    rng = np.random.default_rng(seed)
    next_id = int(real_ids.max()) + 1_000_000
    remaining = size - len(real_ids)
    while remaining > 0:
        count = min(_CHUNK, remaining)
        block = rng.standard_normal((count, dimension)).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        index.upsert(np.arange(next_id, next_id + count, dtype=np.int64), block)
        next_id += count
        remaining -= count
    corpus.vectors = index


def end_to_end_latency(
    demo_dir: Path,
    settings: Settings,
    sizes: Sequence[int] = (0, 100_000, 1_000_000),
    encoder: Encoder | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """p50/p95 ms of need → results (top 10) for every demo need, per corpus size (0: the demo
    corpus as it is), twice: with the need embedded in the request (uncached encoder), and with
    its query vector from the embedding cache, as the service serves a stored need again."""
    from matching.demo import load_demo
    from matching.engine import MatchingEngine
    from matching.store.database import Database

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        local = settings.model_copy(update={"data_dir": Path(folder), "database_url": None})
        database = Database(local.resolved_database_url)
        database.upgrade()
        load_demo(database, demo_dir, local)
        cached = load_encoder(settings)
        engine = MatchingEngine(database, local, cached)
        engine.open()
        cold = encoder or load_uncached_encoder(settings)
        needs = sorted(engine.corpora["needs"].facets)
        for size in sizes:
            if size:
                progress(f"end to end: growing the results index to {size:,} vectors")
                _grow(engine, size, settings, seed=size)
            for label, query_encoder in (
                ("embedded in the request", cold),
                ("cached (stored need)", cached),
            ):
                engine.encoder = query_encoder
                for need in needs if query_encoder is cached else needs[:1]:
                    engine.need_to_results(need, top=10)  # warm-up; fills the cache
                timings = []
                for need in needs:
                    started = time.perf_counter()
                    engine.need_to_results(need, top=10)
                    timings.append((time.perf_counter() - started) * 1000)
                rows.append(
                    {
                        "results_indexed": len(engine.corpora["results"].vectors),
                        "query": label,
                        "requests": len(timings),
                        "p50_ms": round(statistics.median(timings), 1),
                        "p95_ms": round(_percentile(timings, 0.95), 1),
                        "index": engine.corpora["results"].vectors.kind,
                    }
                )
                progress(f"end to end: {rows[-1]}")
        database.dispose()
    return rows
