"""Training the ranking model: query-level splits, the held-out gate and its report."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from matching.ranker import MatchRanker
from matching.ranker_registry import RankerError, RankerRegistry
from matching.ranker_training import (
    TrainingSet,
    check_query_split,
    mean_ndcg,
    out_of_fold_scores,
    train_and_gate,
)
from matching.ranking_features import FEATURE_NAMES

FUSED = FEATURE_NAMES.index("fused_score")


def synthetic_set(queries: int = 40, per_query: int = 20, seed: int = 0) -> TrainingSet:
    """Column 0 tells the grade; the fused score is noise, so a trained model beats fusion."""
    rng = np.random.default_rng(seed)
    n = queries * per_query
    features = rng.normal(size=(n, len(FEATURE_NAMES)))
    labels = np.digitize(features[:, 0], [0.5, 1.2, 1.8]).astype(np.int64)
    features[:, FUSED] = rng.random(n)
    names = np.asarray([f"q{i // per_query}" for i in range(n)], dtype=np.str_)
    return TrainingSet(features, labels, names, [f"d{i}" for i in range(n)], "synthetic")


class RecordingRanker(MatchRanker):  # type: ignore[misc]
    """A MatchRanker that remembers the rows it was trained on (to check the splits)."""

    seen: ClassVar[list[np.ndarray]] = []

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: object = None) -> MatchRanker:
        RecordingRanker.seen.append(np.asarray(X)[:, 1].copy())
        return super().fit(X, y)


def test_out_of_fold_scores_never_score_a_query_seen_in_training() -> None:
    data = synthetic_set()
    RecordingRanker.seen = []
    scores = out_of_fold_scores(data, folds=5, make_model=lambda: RecordingRanker(max_iter=20))
    assert len(RecordingRanker.seen) == 5
    marker = data.features[:, 1]
    for trained in RecordingRanker.seen:
        trained_queries = set(data.queries[np.isin(marker, trained)].tolist())
        scored_queries = set(data.queries.tolist()) - trained_queries
        assert scored_queries and not trained_queries & scored_queries
    assert mean_ndcg(data, scores) > mean_ndcg(data, data.fusion_scores()) + 0.2


def test_check_query_split_refuses_a_shared_query() -> None:
    queries = np.asarray(["a", "a", "b", "c"], dtype=np.str_)
    check_query_split(queries, np.asarray([0, 1]), np.asarray([2, 3]))
    with pytest.raises(RankerError, match="both training and scoring"):
        check_query_split(queries, np.asarray([0, 2]), np.asarray([1, 3]))


def test_gate_activates_a_better_model_and_reports_the_comparison(tmp_path: Path) -> None:
    registry = RankerRegistry(tmp_path)
    report = train_and_gate(synthetic_set(), registry, lambda: MatchRanker(max_iter=40))
    assert report.accepted and report.version == "v0001"
    assert registry.active_version() == "v0001"
    holdout = report.holdout
    assert holdout["baseline"] == "fusion" and holdout["queries"] == 8
    assert holdout["ndcg@10_new"] > holdout["ndcg@10_fusion"]
    assert "已启用" in report.reason
    card = registry.load("v0001").card
    assert card["training_data"]["queries"] == 40 and card["holdout"] == holdout


def test_gate_keeps_the_active_model_when_the_new_one_is_worse(tmp_path: Path) -> None:
    registry = RankerRegistry(tmp_path)
    train_and_gate(synthetic_set(), registry, lambda: MatchRanker(max_iter=40))
    # A crippled learner (one tiny step: nearly constant scores) cannot beat the active model.
    weak = lambda: MatchRanker(max_iter=1, learning_rate=1e-4)  # noqa: E731
    report = train_and_gate(synthetic_set(seed=1), registry, weak)
    assert not report.accepted and report.holdout["baseline"] == "v0001"
    assert report.holdout["ndcg@10_new"] <= report.holdout["ndcg@10_v0001"]
    assert registry.active_version() == "v0001" and report.version == "v0002"
    assert "未启用" in report.reason


def test_too_little_feedback_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    small = synthetic_set(queries=5)
    with pytest.raises(RankerError, match="训练数据不足"):
        train_and_gate(small, RankerRegistry(tmp_path))


def test_training_set_rejects_misaligned_rows() -> None:
    with pytest.raises(ValueError, match="one row per pair"):
        TrainingSet(
            np.zeros((3, len(FEATURE_NAMES))),
            np.zeros(2, dtype=np.int64),
            np.asarray(["a", "a", "b"], dtype=np.str_),
            ["x", "y", "z"],
            "broken",
        )
