"""Inter-rater agreement against published worked examples and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats  # type: ignore[import-untyped]

from matching.agreement import (
    icc_band,
    icc_forms,
    icc_one_way,
    icc_two_way,
    kendall_w,
    kendall_w_by_panel,
    mean_squares,
    panel_icc,
    w_band,
)

# Shrout & Fleiss (1979), "Intraclass correlations: uses in assessing rater reliability",
# Psychological Bulletin 86(2), Table 2: 6 targets (rows) rated by 4 judges (columns).
SHROUT_FLEISS = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]


def test_shrout_fleiss_table_2() -> None:
    """The six forms the paper reports for its Table 2 data, to its two decimals."""
    forms = icc_forms(SHROUT_FLEISS)
    published = {
        "ICC(1,1)": 0.17,
        "ICC(2,1)": 0.29,
        "ICC(3,1)": 0.71,
        "ICC(1,k)": 0.44,
        "ICC(2,k)": 0.62,
        "ICC(3,k)": 0.91,
    }
    assert {name: round(value, 2) for name, value in forms.items()} == published


def test_shrout_fleiss_mean_squares() -> None:
    """The ANOVA of the example: BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02 (S&F notation)."""
    ms = mean_squares(SHROUT_FLEISS)
    assert (round(ms.rows, 2), round(ms.within, 2)) == (11.24, 6.26)
    assert (round(ms.columns, 2), round(ms.error, 2)) == (32.49, 1.02)


def test_two_way_result_and_bands() -> None:
    result = icc_two_way(SHROUT_FLEISS)
    assert result.model == "two-way"
    assert (result.single, result.average) == pytest.approx((0.2898, 0.6201), abs=1e-4)
    assert (result.n_items, result.k) == (6, 4)
    assert (result.single_band.zh, result.single_band.en) == ("差", "poor")
    assert (result.average_band.zh, result.average_band.en) == ("中等", "moderate")
    assert "ICC(2,1)" in result.note


def test_one_way_on_the_same_data_matches_icc_1() -> None:
    result = icc_one_way(SHROUT_FLEISS)
    assert (round(result.single, 2), round(result.average, 2)) == (0.17, 0.44)
    assert result.k == 4


def test_one_way_with_unequal_reviews_by_hand() -> None:
    """Item A: 2, 4 (mean 3); item B: 6, 8, 10 (mean 8). N = 5, g = 2, grand mean 6.
    MSB = (2·3² + 3·2²) / 1 = 30; MSW = ((1 + 1) + (4 + 0 + 4)) / 3 = 10/3;
    k0 = (5 − (4 + 9)/5) / 1 = 2.4.
    ICC(1,1) = (30 − 10/3) / (30 + 1.4 · 10/3) = 80/104 = 10/13; ICC(1,k) = (80/3)/30 = 8/9."""
    result = icc_one_way([[2, 4], [6, 8, 10]])
    assert result.single == pytest.approx(10 / 13)
    assert result.average == pytest.approx(8 / 9)
    assert result.k == pytest.approx(2.4)


def test_panel_icc_picks_the_model_from_the_design() -> None:
    complete = {
        f"N{i}": {f"E{j}": float(v) for j, v in enumerate(row)}
        for i, row in enumerate(SHROUT_FLEISS)
    }
    assert panel_icc(complete).model == "two-way"
    assert panel_icc(complete).single == pytest.approx(icc_forms(SHROUT_FLEISS)["ICC(2,1)"])
    # Different experts per item (each keeps its row's scores): one-way, same as ICC(1,1).
    incomplete = {
        f"N{i}": {f"E{i}{j}": float(v) for j, v in enumerate(row)}
        for i, row in enumerate(SHROUT_FLEISS)
    }
    incomplete["N9"] = {"X": 5.0}
    result = panel_icc(incomplete)
    assert result.model == "one-way"
    assert result.single == pytest.approx(icc_forms(SHROUT_FLEISS)["ICC(1,1)"])
    assert result.dropped_items == ("N9",)
    assert "单向随机效应" in result.note and "1 个项目评分少于 2 条" in result.note


def test_icc_needs_a_complete_matrix() -> None:
    with pytest.raises(ValueError, match="不完整"):
        icc_forms([[1.0, 2.0], [3.0, math.nan]])
    with pytest.raises(ValueError, match="至少 2 个项目"):
        icc_forms([[1, 2, 3]])
    with pytest.raises(ValueError, match="至少需要 2 个项目"):
        icc_one_way([[1, 2]])


def test_constant_scores_give_an_undefined_icc() -> None:
    result = icc_two_way([[5, 5], [5, 5], [5, 5]])
    assert math.isnan(result.single)
    assert result.single_band.en == "undefined"


@pytest.mark.parametrize(
    ("value", "en"),
    [(0.49, "poor"), (0.5, "moderate"), (0.75, "good"), (0.9, "good"), (0.91, "excellent")],
)
def test_koo_li_bands(value: float, en: str) -> None:
    assert icc_band(value).en == en


@pytest.mark.parametrize(
    ("value", "zh"),
    [(0.05, "无一致"), (0.1, "很弱"), (0.3, "弱"), (0.5, "中等"), (0.7, "强"), (0.95, "极强")],
)
def test_schmidt_bands(value: float, zh: str) -> None:
    assert w_band(value).zh == zh


def test_kendall_w_proofwiki_example() -> None:
    """ProofWiki, "Kendall's Coefficient of Concordance/Examples/Arbitrary Example 1":
    competitors X, Y, Z ranked by judges A-D as X 1 1 2 3, Y 3 2 3 1, Z 2 3 1 2.
    Rank sums 7, 9, 8 around 8: S = 2, W = 12 · 2 / (4² · 3 · (3² − 1)) = 1/16."""
    result = kendall_w([[1, 1, 2, 3], [3, 2, 3, 1], [2, 3, 1, 2]])
    assert result.w == pytest.approx(1 / 16)
    assert result.w_uncorrected == pytest.approx(1 / 16)
    assert (result.n_items, result.n_raters, result.df) == (3, 4, 2)
    assert result.chi2 == pytest.approx(4 * 2 / 16)


def test_kendall_w_with_ties_by_hand_and_checked_by_scipy() -> None:
    """Hand computation, checked against scipy's Friedman test (χ² = m(n − 1)W).
    Items × raters: (8, 9, 7), (8, 7, 9), (6, 7, 5), (5, 4, 6).
    Ranks per rater: A 3.5 3.5 2 1 (tie of 2: T = 6); B 4 2.5 2.5 1 (T = 6); C 3 4 1 2.
    Rank sums 10.5, 10, 5.5, 4 around 7.5: S = 9 + 6.25 + 4 + 12.25 = 31.5.
    W = 12 · 31.5 / (3² · (4³ − 4) − 3 · 12) = 378 / 504 = 0.75 (0.7 without the correction);
    χ² = 3 · 3 · 0.75 = 6.75 with 3 df."""
    matrix = [[8, 9, 7], [8, 7, 9], [6, 7, 5], [5, 4, 6]]
    result = kendall_w(matrix)
    assert result.w == pytest.approx(0.75)
    assert result.w_uncorrected == pytest.approx(0.7)
    assert result.chi2 == pytest.approx(6.75)
    friedman = stats.friedmanchisquare(*matrix)
    assert result.chi2 == pytest.approx(friedman.statistic)
    assert result.p_value == pytest.approx(friedman.pvalue)
    assert result.band.en == "strong"


def test_kendall_w_perfect_and_undefined() -> None:
    assert kendall_w([[1, 10], [2, 20], [3, 30]]).w == pytest.approx(1.0)
    all_tied = kendall_w([[5, 5], [5, 5], [5, 5]])
    assert math.isnan(all_tied.w) and math.isnan(all_tied.p_value)
    assert all_tied.band.en == "undefined"


def test_kendall_w_by_panel() -> None:
    """Panel (A, B) scored N1-N3 in the same order: W = 1. Panel (C, D) scored N4-N6 in
    opposite orders: rank sums 4, 4, 4, W = 0. N7 (panel of one item) is skipped."""
    table = {
        "N1": {"A": 90, "B": 80},
        "N2": {"A": 70, "B": 60},
        "N3": {"A": 50, "B": 40},
        "N4": {"C": 90, "D": 50},
        "N5": {"C": 70, "D": 70},
        "N6": {"C": 50, "D": 90},
        "N7": {"A": 80, "C": 70},
    }
    panels = kendall_w_by_panel(table)
    assert [(p.experts, p.items) for p in panels] == [
        (("A", "B"), ("N1", "N2", "N3")),
        (("C", "D"), ("N4", "N5", "N6")),
    ]
    assert panels[0].concordance.w == pytest.approx(1.0)
    assert panels[1].concordance.w == pytest.approx(0.0)


matrices = st.integers(2, 6).flatmap(
    lambda n: st.integers(2, 5).flatmap(
        lambda k: st.lists(
            st.lists(st.integers(0, 10), min_size=k, max_size=k), min_size=n, max_size=n
        )
    )
)


@given(matrices)
def test_w_lies_in_0_1(matrix: list[list[int]]) -> None:
    result = kendall_w(matrix)
    assert math.isnan(result.w) or -1e-9 <= result.w <= 1 + 1e-9


@given(matrices)
def test_icc_does_not_depend_on_rater_or_item_order(matrix: list[list[int]]) -> None:
    data = np.array(matrix, dtype=float)
    shuffled = data[::-1, ::-1]
    before, after = icc_forms(data), icc_forms(shuffled)
    for name, value in before.items():
        assert (math.isnan(value) and math.isnan(after[name])) or value == pytest.approx(
            after[name], abs=1e-9
        )
