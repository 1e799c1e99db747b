"""The ranking model's estimator contract, its score, and the registry's versions and rollback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from matching.ranker import MatchRanker
from matching.ranker_registry import RankerError, RankerRegistry
from matching.ranking_features import FEATURE_NAMES


def graded_data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features where the first column decides the grade 0-3 (plus noise and missing values)."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, len(FEATURE_NAMES)))
    labels = np.digitize(features[:, 0], [-0.5, 0.5, 1.5]).astype(np.int64)
    features[rng.random(features.shape) < 0.1] = np.nan
    features[:, 5] = np.nan  # a feature nobody knows
    return features, labels


def test_passes_scikit_learn_estimator_checks() -> None:
    results = check_estimator(MatchRanker(max_iter=10), on_fail=None, on_skip=None)
    failures = [check["check_name"] for check in results if check["status"] == "failed"]
    skipped = {check["check_name"] for check in results if check["status"] == "skipped"}
    assert failures == []
    assert skipped <= {"check_array_api_input"}  # needs SCIPY_ARRAY_API: not our concern
    assert len(results) > 50


def test_fit_returns_self_and_learned_attributes_end_in_underscore() -> None:
    features, labels = graded_data()
    model = MatchRanker(max_iter=30)
    assert model.fit(features, labels) is model
    learned = {name for name in vars(model) if name.endswith("_")}
    assert {"classes_", "model_", "gains_", "n_features_in_"} <= learned
    assert set(vars(clone(model))) == set(model.get_params())


def test_match_score_is_in_unit_interval_and_orders_by_grade() -> None:
    features, labels = graded_data()
    model = MatchRanker(max_iter=60).fit(features[:400], labels[:400])
    scores = model.match_score(features[400:])
    assert scores.min() >= 0 and scores.max() <= 1
    by_grade = [scores[labels[400:] == grade].mean() for grade in range(4)]
    assert by_grade == sorted(by_grade) and by_grade[3] - by_grade[0] > 0.4


def test_probabilities_are_calibrated_on_held_out_pairs() -> None:
    features, labels = graded_data(3000, seed=1)
    model = MatchRanker(max_iter=80).fit(features[:2000], labels[:2000])
    relevant = model.predict_proba(features[2000:])[:, 1:].sum(axis=1)
    truth = labels[2000:] > 0
    bins = np.clip((relevant * 5).astype(int), 0, 4)
    gaps = [
        abs(relevant[bins == b].mean() - truth[bins == b].mean())
        for b in range(5)
        if (bins == b).sum() >= 50
    ]
    assert gaps and max(gaps) < 0.1


def test_gains_follow_ndcg_for_grades() -> None:
    features, labels = graded_data()
    model = MatchRanker(max_iter=10).fit(features, labels)
    assert np.allclose(model.gains_, (2.0 ** np.arange(4) - 1) / 7)


def test_registry_saves_activates_and_rolls_back(tmp_path: Path) -> None:
    registry = RankerRegistry(tmp_path / "ranker")
    assert registry.load_active() is None and registry.status()["active"] is None
    with pytest.raises(RankerError, match="无可回滚"):
        registry.rollback()
    features, labels = graded_data()
    first = registry.save(MatchRanker(max_iter=10).fit(features, labels), {"n": 1}, True)
    rejected = registry.save(MatchRanker(max_iter=10).fit(features, labels), {"n": 2}, False)
    second = registry.save(MatchRanker(max_iter=10).fit(features, labels), {"n": 3}, True)
    assert (first, rejected, second) == ("v0001", "v0002", "v0003")
    loaded = registry.load_active()
    assert loaded is not None and loaded.version == "v0003" and loaded.card["n"] == 3
    assert loaded.card["features"] == FEATURE_NAMES
    assert registry.rollback() == "v0001"
    assert registry.active_version() == "v0001"
    assert registry.rollback() is None  # back to the fusion order
    assert registry.load_active() is None
    status = registry.status()
    assert [v["version"] for v in status["versions"]] == ["v0001", "v0002", "v0003"]


def test_damaged_or_outdated_model_falls_back_to_fusion(tmp_path: Path) -> None:
    registry = RankerRegistry(tmp_path / "ranker")
    features, labels = graded_data()
    version = registry.save(MatchRanker(max_iter=10).fit(features, labels), {}, True)
    (tmp_path / "ranker" / f"{version}.joblib").write_bytes(b"not a model")
    assert registry.load_active() is None
    with pytest.raises(RankerError, match="无法读取"):
        registry.load(version)
    state = json.loads((tmp_path / "ranker" / "state.json").read_text("utf-8"))
    assert state["active"] == version  # nothing was changed behind the user's back
