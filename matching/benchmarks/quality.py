"""Retrieval quality: bm25, dense, hybrid and ranked on BEIR-layout data, and the demo pairs
check."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from matching.config import Settings
from matching.encode import Encoder
from matching.evaluate import BeirData, Metrics, score_run
from matching.ranker import MatchRanker
from matching.ranker_sources import (
    BeirCandidates,
    BeirIndexes,
    beir_candidates,
    beir_signals,
    beir_training_set,
    index_beir_corpus,
)
from matching.ranker_training import out_of_fold_scores
from matching.rerank import guarded_order

__all__ = ["DemoPairsCheck", "demo_pairs_check", "quality_benchmark"]

DEPTH = 100
TOP = 10  # the list length the guard protects (NDCG@10, MRR@10)


def _ranked_run(
    data: BeirData,
    indexes: BeirIndexes,
    run: BeirCandidates,
    encoder: Encoder,
    settings: Settings,
    train: BeirData | None,
    progress: Callable[[str], None],
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The ranking model's order of each query's candidates, as the engine serves it (the
    fused top ``settings.rerank_keep`` kept in the top ``TOP``) and the model's order alone:
    out of fold (5 folds by query) when only the evaluation data is given, else trained on
    ``train``'s queries."""
    if train is None:
        progress("ranked: 5-fold cross-validation by query (out of fold)")
        signals = beir_signals(run)
        evaluation = beir_training_set(indexes, run, data.qrels, signals, "evaluation")
        scores = out_of_fold_scores(evaluation)
    else:
        progress(f"ranked: training on {len(train.queries)} separate queries")
        train_run = beir_candidates(indexes, train.queries, encoder, settings, progress)
        signals = beir_signals(run, train_run)
        training = beir_training_set(indexes, train_run, train.qrels, signals, "train")
        model = MatchRanker().fit(training.features, training.labels)
        evaluation = beir_training_set(indexes, run, data.qrels, signals, "evaluation")
        scores = model.match_score(evaluation.features)
    ranked: dict[str, list[str]] = {}
    unguarded: dict[str, list[str]] = {}
    for query in run.candidates:
        rows = np.flatnonzero(evaluation.queries == query)  # in fused order
        order = rows[guarded_order(scores[rows], settings.rerank_keep, TOP)]
        ranked[query] = [evaluation.items[row] for row in order]
        order = rows[np.argsort(-scores[rows], kind="stable")]
        unguarded[query] = [evaluation.items[row] for row in order]
    return ranked, unguarded


def _runs(
    data: BeirData,
    encoder: Encoder,
    settings: Settings,
    progress: Callable[[str], None],
    train: BeirData | None,
) -> dict[str, dict[str, list[str]]]:
    settings = settings.model_copy(update={"rerank_depth": DEPTH})
    indexes = index_beir_corpus(data, encoder, settings, progress)
    run = beir_candidates(indexes, data.queries, encoder, settings, progress)
    runs: dict[str, dict[str, list[str]]] = {"bm25": {}, "dense": {}, "hybrid": {}}
    keys = indexes.keys
    for query_id, candidates in run.candidates.items():
        dense = indexes.vectors.search(run.vectors[query_id], DEPTH)
        words = indexes.lexical.search(data.queries[query_id], DEPTH)
        runs["dense"][query_id] = [keys[d] for d, _ in dense]
        runs["bm25"][query_id] = [keys[d] for d, _ in words]
        runs["hybrid"][query_id] = [keys[c.id] for c in candidates]
    runs["ranked"], runs["model only"] = _ranked_run(
        data, indexes, run, encoder, settings, train, progress
    )
    return runs


def quality_benchmark(
    data: BeirData,
    encoder: Encoder,
    settings: Settings,
    progress: Callable[[str], None] = lambda _: None,
    train: BeirData | None = None,
) -> dict[str, Metrics]:
    """Metrics of each system on ``data``: bm25, dense, hybrid (the cold-start order) and
    ranked (the ranking model over the hybrid candidates; see ``_ranked_run``)."""
    runs = _runs(data, encoder, settings, progress, train)
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
