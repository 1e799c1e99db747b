"""Planning a matchmaking event: proposals from the engine, the organisers' decisions and the
schedule.

Proposals read the engine in both directions: each enterprise need's result list (how well a
team's results fit the enterprise) and each team result's need list (how well the enterprise
fits the team), ``depth`` items deep, keeping only the event's participants. A pair's score per
direction is the best fused score over its needs and results; ``rank_candidates`` combines the
two (harmonic mean by default, so a pair good for both sides comes first) and puts requests
before proposals. The pair's need and result are the ones that scored best together.

Decisions are stored per candidate; ``apply_decisions`` turns them into the meetings to hold,
and ``solve`` (CP-SAT with a time limit and a greedy fallback) places them into slots and
tables. Every meeting left out keeps the solver's reason.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.engine import MatchingEngine
from matching.event_schedule import EventProblem, EventSchedule, Participant, ParticipantKind, solve
from matching.event_views import meeting_views
from matching.events import (
    Decision,
    EventError,
    EventStatus,
    MeetingSource,
    find_meeting,
    get_event,
    get_participant,
    meetings_of,
    open_for_planning,
    participants_of,
)
from matching.meeting_proposals import (
    Candidate,
    CombineMethod,
    Meeting,
    OrganiserDecisions,
    Pair,
    Priority,
    apply_decisions,
    combined_score,
    rank_candidates,
)
from matching.store.database import Database
from matching.store.models import Event, EventMeeting, EventRequest, utc_now

__all__ = [
    "AddedMeeting",
    "Decisions",
    "PairScores",
    "ProposalOptions",
    "ProposalReport",
    "apply_proposals",
    "decide",
    "event_problem",
    "propose_meetings",
    "schedule_event",
    "schedule_view",
    "score_pairs",
]


@dataclass(frozen=True, kw_only=True)
class ProposalOptions:
    """``depth``: items read from each match list; ``method``: how the two directions combine;
    ``min_score``: proposals must score above it; ``per_participant``: at most this many
    proposals per enterprise and per team (None: no limit)."""

    depth: int = 50
    method: CombineMethod = "harmonic"
    min_score: float = 0.0
    per_participant: int | None = 5


@dataclass
class PairScores:
    """Per (enterprise id, team id) as strings: each direction's score and the best
    (need id, result id)."""

    enterprise: dict[Pair, float] = field(default_factory=dict)
    team: dict[Pair, float] = field(default_factory=dict)
    items: dict[Pair, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class ProposalReport:
    """What a proposal run did: candidates ranked, proposals added, kept or removed (pending
    ones no longer proposed), and how many pairs each direction scored."""

    candidates: int
    added: int
    updated: int
    removed: int
    scored_pairs: int

    def to_dict(self) -> dict[str, int]:
        return {
            "candidates": self.candidates,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "scored_pairs": self.scored_pairs,
        }


def score_pairs(
    engine: MatchingEngine,
    enterprises: Mapping[str, Sequence[int]],
    teams: Mapping[str, Sequence[int]],
    depth: int = 50,
) -> PairScores:
    """Scores of every (enterprise, team) pair from their needs (``enterprises``: id → need
    ids) and results (``teams``: id → result ids), in both directions."""
    if depth < 1:
        raise EventError("「depth」：匹配列表深度应为正整数")
    need_owners: dict[int, list[str]] = {}
    result_owners: dict[int, list[str]] = {}
    for owner, needs in enterprises.items():
        for need in needs:
            need_owners.setdefault(need, []).append(owner)
    for owner, results in teams.items():
        for result in results:
            result_owners.setdefault(result, []).append(owner)
    forward: dict[tuple[int, int], float] = {}
    backward: dict[tuple[int, int], float] = {}
    if result_owners:
        for need in need_owners:
            for match in engine.need_to_results(need, top=depth).items:
                if match.id in result_owners:
                    forward[need, match.id] = match.score
    if need_owners:
        for result in result_owners:
            for match in engine.result_to_needs(result, top=depth).items:
                if match.id in need_owners:
                    backward[match.id, result] = match.score
    scores = PairScores()
    best: dict[Pair, tuple[float, float]] = {}
    for need, result in sorted(set(forward) | set(backward)):
        there, back = forward.get((need, result), 0.0), backward.get((need, result), 0.0)
        rank = (combined_score(there, back), there + back)
        for enterprise in need_owners[need]:
            for team in result_owners[result]:
                pair = (enterprise, team)
                scores.enterprise[pair] = max(scores.enterprise.get(pair, 0.0), there)
                scores.team[pair] = max(scores.team.get(pair, 0.0), back)
                if pair not in best or rank > best[pair]:
                    best[pair], scores.items[pair] = rank, (need, result)
    return scores


def propose_meetings(
    database: Database,
    engine: MatchingEngine,
    event_id: int,
    options: ProposalOptions | None = None,
    actor: str = "system",
) -> ProposalReport:
    """Score the event's pairs with the engine, then rank and store the candidates (the store
    is written only after the engine is done)."""
    options = options or ProposalOptions()
    with database.session(actor) as session:
        event = get_event(session, event_id)
        if event.status == EventStatus.HELD:
            raise EventError("对接会已记录会谈结果，不能再生成推荐")
        people = participants_of(session, event_id)
        enterprises = {str(p.id): list(p.need_ids) for p in people if p.kind == "enterprise"}
        teams = {str(p.id): list(p.result_ids) for p in people if p.kind == "team"}
    scores = score_pairs(engine, enterprises, teams, options.depth)
    with database.session(actor) as session:
        return apply_proposals(session, event_id, scores, options)


def apply_proposals(
    session: Session, event_id: int, scores: PairScores, options: ProposalOptions
) -> ProposalReport:
    """Rank requests and scored pairs and store them as candidates. Decisions already taken
    stand; pending proposals no longer among the candidates go."""
    event = get_event(session, event_id)
    open_for_planning(session, event)
    kinds = {p.id: p.kind for p in participants_of(session, event_id)}
    requests = list(session.scalars(select(EventRequest).where(EventRequest.event_id == event_id)))
    by_enterprise = [
        (str(r.requester_id), str(r.target_id))
        for r in requests
        if kinds[r.requester_id] == "enterprise"
    ]
    by_team = [
        (str(r.target_id), str(r.requester_id)) for r in requests if kinds[r.requester_id] == "team"
    ]
    candidates = rank_candidates(
        enterprise_scores=scores.enterprise,
        team_scores=scores.team,
        enterprise_requests=by_enterprise,
        team_requests=by_team,
        method=options.method,
        min_proposal_score=options.min_score,
        proposals_per_participant=options.per_participant,
    )
    rows = {_pair(m): m for m in meetings_of(session, event_id)}
    added = updated = 0
    for candidate in candidates:
        row = rows.get(candidate.pair)
        if row is None:
            row = EventMeeting(
                event_id=event_id,
                enterprise_id=int(candidate.enterprise),
                team_id=int(candidate.team),
                source=MeetingSource.PROPOSAL.value,
                decision=Decision.PENDING.value,
                feedback_ids=[],
            )
            session.add(row)
            added += 1
        else:
            updated += 1
        row.score = candidate.score
        row.enterprise_score, row.team_score = candidate.enterprise_score, candidate.team_score
        if row.source != MeetingSource.ORGANISER:
            row.priority = candidate.priority.value
            if candidate.pair in scores.items:
                row.need_id, row.result_id = scores.items[candidate.pair]
    kept = {candidate.pair for candidate in candidates}
    removed = 0
    for pair, row in rows.items():
        stale = row.source == MeetingSource.PROPOSAL and row.decision == Decision.PENDING
        if stale and pair not in kept:
            session.delete(row)
            removed += 1
    session.flush()
    return ProposalReport(len(candidates), added, updated, removed, len(scores.items))


def _pair(meeting: EventMeeting) -> Pair:
    return str(meeting.enterprise_id), str(meeting.team_id)


# --- decisions --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AddedMeeting:
    """A meeting the organisers add: participant ids, optionally the need and result ids (among
    those the participants brought; default their first), a priority and a score ≥ 0."""

    enterprise: int
    team: int
    need: int | None = None
    result: int | None = None
    priority: Priority = Priority.PROPOSED
    score: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Decisions:
    """Meeting ids to accept or reject, whether to accept every pending proposal, and
    meetings to add."""

    accept: Collection[int] = ()
    reject: Collection[int] = ()
    accept_all_proposals: bool = False
    add: Sequence[AddedMeeting] = ()


def _added_row(session: Session, event_id: int, added: AddedMeeting) -> EventMeeting:
    enterprise = get_participant(session, event_id, added.enterprise)
    team = get_participant(session, event_id, added.team)
    if enterprise.kind != ParticipantKind.ENTERPRISE or team.kind != ParticipantKind.TEAM:
        raise EventError("添加的会谈须是一家企业（enterprise）与一个科研团队（team）")
    if find_meeting(session, event_id, enterprise.id, team.id) is not None:
        raise EventError(f"「{enterprise.name}」与「{team.name}」的会谈已在候选列表中")
    need = added.need if added.need is not None else enterprise.need_ids[0]
    result = added.result if added.result is not None else team.result_ids[0]
    if need not in enterprise.need_ids or result not in team.result_ids:
        raise EventError("添加的会谈所涉需求、成果应是双方参会时所带的")
    if not added.score >= 0:
        raise EventError("添加的会谈分数应 ≥ 0")
    return EventMeeting(
        event_id=event_id,
        enterprise_id=enterprise.id,
        team_id=team.id,
        need_id=need,
        result_id=result,
        source=MeetingSource.ORGANISER.value,
        priority=Priority(added.priority).value,
        score=float(added.score),
        decision=Decision.ACCEPTED.value,
        feedback_ids=[],
    )


def decide(session: Session, event_id: int, decisions: Decisions) -> list[EventMeeting]:
    """Record the organisers' decisions; returns the meetings changed or added."""
    event = get_event(session, event_id)
    both = set(decisions.accept) & set(decisions.reject)
    if both:
        raise EventError(f"以下会谈既被接受又被拒绝：{'、'.join(map(str, sorted(both)))}")
    rows = {m.id: m for m in meetings_of(session, event_id)}
    unknown = (set(decisions.accept) | set(decisions.reject)) - set(rows)
    if unknown:
        raise EventError(f"本场对接会没有以下会谈：{'、'.join(map(str, sorted(unknown)))}")
    wanted = {i: Decision.ACCEPTED for i in decisions.accept}
    wanted |= {i: Decision.REJECTED for i in decisions.reject}
    if decisions.accept_all_proposals:
        for row in rows.values():
            if row.decision == Decision.PENDING and row.id not in wanted:
                wanted[row.id] = Decision.ACCEPTED
    changed = {i: rows[i] for i, decision in wanted.items() if rows[i].decision != decision}
    if not (changed or decisions.add):
        return []  # nothing to do: the schedule stands
    open_for_planning(session, event)
    for meeting_id, row in changed.items():
        row.decision = wanted[meeting_id].value
    new = []
    for added in decisions.add:
        row = _added_row(session, event_id, added)
        session.add(row)
        session.flush()
        new.append(row)
    return [*changed.values(), *new]


