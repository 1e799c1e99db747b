"""Fusion of dense and lexical lists."""

from __future__ import annotations

import pytest

from matching.fusion import fuse


def test_rrf_rewards_agreement_and_keeps_components() -> None:
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    lexical = [(3, 12.0), (1, 9.0), (4, 3.0)]
    fused = fuse(dense, lexical, "rrf", rrf_k=60, dense_weight=0.5)
    assert [c.id for c in fused] == [1, 3, 2, 4]
    first = fused[0]
    assert (first.dense_rank, first.lexical_rank, first.dense_score, first.lexical_score) == (
        1,
        2,
        0.9,
        9.0,
    )
    assert first.fused == pytest.approx(0.5 / 61 + 0.5 / 62)
    only_lexical = next(c for c in fused if c.id == 4)
    assert only_lexical.dense_rank is None and only_lexical.dense_score is None


def test_weighted_fusion_uses_normalised_scores() -> None:
    dense = [(1, 0.9), (2, 0.5)]
    lexical = [(2, 10.0), (1, 0.0)]
    assert [c.id for c in fuse(dense, lexical, "weighted", dense_weight=0.8)] == [1, 2]
    assert [c.id for c in fuse(dense, lexical, "weighted", dense_weight=0.2)] == [2, 1]


def test_dense_weight_one_is_the_dense_order() -> None:
    dense = [(5, 0.9), (6, 0.8), (7, 0.1)]
    lexical = [(7, 30.0), (6, 20.0)]
    assert [c.id for c in fuse(dense, lexical, "rrf", dense_weight=1.0)][:3] == [5, 6, 7]


def test_ties_break_by_id_and_unknown_method_is_refused() -> None:
    assert [c.id for c in fuse([(9, 1.0)], [(3, 1.0)], "rrf")] == [3, 9]
    with pytest.raises(ValueError, match="unknown fusion method"):
        fuse([], [], "max")
