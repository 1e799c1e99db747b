"""The ranking model: gradient-boosted trees over pair features, giving a match score in [0, 1].

``MatchRanker`` follows the scikit-learn estimator contract (``fit`` returns ``self``, learned
attributes end in ``_``, parameters are plain constructor arguments), so it can be
cross-validated, cloned and checked with ``sklearn.utils.estimator_checks``.

It is a classifier over graded labels (0 = not relevant … 4 = signed, or the qrels grades). The
match score is the expected gain under the predicted class probabilities, scaled to [0, 1]:
Σ p(label) · (2^label − 1) / (2^top − 1). The probabilities are fitted by log loss, so they are
calibrated on the training distribution; the score is what NDCG rewards, so ordering by it is
ordering by expected NDCG gain.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["MatchRanker"]


class MatchRanker(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier) over pair
    features; missing feature values (NaN) are allowed and mean "unknown"."""

    def __init__(
        self,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        random_state: int | None = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> MatchRanker:
        X_checked, y_checked = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y_checked)
        self.classes_ = np.unique(y_checked)
        # A column unknown for every training pair carries nothing; trees cannot bin it.
        self.unknown_columns_ = np.isnan(X_checked).all(axis=0)
        self.gains_ = _gains(self.classes_)
        if len(self.classes_) == 1:
            self.model_: HistGradientBoostingClassifier | None = None
            self.n_iter_ = 0
            return self
        model = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=min(self.min_samples_leaf, max(1, len(y_checked) // 10)),
            l2_regularization=self.l2_regularization,
            random_state=self.random_state,
        )
        self.model_ = model.fit(self._filled(X_checked), y_checked, sample_weight=sample_weight)
        self.n_iter_ = int(model.n_iter_)
        return self

    def _filled(self, X: NDArray[Any]) -> NDArray[np.float64]:
        filled = np.asarray(X, dtype=np.float64).copy()
        filled[:, self.unknown_columns_] = 0.0
        return filled

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Probability of each label in ``classes_`` order."""
        check_is_fitted(self)
        X_checked = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        if self.model_ is None:
            return np.ones((X_checked.shape[0], 1))
        probabilities: NDArray[np.float64] = self.model_.predict_proba(self._filled(X_checked))
        return probabilities

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The most probable label of each pair."""
        check_is_fitted(self)
        predicted: NDArray[Any] = self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return predicted

    def match_score(self, X: ArrayLike) -> NDArray[np.float64]:
        """Expected gain in [0, 1]: the order shown to users and the score on the match list."""
        scores: NDArray[np.float64] = self.predict_proba(X) @ self.gains_
        return np.clip(scores, 0.0, 1.0)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _gains(classes: NDArray[Any]) -> NDArray[np.float64]:
    """NDCG gains of the labels scaled to [0, 1]: (2^label − 1) / (2^top − 1) for numeric
    grades ≥ 0; for other labels their sorted position (0 … 1)."""
    if len(classes) == 1:
        return np.ones(1)
    if np.issubdtype(classes.dtype, np.number) and classes.min() >= 0:
        grades = classes.astype(np.float64)
        raw = np.exp2(grades) - 1.0
        top = raw.max()
        return raw / top if top > 0 else np.zeros(len(classes))
    return np.linspace(0.0, 1.0, len(classes))
