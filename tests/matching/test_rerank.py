"""The re-ranking guard: the fused top stays in the list's top, scores stay descending."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from matching.rerank import guarded_order


def test_a_fused_top_item_the_model_buried_comes_back_at_the_end_of_the_top() -> None:
    # Candidates in fused order 0..5; the model puts fused #1 (index 0) last.
    scores = np.array([0.01, 0.9, 0.8, 0.7, 0.6, 0.5])
    assert guarded_order(scores, keep=1, top=3).tolist() == [1, 2, 0, 3, 4, 5]
    assert guarded_order(scores, keep=0, top=3).tolist() == [1, 2, 3, 4, 5, 0]


def test_nothing_changes_when_the_model_keeps_the_fused_top() -> None:
    scores = np.array([0.5, 0.9, 0.1, 0.8])
    assert guarded_order(scores, keep=2, top=3).tolist() == [1, 3, 0, 2]


@given(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=40),
    st.integers(0, 5),
    st.integers(1, 12),
)
def test_properties(values: list[float], keep: int, top: int) -> None:
    scores = np.asarray(values)
    order = guarded_order(scores, keep, top).tolist()
    assert sorted(order) == list(range(len(values)))  # a permutation: nothing lost or doubled
    head = order[: min(top, len(values))]
    assert set(range(min(keep, len(head)))) <= set(head)  # the fused top is in the top
    head_scores = scores[head]
    assert np.all(np.diff(head_scores) <= 0)  # descending within the top
    unguarded = np.argsort(-scores, kind="stable").tolist()
    if set(range(min(keep, len(head)))) <= set(unguarded[: len(head)]):
        assert order == unguarded  # the guard changes nothing it need not
