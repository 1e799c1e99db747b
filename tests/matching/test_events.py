"""Events in the store: participants, requests, proposals from given scores, decisions and the
schedule written back. The schedule's properties are checked here through the store (the
solver's own are in ``test_event_schedule.py``)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as event_note
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.errors import NotFound
from matching.event_planning import (
    AddedMeeting,
    Decisions,
    PairScores,
    ProposalOptions,
    apply_proposals,
    decide,
    schedule_event,
    schedule_view,
    score_pairs,
)
from matching.events import (
    EventError,
    ParticipantSpec,
    add_participant,
    add_request,
    get_event,
    meetings_of,
    participants_of,
    set_availability,
)
from matching.meeting_proposals import Priority
from matching.store.database import Database
from matching.store.models import ChangeRecord, EventMeeting
from tests.matching.event_world import World, enroll, new_event, seed


@pytest.fixture
def world(database: Database) -> World:
    return seed(database)


def test_an_event_checks_its_settings(database: Database) -> None:
    with database.session() as session:
        with pytest.raises(EventError, match="时段数"):
            new_event(session, slots=0)
        with pytest.raises(EventError, match="超出当天"):
            new_event(session, slots=40, slot_minutes=30, start="16:00")
        with pytest.raises(EventError, match="start"):
            new_event(session, start="9点")
        event = new_event(session)
        assert (event.status, event.slots, event.tables) == ("planning", 3, 2)


def test_participants_bring_their_own_needs_and_results(database: Database, world: World) -> None:
    firm, other = list(world.enterprises)[:2]
    school = next(iter(world.institutions))
    with database.session() as session:
        event = new_event(session)
        enterprise = add_participant(
            session, event.id, ParticipantSpec(kind="enterprise", needs=["XQ-0-0", "XQ-0-1"])
        )
        assert enterprise.organization_id == firm and enterprise.name == "测试企业0有限公司"
        team = add_participant(
            session, event.id, ParticipantSpec(kind="team", results=world.institutions[school])
        )
        assert team.name == "测试大学0（教授0团队）"
        with pytest.raises(EventError, match="同一家单位"):
            add_participant(
                session,
                event.id,
                ParticipantSpec(
                    kind="enterprise",
                    needs=[world.enterprises[firm][0], world.enterprises[other][0]],
                ),
            )
        with pytest.raises(EventError, match="已有名为"):
            add_participant(session, event.id, ParticipantSpec(kind="enterprise", needs=["XQ-0-0"]))
        with pytest.raises(EventError, match="至少一项技术需求"):
            add_participant(session, event.id, ParticipantSpec(kind="enterprise"))
        with pytest.raises(NotFound, match="XQ-9"):
            add_participant(session, event.id, ParticipantSpec(kind="enterprise", needs=["XQ-9"]))
        with pytest.raises(EventError, match="不在 1–3 之内"):
            set_availability(session, event.id, team.id, [0, 2], None)
        assert set_availability(session, event.id, team.id, [3, 1, 1], 2).available == [1, 3]


def test_requests_become_candidates_and_mutual_when_both_ask(
    database: Database, world: World
) -> None:
    with database.session() as session:
        event = new_event(session)
        (e0, e1, _), (t0, t1, _) = enroll(session, event.id, world)
        _, meeting = add_request(session, event.id, e0, t0, "想了解成果的中试情况")
        assert (meeting.priority, meeting.decision, meeting.source) == (
            "one_sided",
            "accepted",
            "request",
        )
        assert meeting.need_id == world.enterprises[next(iter(world.enterprises))][0]
        _, again = add_request(session, event.id, t0, e0)
        assert again.id == meeting.id and again.priority == "mutual"
        with pytest.raises(EventError, match="已申请"):
            add_request(session, event.id, e0, t0)
        with pytest.raises(EventError, match="另一方"):
            add_request(session, event.id, e0, e1)
        add_request(session, event.id, t1, e1)
        assert len(meetings_of(session, event.id)) == 2


def _scores(pairs: dict[tuple[int, int], tuple[float, float]]) -> PairScores:
    scores = PairScores()
    for (e, t), (forward, backward) in pairs.items():
        scores.enterprise[str(e), str(t)] = forward
        scores.team[str(e), str(t)] = backward
    return scores


def test_proposals_decisions_and_the_schedule(database: Database, world: World) -> None:
    with database.session() as session:
        event = new_event(session, slots=2, tables=1)
        (e0, e1, e2), (t0, t1, t2) = enroll(session, event.id, world)
        add_request(session, event.id, e2, t2)
        scores = _scores({(e0, t0): (0.9, 0.8), (e1, t1): (0.5, 0.6), (e0, t1): (0.4, 0.0)})
        report = apply_proposals(session, event.id, scores, ProposalOptions())
        assert (report.candidates, report.added) == (3, 2)  # (e0, t1) is good for one side only
        rows = {(m.enterprise_id, m.team_id): m for m in meetings_of(session, event.id)}
        assert rows[e0, t0].priority == "proposed" and rows[e0, t0].decision == "pending"
        assert rows[e0, t0].score == pytest.approx(2 * 0.9 * 0.8 / 1.7)
        decide(
            session,
            event.id,
            Decisions(
                accept=[rows[e0, t0].id],
                reject=[rows[e1, t1].id],
                add=[AddedMeeting(enterprise=e1, team=t0, priority=Priority.ONE_SIDED)],
            ),
        )
        with pytest.raises(EventError, match="已在候选列表中"):
            decide(session, event.id, Decisions(add=[AddedMeeting(enterprise=e1, team=t0)]))
        with pytest.raises(EventError, match="既被接受又被拒绝"):
            decide(session, event.id, Decisions(accept=[1], reject=[1]))
        result = schedule_event(session, event.id, time_limit_s=5)
        placed = {(m["enterprise"], m["team"]) for m in result.meetings}
        # Two slots, one table: the request and the organiser's one-sided meeting go first.
        assert placed == {(str(e2), str(t2)), (str(e1), str(t0))}
        view = schedule_view(session, event.id)
        assert [u["unplaced_code"] for u in view["unplaced"]] == ["slots_taken"]
        assert "桌位已满" in view["unplaced"][0]["unplaced_reason"]
        assert get_event(session, event.id).status == "scheduled"
        assert view["summary"]["placed_count"] == 2
        # A later pass keeps the decisions and drops a pending proposal no longer scored.
        again = apply_proposals(session, event.id, _scores({}), ProposalOptions())
        assert again.removed == 0 and get_event(session, event.id).status == "planning"
        assert all(m.slot is None for m in meetings_of(session, event.id))


def test_every_write_is_in_the_change_log(database: Database, world: World) -> None:
    with database.session("user:organiser1") as session:
        event = new_event(session)
        (e0, *_), (t0, *_) = enroll(session, event.id, world)
        add_request(session, event.id, e0, t0)
        schedule_event(session, event.id, time_limit_s=2)
    with database.session() as session:
        kinds = {
            (r.entity_type, r.action)
            for r in session.scalars(
                select(ChangeRecord).where(ChangeRecord.actor == "user:organiser1")
            )
        }
    assert {
        ("event", "create"),
        ("event", "update"),
        ("event_participant", "create"),
        ("event_request", "create"),
        ("event_meeting", "create"),
        ("event_meeting", "update"),
    } <= kinds


# --- the schedule through the store: valid, and its reasons true -------------------------------

STORE = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Plan:
    slots: int
    tables: int
    max_meetings: int | None
    people: list[tuple[list[int] | None, int | None]]  # 3 enterprises, then 3 teams
    requests: list[tuple[tuple[int, int], bool]]  # (enterprise, team), whether mutual


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """Slots, tables, a default limit, each side's availability and limit, and requests."""
    slots = draw(st.integers(1, 3))
    every = list(range(1, slots + 1))
    people = [
        (
            draw(st.none() | st.lists(st.sampled_from(every), unique=True)),
            draw(st.none() | st.integers(0, 2)),
        )
        for _ in range(6)
    ]
    pairs = list(itertools.product(range(3), range(3)))
    requests = draw(st.lists(st.sampled_from(pairs), max_size=6, unique=True))
    return Plan(
        slots=slots,
        tables=draw(st.integers(1, 2)),
        max_meetings=draw(st.none() | st.integers(1, 2)),
        people=people,
        requests=[(pair, draw(st.booleans())) for pair in requests],
    )


