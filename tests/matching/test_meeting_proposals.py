"""Candidate meetings: requests before proposals, mutual before one-sided, then by combined score;
organisers' rejections, acceptances and additions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.meeting_proposals import (
    Candidate,
    InvalidProposals,
    Meeting,
    OrganiserDecisions,
    Priority,
    apply_decisions,
    combined_score,
    rank_candidates,
)

MUTUAL, ONE_SIDED, PROPOSED = Priority.MUTUAL, Priority.ONE_SIDED, Priority.PROPOSED


def test_combined_scores_reward_pairs_good_for_both_sides() -> None:
    assert combined_score(0.8, 0.2) == pytest.approx(0.32)
    assert combined_score(0.8, 0.2, "geometric") == pytest.approx(0.4)
    assert combined_score(0.8, 0.2, "min") == 0.2
    assert combined_score(0.5, 0.5) == pytest.approx(0.5)
    # A balanced pair beats a lopsided one with the same arithmetic mean.
    assert combined_score(0.5, 0.5) > combined_score(0.9, 0.1)
    assert combined_score(0.0, 0.0) == 0.0 and combined_score(-0.3, 0.9) == 0.0
    with pytest.raises(InvalidProposals, match="有限数"):
        combined_score(math.nan, 0.5)
    with pytest.raises(InvalidProposals, match="未知的合并方式「mean」"):
        combined_score(0.5, 0.5, "mean")  # type: ignore[arg-type]


def _scores() -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    enterprise = {
        ("E1", "T1"): 0.2,
        ("E1", "T2"): 0.9,
        ("E2", "T1"): 0.6,
        ("E2", "T2"): 0.8,
        ("E3", "T3"): 0.7,
    }
    team = {
        ("E1", "T1"): 0.3,
        ("E1", "T2"): 0.9,
        ("E2", "T1"): 0.6,
        ("E2", "T2"): 0.1,
        ("E3", "T3"): 0.7,
    }
    return enterprise, team


def test_requests_come_first_mutual_before_one_sided_then_by_score() -> None:
    enterprise, team = _scores()
    ranked = rank_candidates(
        enterprise_scores=enterprise,
        team_scores=team,
        enterprise_requests=[("E1", "T1"), ("E2", "T2"), ("E4", "T9")],
        team_requests=[("E1", "T1"), ("E2", "T1")],
    )
    assert [(c.pair, c.priority) for c in ranked] == [
        (("E1", "T1"), MUTUAL),
        (("E2", "T1"), ONE_SIDED),  # 0.6 beats E2–T2's lopsided 0.8 / 0.1
        (("E2", "T2"), ONE_SIDED),
        (("E4", "T9"), ONE_SIDED),  # requested, unscored: 0
        (("E1", "T2"), PROPOSED),
        (("E3", "T3"), PROPOSED),
    ]
    first = ranked[0]
    assert first.requested_by == ("enterprise", "team")
    assert first.score == pytest.approx(combined_score(0.2, 0.3))
    assert (first.enterprise_score, first.team_score) == (0.2, 0.3)
    assert ranked[1].requested_by == ("team",) and ranked[2].requested_by == ("enterprise",)


def test_proposals_can_be_thinned() -> None:
    enterprise, team = _scores()
    above = rank_candidates(enterprise_scores=enterprise, team_scores=team, min_proposal_score=0.5)
    assert all(c.score > 0.5 for c in above)
    assert [c.pair for c in above] == [("E1", "T2"), ("E3", "T3"), ("E2", "T1")]
    one_each = rank_candidates(
        enterprise_scores=enterprise, team_scores=team, proposals_per_participant=1
    )
    # Then E1–T1 (E1 has one) and E2–T2 (E2 and T2 have one) are dropped.
    assert [c.pair for c in one_each] == [("E1", "T2"), ("E3", "T3"), ("E2", "T1")]
    requested = rank_candidates(
        enterprise_scores=enterprise,
        team_scores=team,
        enterprise_requests=[("E1", "T1")],
        proposals_per_participant=0,
    )
    assert [c.pair for c in requested] == [("E1", "T1")]  # requests are never thinned


def test_decisions_reject_accept_and_add() -> None:
    enterprise, team = _scores()
    ranked = rank_candidates(
        enterprise_scores=enterprise,
        team_scores=team,
        enterprise_requests=[("E1", "T1"), ("E2", "T2")],
        team_requests=[("E1", "T1")],
    )
    added = Meeting("E3", "T1", 0.75, ONE_SIDED)
    meetings = apply_decisions(
        ranked,
        OrganiserDecisions(
            accepted={("E3", "T3")}, rejected={("E2", "T2"), ("E1", "T2")}, added=[added]
        ),
    )
    assert [(m.pair, m.priority) for m in meetings] == [
        (("E1", "T1"), MUTUAL),
        (("E3", "T1"), ONE_SIDED),
        (("E3", "T3"), PROPOSED),
    ]
    assert meetings[1] is added
    assert meetings[0].score == pytest.approx(combined_score(0.2, 0.3))
    everything = apply_decisions(ranked, OrganiserDecisions(accept_all_proposals=True))
    assert len(everything) == len(ranked)
    assert [m.pair for m in apply_decisions(ranked, OrganiserDecisions())] == [
        ("E1", "T1"),
        ("E2", "T2"),
    ]


@pytest.mark.parametrize(
    ("decisions", "message"),
    [
        (OrganiserDecisions(accepted={("E9", "T9")}), "不在候选列表中（请用 added 添加）：E9–T9"),
        (OrganiserDecisions(rejected={("E9", "T9")}), "不在候选列表中"),
        (
            OrganiserDecisions(accepted={("E3", "T3")}, rejected={("E3", "T3")}),
            "既被接受又被拒绝：E3–T3",
        ),
        (OrganiserDecisions(added=[Meeting("E3", "T3")]), "重复或已在候选列表中：E3–T3"),
        (
            OrganiserDecisions(added=[Meeting("E5", "T5"), Meeting("E5", "T5")]),
            "重复或已在候选列表中：E5–T5",
        ),
        (OrganiserDecisions(added=[Meeting("E5", "T5", -1.0)]), "E5–T5 的分数应 ≥ 0"),
    ],
)
def test_inconsistent_decisions_are_refused(decisions: OrganiserDecisions, message: str) -> None:
    enterprise, team = _scores()
    ranked = rank_candidates(enterprise_scores=enterprise, team_scores=team)
    with pytest.raises(InvalidProposals, match=message):
        apply_decisions(ranked, decisions)


pairs = st.tuples(st.sampled_from(["E1", "E2", "E3"]), st.sampled_from(["T1", "T2", "T3"]))
scores = st.dictionaries(pairs, st.floats(-1.0, 1.0), max_size=9)


def _key(c: Candidate) -> tuple[int, float, str, str]:
    return -c.priority.rank, -c.score, c.enterprise, c.team


@settings(max_examples=100, deadline=None)
@given(scores, scores, st.sets(pairs), st.sets(pairs), st.sets(pairs))
def test_ranking_is_ordered_and_decisions_keep_the_order(
    enterprise: dict[tuple[str, str], float],
    team: dict[tuple[str, str], float],
    by_enterprise: set[tuple[str, str]],
    by_team: set[tuple[str, str]],
    rejected: set[tuple[str, str]],
) -> None:
    ranked = rank_candidates(
        enterprise_scores=enterprise,
        team_scores=team,
        enterprise_requests=by_enterprise,
        team_requests=by_team,
    )
    assert ranked == sorted(ranked, key=_key)
    assert len({c.pair for c in ranked}) == len(ranked)
    for c in ranked:
        asked = (c.pair in by_enterprise) + (c.pair in by_team)
        assert c.priority is (PROPOSED, ONE_SIDED, MUTUAL)[asked]
        assert asked or c.score > 0
    assert by_enterprise | by_team <= {c.pair for c in ranked}
    rejected &= {c.pair for c in ranked}
    kept = apply_decisions(ranked, OrganiserDecisions(rejected=rejected))
    assert [m.pair for m in kept] == [
        c.pair for c in ranked if c.pair not in rejected and c.priority is not PROPOSED
    ]