# --- the schedule -----------------------------------------------------------------------------


def _to_hold(rows: Sequence[EventMeeting]) -> list[Meeting]:
    """The meetings to schedule: the stored decisions through ``apply_decisions``."""
    candidates = [
        Candidate(str(m.enterprise_id), str(m.team_id), Priority(m.priority), m.score, 0, 0, ())
        for m in rows
        if m.source != MeetingSource.ORGANISER
    ]
    decisions = OrganiserDecisions(
        accepted={
            _pair(m)
            for m in rows
            if m.source == MeetingSource.PROPOSAL and m.decision == Decision.ACCEPTED
        },
        rejected={
            _pair(m)
            for m in rows
            if m.source != MeetingSource.ORGANISER and m.decision == Decision.REJECTED
        },
        added=[
            Meeting(str(m.enterprise_id), str(m.team_id), m.score, Priority(m.priority))
            for m in rows
            if m.source == MeetingSource.ORGANISER and m.decision != Decision.REJECTED
        ],
    )
    return apply_decisions(candidates, decisions)


def event_problem(session: Session, event: Event) -> EventProblem:
    """The scheduling problem of an event's accepted meetings."""
    participants = [
        Participant(
            id=str(p.id),
            kind=ParticipantKind(p.kind),
            name=p.name,
            available=None if p.available is None else frozenset(p.available),
            max_meetings=p.max_meetings if p.max_meetings is not None else event.max_meetings,
        )
        for p in participants_of(session, event.id)
    ]
    return EventProblem(
        slots=event.slots,
        tables=event.tables,
        participants=participants,
        meetings=_to_hold(meetings_of(session, event.id)),
        start=event.start,
        slot_minutes=event.slot_minutes,
    )


