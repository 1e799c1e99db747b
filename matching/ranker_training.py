"""Training the ranking model: training sets (from feedback or from BEIR qrels), query-level
cross-validation, and the held-out gate a new model must pass to become active.

Rows are (query, candidate) pairs; a query is a need (feedback) or a benchmark query (qrels).
Every split is by query, never by pair: the same query's candidates are either all in training
or all in scoring, so a model is never scored on a query it saw.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import GroupKFold, GroupShuffleSplit

from matching.evaluate import ndcg_at
from matching.ranker import MatchRanker
from matching.ranker_registry import RankerError, RankerRegistry
from matching.ranking_features import FEATURE_NAMES

__all__ = [
    "MIN_TRAINING_QUERIES",
    "TrainingReport",
    "TrainingSet",
    "check_query_split",
    "mean_ndcg",
    "out_of_fold_scores",
    "train_and_gate",
]

MIN_TRAINING_QUERIES = 10
HOLDOUT_SHARE = 0.2
_FUSED = FEATURE_NAMES.index("fused_score")


@dataclass
class TrainingSet:
    """Feature rows with graded labels, the query each row belongs to and the item it ranks."""

    features: NDArray[np.float64]
    labels: NDArray[np.int64]
    queries: NDArray[np.str_]
    items: list[str]
    source: str
    query_types: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.features.shape != (n, len(FEATURE_NAMES)) or len(self.queries) != n:
            raise ValueError("features, labels and queries must have one row per pair")
        if len(self.items) != n:
            raise ValueError("items must have one entry per pair")

    def subset(self, rows: NDArray[np.intp] | NDArray[np.bool_]) -> TrainingSet:
        index = np.arange(len(self.labels))[rows]
        return TrainingSet(
            self.features[index],
            self.labels[index],
            self.queries[index],
            [self.items[i] for i in index],
            self.source,
            self.query_types,
        )

    @property
    def n_queries(self) -> int:
        return len(set(self.queries.tolist()))

    def useful_queries(self) -> int:
        """Queries with at least one relevant pair (the ones that can teach an order)."""
        positive = self.queries[self.labels > 0]
        return len(set(positive.tolist()))

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "pairs": len(self.labels),
            "queries": self.n_queries,
            "queries_with_a_relevant_pair": self.useful_queries(),
            "labels": {str(k): v for k, v in sorted(Counter(self.labels.tolist()).items())},
        }

    def fusion_scores(self) -> NDArray[np.float64]:
        """The cold-start order's scores (the fused score column)."""
        fused: NDArray[np.float64] = np.nan_to_num(self.features[:, _FUSED], nan=0.0)
        return fused


def _by_query(queries: NDArray[np.str_]) -> dict[str, NDArray[np.intp]]:
    rows: dict[str, list[int]] = {}
    for row, query in enumerate(queries.tolist()):
        rows.setdefault(query, []).append(row)
    return {query: np.asarray(found) for query, found in rows.items()}


def ndcg_by_query(data: TrainingSet, scores: NDArray[np.float64], k: int = 10) -> dict[str, float]:
    """NDCG@k of each query's candidates ordered by ``scores`` (ties keep the row order, which
    is the fused order); the ideal is taken over the labelled candidates."""
    result = {}
    for query, rows in _by_query(data.queries).items():
        order = rows[np.argsort(-scores[rows], kind="stable")]
        ranked = [data.items[i] for i in order]
        relevant = {data.items[i]: int(data.labels[i]) for i in rows if data.labels[i] > 0}
        if relevant:
            result[query] = ndcg_at(ranked, relevant, k)
    return result


def mean_ndcg(data: TrainingSet, scores: NDArray[np.float64], k: int = 10) -> float:
    values = list(ndcg_by_query(data, scores, k).values())
    return float(np.mean(values)) if values else 0.0


def check_query_split(
    queries: NDArray[np.str_], train: NDArray[np.intp], score: NDArray[np.intp]
) -> None:
    """Raise if any query has rows on both sides of a split."""
    leaked = set(queries[train].tolist()) & set(queries[score].tolist())
    if leaked:
        raise RankerError(f"{len(leaked)} queries appear in both training and scoring rows")


def out_of_fold_scores(
    data: TrainingSet,
    folds: int = 5,
    make_model: Callable[[], MatchRanker] = MatchRanker,
) -> NDArray[np.float64]:
    """Each row scored by a model trained on the other folds (folds split by query)."""
    scores = np.zeros(len(data.labels))
    splitter = GroupKFold(n_splits=min(folds, data.n_queries))
    for train, score in splitter.split(data.features, data.labels, data.queries):
        check_query_split(data.queries, train, score)
        model = make_model().fit(data.features[train], data.labels[train])
        scores[score] = model.match_score(data.features[score])
    return scores


@dataclass
class TrainingReport:
    """What ``train_and_gate`` did: the held-out comparison and whether the model is active."""

    accepted: bool
    version: str | None
    holdout: dict[str, Any]
    training_data: dict[str, Any]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "version": self.version,
            "holdout": self.holdout,
            "training_data": self.training_data,
            "reason": self.reason,
        }


def train_and_gate(
    data: TrainingSet,
    registry: RankerRegistry,
    make_model: Callable[[], MatchRanker] = MatchRanker,
    seed: int = 0,
) -> TrainingReport:
    """Train on part of the queries, compare with the active model (or the fusion order) on the
    held-out queries, and if the new model is better, refit it on everything, save it and make
    it active. A model that does not win is saved for inspection but not activated."""
    useful = data.useful_queries()
    if useful < MIN_TRAINING_QUERIES:
        raise RankerError(
            f"训练数据不足：只有 {useful} 个查询有正反馈（至少需要 {MIN_TRAINING_QUERIES} 个）。"
            "请先记录更多反馈（已联系、洽谈、签约等）。"
        )
    splitter = GroupShuffleSplit(n_splits=1, test_size=HOLDOUT_SHARE, random_state=seed)
    train, held = next(splitter.split(data.features, data.labels, data.queries))
    check_query_split(data.queries, train, held)
    held_out = data.subset(held)
    candidate = make_model().fit(data.features[train], data.labels[train])
    new_ndcg = mean_ndcg(held_out, candidate.match_score(held_out.features))
    fusion_ndcg = mean_ndcg(held_out, held_out.fusion_scores())
    active = registry.load_active()
    if active is not None:
        baseline_name = active.version
        baseline_ndcg = mean_ndcg(held_out, active.model.match_score(held_out.features))
    else:
        baseline_name, baseline_ndcg = "fusion", fusion_ndcg
    holdout = {
        "queries": held_out.n_queries,
        "pairs": len(held_out.labels),
        "ndcg@10_new": round(new_ndcg, 4),
        f"ndcg@10_{baseline_name}": round(baseline_ndcg, 4),
        "ndcg@10_fusion": round(fusion_ndcg, 4),
        "baseline": baseline_name,
    }
    accepted = new_ndcg > baseline_ndcg
    final = make_model().fit(data.features, data.labels) if accepted else candidate
    card = {
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "accepted": accepted,
        "holdout": holdout,
        "training_data": data.summary(),
        "params": final.get_params(),
    }
    version = registry.save(final, card, activate=accepted)
    reason = (
        f"新模型在留出的 {held_out.n_queries} 个查询上 NDCG@10 为 {new_ndcg:.4f}，"
        f"{'优于' if accepted else '未超过'}当前的 {baseline_name}（{baseline_ndcg:.4f}）"
    )
    reason += "，已启用。" if accepted else "，未启用（已保存以便查看）。"
    return TrainingReport(accepted, version, holdout, data.summary(), reason)
