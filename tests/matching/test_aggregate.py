"""Aggregation of the committee's scores: item statistics, normalisation, vetoes, outliers,
ranking, tiers and ties. Every expected number is worked out by hand in the test."""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.aggregate import (
    CommitteePolicy,
    Review,
    Tier,
    aggregate,
    aggregate_reviews,
    assign_tiers,
    competition_ranks,
    normalise_by_expert,
    trimmed_mean,
)
from matching.evaluation_form import FormResponse, InvalidResponse, default_needs_template


def reviews(table: Mapping[str, Mapping[str, float]]) -> list[Review]:
    """Reviews from item → expert → total."""
    return [Review(e, item, total) for item, row in table.items() for e, total in row.items()]


# ---- statistics per item ------------------------------------------------------------------------


def test_trimmed_mean_drops_extremes_only_from_five_reviews() -> None:
    # 4 reviews: plain mean (60 + 70 + 80 + 90) / 4 = 75.
    assert trimmed_mean([60, 70, 80, 90]) == 75
    # 5 reviews: drop 40 and 95, mean of 70, 80, 90 = 80 (plain mean 75).
    assert trimmed_mean([90, 40, 80, 95, 70]) == 80
    # Only one of two equal extremes is dropped: 50, 50, 60, 70, 70 → 50, 60, 70 → 60.
    assert trimmed_mean([50, 70, 50, 60, 70]) == 60
    with pytest.raises(ValueError, match="没有评分"):
        trimmed_mean([])


def test_item_statistics_by_hand() -> None:
    """N1 (4 reviews 60, 70, 80, 90): mean 75, trimmed 75, sd = sqrt((225+25+25+225)/3) = 12.91.
    N2 (5 reviews 40, 70, 80, 90, 95): mean 75, trimmed (70+80+90)/3 = 80,
    sd = sqrt((1225+25+25+225+400)/4) = sqrt(475) = 21.79."""
    result = aggregate_reviews(
        reviews(
            {
                "N1": {"A": 60, "B": 70, "C": 80, "D": 90},
                "N2": {"A": 40, "B": 70, "C": 80, "D": 90, "E": 95},
            }
        )
    )
    n1, n2 = result.item("N1"), result.item("N2")
    assert (n1.n_reviews, n1.mean, n1.trimmed_mean) == (4, 75, 75)
    assert n1.sd == pytest.approx(math.sqrt(500 / 3))
    assert (n2.n_reviews, n2.mean, n2.trimmed_mean) == (5, 75, 80)
    assert n2.sd == pytest.approx(math.sqrt(475))
    # Same plain mean, but the trimmed mean ranks N2 first.
    assert [item.item_id for item in result.ranking] == ["N2", "N1"]
    assert (n2.rank, n1.rank) == (1, 2)


def test_a_single_review_has_zero_sd() -> None:
    result = aggregate_reviews([Review("A", "N1", 70.0)])
    assert (result.item("N1").sd, result.item("N1").score) == (0.0, 70.0)


def test_two_reviews_of_one_item_by_one_expert_are_refused() -> None:
    with pytest.raises(ValueError, match="专家「A」对「N1」有多条评分"):
        aggregate_reviews([Review("A", "N1", 70.0), Review("A", "N1", 80.0)])


# ---- normalisation ------------------------------------------------------------------------------


def test_z_normalisation_by_hand() -> None:
    """A scores N1-N3 60, 70, 80 (mean 70, sd 10); B scores them 80, 85, 90 (mean 85, sd 5).
    C scores N1, N2 only (75, 75): fewer than 3 items, left raw and flagged.
    Round: the 8 totals 60 70 80 80 85 90 75 75 have M = 615/8 = 76.875 and
    S = sqrt(Σ(x − M)² / 7) = sqrt(596.875 / 7) = 9.234.
    After normalisation A and B both read M − S, M, M + S for N1, N2, N3: a harsh and a
    lenient expert who order the items alike agree exactly."""
    table = {
        "N1": {"A": 60, "B": 80, "C": 75},
        "N2": {"A": 70, "B": 85, "C": 75},
        "N3": {"A": 80, "B": 90},
    }
    scores, flags = normalise_by_expert(reviews(table))
    m, s = 76.875, math.sqrt(596.875 / 7)
    for expert in ("A", "B"):
        assert scores[(expert, "N1")] == pytest.approx(m - s)
        assert scores[(expert, "N2")] == pytest.approx(m)
        assert scores[(expert, "N3")] == pytest.approx(m + s)
    assert scores[("C", "N1")] == 75
    assert [(f.expert_id, f.n_items) for f in flags] == [("C", 2)]
    assert "少于 3 项" in flags[0].reason