def _plan_event(database: Database, world: World, plan: Plan) -> int:
    with database.session() as session:
        event = new_event(
            session, slots=plan.slots, tables=plan.tables, max_meetings=plan.max_meetings
        )
        firms, teams = enroll(session, event.id, world)
        for pid, (available, limit) in zip([*firms, *teams], plan.people, strict=True):
            set_availability(session, event.id, pid, available, limit)
        for (e, t), mutual in plan.requests:
            add_request(session, event.id, firms[e], teams[t])
            if mutual:
                add_request(session, event.id, teams[t], firms[e])
        return event.id


def _free(session: Session, event_id: int) -> tuple[dict[int, set[int]], dict[int, int]]:
    event = get_event(session, event_id)
    free, limits = {}, {}
    for p in participants_of(session, event_id):
        free[p.id] = set(range(1, event.slots + 1)) if p.available is None else set(p.available)
        limit = p.max_meetings if p.max_meetings is not None else event.max_meetings
        limits[p.id] = event.slots if limit is None else limit
    return free, limits


def _valid(
    chosen: dict[int, int],
    rows: dict[int, EventMeeting],
    free: dict[int, set[int]],
    limits: dict[int, int],
    tables: int,
) -> bool:
    busy: set[tuple[int, int]] = set()
    load: dict[int, int] = {}
    per_slot: dict[int, int] = {}
    for meeting_id, slot in chosen.items():
        for pid in (rows[meeting_id].enterprise_id, rows[meeting_id].team_id):
            if (pid, slot) in busy or slot not in free[pid]:
                return False
            busy.add((pid, slot))
            load[pid] = load.get(pid, 0) + 1
        per_slot[slot] = per_slot.get(slot, 0) + 1
    return all(n <= limits[p] for p, n in load.items()) and all(
        n <= tables for n in per_slot.values()
    )