def schedule_event(
    session: Session,
    event_id: int,
    time_limit_s: float = 10.0,
    workers: int = 1,
    seed: int = 0,
) -> EventSchedule:
    """Place the accepted meetings into slots and tables (see ``matching.event_schedule``)
    and store each meeting's place or reason; ``time_limit_s`` in seconds."""
    event = get_event(session, event_id)
    if event.status == EventStatus.HELD:
        raise EventError("对接会已记录会谈结果，不能重新排期")
    problem = event_problem(session, event)
    result = solve(problem, time_limit_s=time_limit_s, workers=workers, seed=seed)
    rows = {_pair(m): m for m in meetings_of(session, event_id)}
    for row in rows.values():
        row.slot = row.table_number = row.unplaced_code = None
        row.unplaced_reason = ""
    for placed in result.meetings:
        row = rows[placed["enterprise"], placed["team"]]
        row.slot, row.table_number = placed["slot"], placed["table"]
    for unplaced in result.unplaced:
        row = rows[unplaced["enterprise"], unplaced["team"]]
        row.unplaced_code, row.unplaced_reason = unplaced["code"], unplaced["reason"]
    event.schedule = {
        key: value for key, value in result.to_dict().items() if key not in ("meetings", "unplaced")
    } | {"unplaced_count": len(result.unplaced), "scheduled_at": utc_now().isoformat()}
    event.status = EventStatus.SCHEDULED.value
    session.flush()
    return result


def schedule_view(session: Session, event_id: int) -> dict[str, Any]:
    """The stored schedule: the last run's figures, placed meetings by slot and table, and
    the accepted meetings left out with their reasons (in priority order)."""
    event = get_event(session, event_id)
    rows = meetings_of(session, event_id)
    placed = sorted((m for m in rows if m.slot is not None), key=lambda m: (m.slot, m.table_number))
    order = {pair: n for n, pair in enumerate(m.pair for m in _to_hold(rows))}
    unplaced = sorted(
        (m for m in rows if m.unplaced_code is not None), key=lambda m: order.get(_pair(m), 0)
    )
    return {
        "event_id": event.id,
        "status": event.status,
        "summary": event.schedule,
        "placed": meeting_views(session, event, placed),
        "unplaced": meeting_views(session, event, unplaced),
    }