def test_normalisation_feeds_the_item_results() -> None:
    table = {
        "N1": {"A": 60, "B": 80},
        "N2": {"A": 70, "B": 85},
        "N3": {"A": 80, "B": 90},
    }
    result = aggregate_reviews(reviews(table), CommitteePolicy(normalise=True))
    n3 = result.item("N3")
    assert n3.raw_scores == {"A": 80, "B": 90}
    assert n3.scores["A"] == pytest.approx(n3.scores["B"])
    assert n3.sd == pytest.approx(0.0)
    assert [item.item_id for item in result.ranking] == ["N3", "N2", "N1"]


def test_an_expert_with_equal_totals_is_mapped_to_the_round_mean_and_flagged() -> None:
    """D gives 70 everywhere (z = 0). Round: 70, 70, 70, 60, 80, 90 → M = 440/6."""
    table = {"N1": {"D": 70, "A": 60}, "N2": {"D": 70, "A": 80}, "N3": {"D": 70, "A": 90}}
    scores, flags = normalise_by_expert(reviews(table))
    assert scores[("D", "N2")] == pytest.approx(440 / 6)
    assert [f.expert_id for f in flags] == ["D"]
    assert "总分相同" in flags[0].reason


# ---- vetoes -------------------------------------------------------------------------------------


def vetoed_round() -> list[Review]:
    return [
        Review("A", "N1", 90.0, {"not_genuine": "走访发现企业无此项目"}),
        Review("B", "N1", 88.0),
        Review("C", "N1", 85.0),
        Review("A", "N2", 70.0),
        Review("B", "N2", 72.0, {"ip_dispute": "专利权属存在诉讼"}),
        Review("C", "N2", 75.0, {"not_genuine": "需求已由企业自行解决"}),
        Review("A", "N3", 60.0),
        Review("B", "N3", 65.0),
        Review("C", "N3", 62.0),
    ]


def test_one_veto_excludes_an_item_by_default() -> None:
    names = {"not_genuine": "需求不真实", "ip_dispute": "存在知识产权纠纷"}
    result = aggregate_reviews(vetoed_round(), veto_names=names)
    assert [item.item_id for item in result.ranking] == ["N3"]
    assert [item.item_id for item in result.vetoed] == ["N1", "N2"]
    n1 = result.item("N1")
    assert (n1.rank, n1.tier, n1.vetoed) == (None, None, True)
    assert [(v.expert_id, v.name, v.reason) for v in n1.vetoes] == [
        ("A", "需求不真实", "走访发现企业无此项目")
    ]
    assert "「N1」被否决，不参与排名：需求不真实（A：走访发现企业无此项目）" in result.notes
    # The statistics of a vetoed item are still there for the record.
    assert n1.mean == pytest.approx((90 + 88 + 85) / 3)


def test_veto_quorum_of_two_keeps_a_singly_vetoed_item() -> None:
    result = aggregate_reviews(vetoed_round(), CommitteePolicy(veto_quorum=2))
    assert [item.item_id for item in result.ranking] == ["N1", "N3"]
    assert [item.item_id for item in result.vetoed] == ["N2"]
    # Vetoes below the quorum are still shown on the item.
    assert [v.key for v in result.item("N1").vetoes] == ["not_genuine"]
    assert not result.item("N1").vetoed


# ---- outliers -----------------------------------------------------------------------------------


def test_outlier_by_hand() -> None:
    """Scores 80, 82, 78, 81, 40. For E's 40: the others have mean 80.25 and sd
    sqrt(8.75/3) = 1.71, threshold max(2 × 1.71, 15) = 15, |40 − 80.25| = 40.25 > 15: flagged.
    For A's 80: the others 82, 78, 81, 40 have mean 70.25 and sd 20.3, threshold 40.6,
    |80 − 70.25| = 9.75: not flagged."""
    table = {"N1": {"A": 80, "B": 82, "C": 78, "D": 81, "E": 40}}
    flags = aggregate_reviews(reviews(table)).item("N1").outliers
    assert [f.expert_id for f in flags] == ["E"]
    assert flags[0].others_mean == pytest.approx(80.25)
    assert flags[0].threshold == 15


def test_the_floor_protects_a_tight_panel() -> None:
    """Others 80, 80, 81 (sd 0.58): 2 sd = 1.15 but the 15-point floor keeps 90 unflagged."""
    table = {"N1": {"A": 80, "B": 80, "C": 81, "D": 90}}
    assert aggregate_reviews(reviews(table)).item("N1").outliers == ()
    lower_floor = CommitteePolicy(outlier_floor=5)
    assert [
        f.expert_id for f in aggregate_reviews(reviews(table), lower_floor).item("N1").outliers
    ] == ["D"]


