"""Retrieval quality: bm25, dense and hybrid on BEIR-layout data, and the demo pairs check."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matching.config import Settings
from matching.encode import Encoder
from matching.evaluate import BeirData, Metrics, score_run
from matching.hybrid import hybrid_search
from matching.index import create_index
from matching.lexical import LexicalIndex

__all__ = ["DemoPairsCheck", "demo_pairs_check", "quality_benchmark"]

DEPTH = 100


def _runs(
    data: BeirData, encoder: Encoder, settings: Settings, progress: Callable[[str], None]
) -> dict[str, dict[str, list[str]]]:
    doc_keys = list(data.corpus)
    numeric = {key: number for number, key in enumerate(doc_keys)}
    texts = [f"{title} {text}".strip() for title, text in data.corpus.values()]
    progress(f"embedding {len(texts)} documents with {encoder.model_id}")
    vectors = encoder.encode_passages(texts)
    index = create_index(encoder.dimension, len(texts), settings)
    index.upsert(list(numeric.values()), vectors)
    lexical = LexicalIndex()
    lexical.build(list(numeric.values()), texts)
    query_ids = list(data.queries)
    progress(f"embedding {len(query_ids)} queries")
    query_vectors = encoder.encode_queries([data.queries[q] for q in query_ids])
    runs: dict[str, dict[str, list[str]]] = {"bm25": {}, "dense": {}, "hybrid": {}}
    for query_id, vector in zip(query_ids, query_vectors, strict=True):
        text = data.queries[query_id]
        dense = index.search(vector, DEPTH)
        words = lexical.search(text, DEPTH)
        fused = hybrid_search(text, vector, index, lexical, DEPTH, settings)
        runs["dense"][query_id] = [doc_keys[d] for d, _ in dense]
        runs["bm25"][query_id] = [doc_keys[d] for d, _ in words]
        runs["hybrid"][query_id] = [doc_keys[c.id] for c in fused]
    return runs


def quality_benchmark(
    data: BeirData,
    encoder: Encoder,
    settings: Settings,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Metrics]:
    """Metrics of each system on ``data``."""
    runs = _runs(data, encoder, settings, progress)
    return {system: score_run(run, data) for system, run in runs.items()}


@dataclass
class DemoPairsCheck:
    pairs: int
    top1: int
    top3: int
    misses: list[dict[str, Any]]

    @property
    def top3_share(self) -> float:
        return self.top3 / self.pairs if self.pairs else 0.0


def demo_pairs_check(demo_dir: Path, encoder: Encoder, settings: Settings) -> DemoPairsCheck:
    """Load the demo data into a fresh store, and for every recorded need → best result pair
    see where the result ranks in the need → results list."""
    from matching.demo import load_demo, read_pairs
    from matching.engine import MatchingEngine
    from matching.store.database import Database

    with tempfile.TemporaryDirectory() as folder:
        local = settings.model_copy(update={"data_dir": Path(folder), "database_url": None})
        database = Database(local.resolved_database_url)
        database.upgrade()
        load_demo(database, demo_dir, local)
        engine = MatchingEngine(database, local, encoder)
        engine.open()
        pairs = read_pairs(demo_dir)
        top1 = top3 = 0
        misses = []
        for pair in pairs:
            refs = engine.need_to_results(pair.need_ref, top=10).refs()
            position = refs.index(pair.result_ref) + 1 if pair.result_ref in refs else None
            top1 += position == 1
            top3 += position is not None and position <= 3
            if position is None or position > 3:
                misses.append(
                    {
                        "need": pair.need_ref,
                        "result": pair.result_ref,
                        "rank": position,
                        "top3": refs[:3],
                    }
                )
        database.dispose()
    return DemoPairsCheck(len(pairs), top1, top3, misses)
