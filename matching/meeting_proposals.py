"""Candidate meetings for a matchmaking event (成果推介对接会), ranked, and the organisers' say.

A meeting pairs an enterprise with a research team. Candidates come in three priorities: both
sides asked for it (mutual request), one side asked (one-sided request), or nobody asked and the
scores suggest it (proposal). Order: priority, then the combined score of the two directions
(the enterprise's view of the team's results and the team's view of the enterprise's needs),
falling; ties by enterprise then team id. Organisers reject candidates (requests too), accept
proposals and add meetings of their own. Pure functions over given scores: no engine here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from matching.errors import TechMatchError

__all__ = [
    "Candidate",
    "CombineMethod",
    "InvalidProposals",
    "Meeting",
    "OrganiserDecisions",
    "Pair",
    "Priority",
    "apply_decisions",
    "combined_score",
    "rank_candidates",
]

Pair = tuple[str, str]  # (enterprise id, team id)
CombineMethod = Literal["harmonic", "geometric", "min"]


class InvalidProposals(TechMatchError):
    """Scores, requests or decisions are inconsistent; the message names the pair."""


class Priority(StrEnum):
    """Why a meeting is wanted; a higher ``rank`` is placed first."""

    MUTUAL = "mutual"
    ONE_SIDED = "one_sided"
    PROPOSED = "proposed"

    @property
    def rank(self) -> int:
        """3 for a mutual request, 2 for a one-sided one, 1 for a proposal."""
        return {"mutual": 3, "one_sided": 2, "proposed": 1}[self.value]

    @property
    def label(self) -> str:
        """The Chinese name shown to people."""
        return {"mutual": "双向申请", "one_sided": "单向申请", "proposed": "系统推荐"}[self.value]


@dataclass(frozen=True)
class Meeting:
    """A meeting to schedule: enterprise id, team id, a score ≥ 0 (higher is better) and why."""

    enterprise: str
    team: str
    score: float = 0.0
    priority: Priority = Priority.PROPOSED

    @property
    def pair(self) -> Pair:
        """(enterprise id, team id)."""
        return self.enterprise, self.team


@dataclass(frozen=True)
class Candidate:
    """A ranked candidate: ``score`` combines ``enterprise_score`` and ``team_score`` (each
    clipped to ≥ 0); ``requested_by`` holds "enterprise" and/or "team"."""

    enterprise: str
    team: str
    priority: Priority
    score: float
    enterprise_score: float
    team_score: float
    requested_by: tuple[str, ...]

    @property
    def pair(self) -> Pair:
        """(enterprise id, team id)."""
        return self.enterprise, self.team

    def meeting(self) -> Meeting:
        """The candidate as a meeting to schedule."""
        return Meeting(self.enterprise, self.team, self.score, self.priority)


def combined_score(a: float, b: float, method: CombineMethod = "harmonic") -> float:
    """One score good for both sides from the two directions' scores, each clipped to ≥ 0.

    "harmonic" (2ab / (a + b)) and "min" punish a lopsided pair hardest, "geometric" (√ab) less.
    A pair one side finds unrelated (score ≤ 0) gets 0 under all three.
    """
    if not (math.isfinite(a) and math.isfinite(b)):
        raise InvalidProposals(f"匹配分数应为有限数，收到 {a} 和 {b}")
    a, b = max(a, 0.0), max(b, 0.0)
    if method == "harmonic":
        return 0.0 if a + b == 0 else 2 * a * b / (a + b)
    if method == "geometric":
        return math.sqrt(a * b)
    if method == "min":
        return min(a, b)
    raise InvalidProposals(f"未知的合并方式「{method}」（可选 harmonic、geometric、min）")


def _order(priority: Priority, score: float, pair: Pair) -> tuple[int, float, str, str]:
    return -priority.rank, -score, pair[0], pair[1]


def rank_candidates(
    *,
    enterprise_scores: Mapping[Pair, float],
    team_scores: Mapping[Pair, float],
    enterprise_requests: Iterable[Pair] = (),
    team_requests: Iterable[Pair] = (),
    method: CombineMethod = "harmonic",
    min_proposal_score: float = 0.0,
    proposals_per_participant: int | None = None,
) -> list[Candidate]:
    """Every request, then proposals, best first. All pairs are (enterprise id, team id).

    ``enterprise_scores[pair]`` is how well the team's results fit the enterprise's needs,
    ``team_scores[pair]`` the other direction (a missing score counts 0). ``enterprise_requests``
    are pairs the enterprise asked for, ``team_requests`` pairs the team asked for. Proposals are
    scored pairs nobody asked for with a combined score above ``min_proposal_score``, and, with
    ``proposals_per_participant``, at most that many per enterprise and per team (best first).
    """
    by_enterprise, by_team = set(enterprise_requests), set(team_requests)
    candidates = []
    for pair in sorted(set(enterprise_scores) | set(team_scores) | by_enterprise | by_team):
        e_score = max(float(enterprise_scores.get(pair, 0.0)), 0.0)
        t_score = max(float(team_scores.get(pair, 0.0)), 0.0)
        requested_by = tuple(
            side
            for side, asked in (("enterprise", by_enterprise), ("team", by_team))
            if pair in asked
        )
        priority = (Priority.PROPOSED, Priority.ONE_SIDED, Priority.MUTUAL)[len(requested_by)]
        score = combined_score(e_score, t_score, method)
        if priority is Priority.PROPOSED and not score > min_proposal_score:
            continue
        candidates.append(Candidate(*pair, priority, score, e_score, t_score, requested_by))
    candidates.sort(key=lambda c: _order(c.priority, c.score, c.pair))
    if proposals_per_participant is None:
        return candidates
    if proposals_per_participant < 0:
        raise InvalidProposals("「proposals_per_participant」不能为负数")
    counts: dict[tuple[str, str], int] = {}
    kept = []
    for candidate in candidates:
        if candidate.priority is Priority.PROPOSED:
            sides = (("enterprise", candidate.enterprise), ("team", candidate.team))
            if any(counts.get(side, 0) >= proposals_per_participant for side in sides):
                continue
            for side in sides:
                counts[side] = counts.get(side, 0) + 1
        kept.append(candidate)
    return kept


@dataclass(frozen=True)
class OrganiserDecisions:
    """What the organisers decided. Requests stay unless ``rejected``; proposals stay only when
    ``accepted`` (or all of them with ``accept_all_proposals``) and not rejected; ``added`` are
    meetings of their own (pairs not among the candidates) with the priority they choose."""

    accepted: AbstractSet[Pair] = frozenset()
    rejected: AbstractSet[Pair] = frozenset()
    added: Sequence[Meeting] = ()
    accept_all_proposals: bool = False


def _pairs_text(pairs: Iterable[Pair]) -> str:
    return "、".join(f"{e}–{t}" for e, t in sorted(pairs))


def apply_decisions(
    candidates: Sequence[Candidate], decisions: OrganiserDecisions
) -> list[Meeting]:
    """The meetings to schedule, in candidate order (priority, then score, falling)."""
    known = {candidate.pair for candidate in candidates}
    unknown = (set(decisions.accepted) | set(decisions.rejected)) - known
    if unknown:
        raise InvalidProposals(f"以下会谈不在候选列表中（请用 added 添加）：{_pairs_text(unknown)}")
    both = set(decisions.accepted) & set(decisions.rejected)
    if both:
        raise InvalidProposals(f"以下会谈既被接受又被拒绝：{_pairs_text(both)}")
    added = [meeting.pair for meeting in decisions.added]
    again = {pair for pair in added if pair in known or added.count(pair) > 1}
    if again:
        raise InvalidProposals(f"以下添加的会谈重复或已在候选列表中：{_pairs_text(again)}")
    for meeting in decisions.added:
        if not (math.isfinite(meeting.score) and meeting.score >= 0):
            raise InvalidProposals(f"添加的会谈 {meeting.enterprise}–{meeting.team} 的分数应 ≥ 0")
    meetings = [
        candidate.meeting()
        for candidate in candidates
        if candidate.pair not in decisions.rejected
        and (
            candidate.priority is not Priority.PROPOSED
            or decisions.accept_all_proposals
            or candidate.pair in decisions.accepted
        )
    ]
    meetings += decisions.added
    meetings.sort(key=lambda m: _order(m.priority, m.score, m.pair))
    return meetings