def test_no_outliers_with_two_reviews() -> None:
    table = {"N1": {"A": 10, "B": 95}}
    assert aggregate_reviews(reviews(table)).item("N1").outliers == ()


# ---- ranking, tiers and ties --------------------------------------------------------------------


def test_competition_ranks() -> None:
    assert competition_ranks([90, 85, 85, 80]) == [1, 2, 2, 4]
    assert competition_ranks([70, 90, 70]) == [2, 1, 2]


def test_tiers_by_share_with_ties_at_the_boundaries() -> None:
    """10 items, shares 10 / 20 / 30 %: cumulative cut-offs at positions 1, 3 and 6.
    Scores 95 90 88 88 80 79 79 70 60 50 rank 1 2 3 3 5 6 6 8 9 10.
    一等: rank ≤ 1 → N01. 二等: rank ≤ 3 → N02, N03, N04 (the 88 tie crosses cut-off 3, both
    go to 二等: 3 items). 三等: rank ≤ 6 → N05, N06, N07 (the 79 tie crosses cut-off 6)."""
    scores = [95, 90, 88, 88, 80, 79, 79, 70, 60, 50]
    table = {f"N{i + 1:02d}": {"A": float(s)} for i, s in enumerate(scores)}
    result = aggregate_reviews(reviews(table))
    assert [item.rank for item in result.ranking] == [1, 2, 3, 3, 5, 6, 6, 8, 9, 10]
    tiers = {item.item_id: item.tier for item in result.ranking}
    assert [tiers[f"N{i:02d}"] for i in range(1, 11)] == (
        ["一等"] + ["二等"] * 3 + ["三等"] * 3 + [None] * 3
    )
    assert result.notes[:2] == ("第 3 名并列（88 分）：N03、N04", "第 6 名并列（79 分）：N06、N07")
    assert (
        "第 3 名并列 2 项跨越「二等」名额线（按比例 3 项），并列项目全部列入「二等」，"
        "该等级实有 3 项" in result.notes
    )
    assert any("跨越「三等」名额线（按比例 6 项）" in note for note in result.notes)
    assert not any("「一等」名额线" in note for note in result.notes)


def test_a_tie_across_the_first_cut_lifts_both_items() -> None:
    """10 items, first tier 10 % = 1 place; the two top items tie at 90: both 一等, rank 1, 1."""
    names, notes = assign_tiers(
        [90, 90, 80, 70, 60, 50, 40, 30, 20, 10],
        [1, 1, 3, 4, 5, 6, 7, 8, 9, 10],
        (Tier("一等", share=0.1), Tier("二等", share=0.2)),
    )
    assert names == ["一等", "一等", "二等", None, None, None, None, None, None, None]
    assert len(notes) == 1 and "全部列入「一等」，该等级实有 2 项" in notes[0]


def test_share_cut_offs_round_half_up() -> None:
    """5 items × 30 % = 1.5 → 2 places."""
    names, _ = assign_tiers([5, 4, 3, 2, 1], [1, 2, 3, 4, 5], (Tier("入选", share=0.3),))
    assert names == ["入选", "入选", None, None, None]


def test_tiers_by_score_thresholds() -> None:
    policy = CommitteePolicy(tiers=(Tier("优秀", min_score=85), Tier("合格", min_score=60)))
    table = {"N1": {"A": 90.0}, "N2": {"A": 85.0}, "N3": {"A": 84.99}, "N4": {"A": 59.0}}
    result = aggregate_reviews(reviews(table), policy)
    assert [item.tier for item in result.ranking] == ["优秀", "优秀", "合格", None]