@STORE
@given(plans())
def test_the_stored_schedule_is_valid_and_its_unplaced_meetings_really_do_not_fit(
    database: Database, world: World, plan: Plan
) -> None:
    event_id = _plan_event(database, world, plan)
    with database.session() as session:
        result = schedule_event(session, event_id, time_limit_s=5)
        event = get_event(session, event_id)
        rows = {m.id: m for m in meetings_of(session, event_id)}
        free, limits = _free(session, event_id)
    placed: dict[int, int] = {m.id: m.slot for m in rows.values() if m.slot is not None}
    assert _valid(placed, rows, free, limits, event.tables)
    cells = [(m.slot, m.table_number) for m in rows.values() if m.slot is not None]
    assert len(set(cells)) == len(cells)
    unplaced = [m for m in rows.values() if m.unplaced_code is not None]
    assert len(placed) + len(unplaced) == len(rows)  # every request is accepted here
    # Brute force: every schedule of the meetings (each in one of its free slots or not held).
    options = [[None, *sorted(free[m.enterprise_id] & free[m.team_id])] for m in rows.values()]
    schedules = [
        chosen
        for choice in itertools.product(*options)
        if _valid(
            chosen := {i: s for i, s in zip(rows, choice, strict=True) if s},
            rows,
            free,
            limits,
            event.tables,
        )
    ]
    rank = {"mutual": 3, "one_sided": 2, "proposed": 1}
    for meeting in unplaced:
        event_note(f"unplaced: {meeting.unplaced_code}")
        holding = [s for s in schedules if meeting.id in s]
        if meeting.unplaced_code in ("no_common_slot", "no_quota"):
            assert holding == []
        elif result.counts_optimal:
            # It would displace a placed meeting that ranks at least as high.
            keep = {i for i in placed if rank[rows[i].priority] >= rank[meeting.priority]}
            assert not any(keep <= set(s) for s in holding)


class _Lists:
    """An engine stand-in: fixed scores per (need, result) in each direction."""

    def __init__(
        self, forward: dict[tuple[int, int], float], backward: dict[tuple[int, int], float]
    ):
        self.forward, self.backward = forward, backward

    def need_to_results(self, need: int, top: int) -> SimpleNamespace:
        hits = [(r, s) for (n, r), s in self.forward.items() if n == need]
        return SimpleNamespace(items=[SimpleNamespace(id=r, score=s) for r, s in hits[:top]])

    def result_to_needs(self, result: int, top: int) -> SimpleNamespace:
        hits = [(n, s) for (n, r), s in self.backward.items() if r == result]
        return SimpleNamespace(items=[SimpleNamespace(id=n, score=s) for n, s in hits[:top]])


def test_pair_scores_take_the_best_item_in_each_direction() -> None:
    # Enterprise "1" brings needs 10 and 11, team "2" results 20 and 21; result 99 is not here.
    engine = _Lists(
        forward={(10, 20): 0.9, (11, 21): 0.5, (10, 99): 1.0},
        backward={(10, 20): 0.1, (11, 21): 0.6, (11, 20): 0.2},
    )
    scores = score_pairs(engine, {"1": [10, 11]}, {"2": [20, 21]})  # type: ignore[arg-type]
    assert scores.enterprise == {("1", "2"): 0.9} and scores.team == {("1", "2"): 0.6}
    # Need 11 with result 21 is good both ways; need 10 with result 20 only for the enterprise.
    assert scores.items == {("1", "2"): (11, 21)}
    with pytest.raises(EventError, match="depth"):
        score_pairs(engine, {}, {}, depth=0)  # type: ignore[arg-type]