def test_scores_that_print_alike_are_tied() -> None:
    """(80 + 85 + 86) / 3 = 83.666… and 83.67 both print as 83.67: same rank."""
    table = {"N1": {"A": 80.0, "B": 85.0, "C": 86.0}, "N2": {"A": 83.67}}
    result = aggregate_reviews(reviews(table))
    assert [(item.item_id, item.rank, item.score) for item in result.ranking] == [
        ("N1", 1, 83.67),
        ("N2", 1, 83.67),
    ]


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        (dict(veto_quorum=0), "veto_quorum"),
        (dict(min_items_to_normalise=1), "标准化"),
        (dict(outlier_floor=-1), "离群"),
        (dict(tiers=(Tier("一等", share=0.6), Tier("二等", share=0.5))), "合计不超过 1"),
        (dict(tiers=(Tier("一等", share=0.1), Tier("二等", min_score=60))), "统一"),
        (dict(tiers=(Tier("一等", min_score=60), Tier("二等", min_score=80))), "递减"),
    ],
)
def test_bad_policies_are_refused(policy: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        CommitteePolicy(**policy)  # type: ignore[arg-type]


# ---- from forms ---------------------------------------------------------------------------------


def form(expert: str, item: str, level: float, **changes: object) -> FormResponse:
    keys = [c.key for c in default_needs_template().criteria]
    response = FormResponse(
        expert,
        item,
        scores={**dict.fromkeys(keys[:4], level), "clarity": "优"},
        comments={"advancement_difficulty": "对标国内先进水平"},
        overall_comment="同意",
        declared_no_conflict=True,
        status="submitted",
    )
    for name, value in changes.items():
        setattr(response, name, value)
    return response


def test_aggregate_forms_end_to_end() -> None:
    """Totals: level 8 → 85 × 0.8 + 15 × 0.9 = 81.5; level 6 → 51 + 13.5 = 64.5."""
    template = default_needs_template()
    responses = [
        form("A", "N1", 8),
        form("B", "N1", 8),
        form("A", "N2", 6),
        form("B", "N2", 6, vetoes={"not_genuine": "企业已停产"}),
        form("C", "N2", 8, declared_no_conflict=False, conflict_reason="曾任该企业顾问"),
        form("C", "N3", 8, declared_no_conflict=False, conflict_reason="亲属任职"),
        form("D", "N1", 2, status="draft"),
    ]
    result = aggregate(template, responses)
    assert [(i.item_id, i.score, i.rank) for i in result.ranking] == [("N1", 81.5, 1)]
    assert result.item("N2").vetoed
    assert result.item("N2").vetoes[0].name == "需求不真实"
    assert result.recusals == (("C", "N2"), ("C", "N3"))
    assert "「N3」的评审专家均已回避，无有效评分" in result.notes
    assert result.item("N1").n_reviews == 2  # the draft does not count


def test_an_invalid_submitted_form_stops_the_aggregation() -> None:
    bad = form("A", "N1", 8, overall_comment="")
    with pytest.raises(InvalidResponse, match=r"专家「A」对「N1」的评审表有误.*总体评价"):
        aggregate(default_needs_template(), [bad])
    recusal_without_reason = form("B", "N1", 8, declared_no_conflict=False)
    with pytest.raises(InvalidResponse, match="须说明情况"):
        aggregate(default_needs_template(), [recusal_without_reason])


# ---- properties ---------------------------------------------------------------------------------

totals = st.floats(0, 100, allow_nan=False)


@given(st.lists(totals, min_size=1, max_size=12))
def test_trimmed_mean_lies_between_min_and_max(values: list[float]) -> None:
    assert min(values) - 1e-9 <= trimmed_mean(values) <= max(values) + 1e-9


@given(st.lists(st.integers(0, 20), min_size=1, max_size=30))
def test_ranking_is_a_permutation_consistent_with_scores(points: list[int]) -> None:
    table = {f"N{i:02d}": {"A": float(p * 5)} for i, p in enumerate(points)}
    result = aggregate_reviews(reviews(table))
    ranked = result.ranking
    assert sorted(item.item_id for item in ranked) == sorted(table)
    for item in ranked:
        assert item.rank == 1 + sum(other.score > item.score for other in ranked)
    for higher, lower in pairwise(ranked):
        assert higher.score >= lower.score
        assert (higher.rank == lower.rank) == (higher.score == lower.score)
    # A higher score never sits in a lower tier; ties share a tier.
    order = {"一等": 0, "二等": 1, "三等": 2, None: 3}
    for a in ranked:
        for b in ranked:
            if a.score > b.score:
                assert order[a.tier] <= order[b.tier]
            if a.score == b.score:
                assert a.tier == b.tier


@given(
    st.dictionaries(
        st.sampled_from("ABCDE"),
        st.lists(totals, min_size=3, max_size=3),
        min_size=1,
        max_size=5,
    )
)
def test_normalised_experts_have_the_round_mean(by_expert: dict[str, list[float]]) -> None:
    rows = [Review(e, f"N{i}", v) for e, values in by_expert.items() for i, v in enumerate(values)]
    scores, flags = normalise_by_expert(rows)
    all_totals = [r.total for r in rows]
    mean = sum(all_totals) / len(all_totals)
    flagged = {f.expert_id for f in flags}
    for expert in by_expert:
        if expert not in flagged:
            own = [scores[(expert, f"N{i}")] for i in range(3)]
            assert sum(own) / 3 == pytest.approx(mean, abs=1e-6)
