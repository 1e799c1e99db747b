"""Matchmaking events (成果推介对接会) in the store: the event, its participants, their
availability and limits, and their requests (A wants to meet B).

An enterprise comes with its needs, a research team with its results. Every request becomes a
candidate meeting at once (mutual when both sides asked); the engine's proposals, the
organisers' decisions and the schedule are in ``matching.event_planning``, the agendas in
``matching.event_outputs``, the outcomes in ``matching.event_outcomes``, the JSON views in
``matching.event_views``.

A change to participants, requests or decisions after scheduling clears the schedule (the
event goes back to planning); once outcomes are recorded the plan is frozen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.access import find_record
from matching.errors import NotFound, TechMatchError
from matching.event_schedule import EventProblem, InvalidEventProblem, ParticipantKind
from matching.meeting_proposals import Priority
from matching.store.models import (
    Event,
    EventMeeting,
    EventParticipant,
    EventRequest,
    Need,
    Result,
)

__all__ = [
    "KIND_LABELS",
    "Decision",
    "EventError",
    "EventSpec",
    "EventStatus",
    "MeetingSource",
    "ParticipantSpec",
    "add_participant",
    "add_request",
    "create_event",
    "find_meeting",
    "get_event",
    "get_meeting",
    "get_participant",
    "list_events",
    "meetings_of",
    "open_for_planning",
    "participants_of",
    "set_availability",
    "slot_time",
]

MAX_SLOTS = 96
MAX_TABLES = 1000


class EventError(TechMatchError):
    """An event cannot be changed as asked; the message says why, in Chinese."""


class EventStatus(StrEnum):
    PLANNING = "planning"
    SCHEDULED = "scheduled"
    HELD = "held"

    @property
    def label(self) -> str:
        return {"planning": "筹备中", "scheduled": "已排期", "held": "已举办"}[self.value]


class MeetingSource(StrEnum):
    """Where a candidate meeting came from."""

    REQUEST = "request"
    PROPOSAL = "proposal"
    ORGANISER = "organiser"

    @property
    def label(self) -> str:
        return {"request": "参会方申请", "proposal": "系统推荐", "organiser": "组织者添加"}[
            self.value
        ]


class Decision(StrEnum):
    """The organisers' say: requests start accepted, proposals pending."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"pending": "待确认", "accepted": "已接受", "rejected": "已拒绝"}[self.value]


KIND_LABELS = {ParticipantKind.ENTERPRISE.value: "企业", ParticipantKind.TEAM.value: "科研团队"}


@dataclass(frozen=True, kw_only=True)
class EventSpec:
    """A new event: ``slots`` slots of ``slot_minutes`` minutes from ``start`` ("HH:MM"),
    ``tables`` tables; ``max_meetings`` per participant (None: only the slots limit)."""

    name: str
    date: dt.date
    slots: int
    tables: int
    venue: str = ""
    description: str = ""
    start: str = "09:00"
    slot_minutes: int = 20
    max_meetings: int | None = None


def _check_spec(spec: EventSpec) -> None:
    if not spec.name.strip():
        raise EventError("「name」：对接会名称不能为空")
    if not 1 <= spec.slots <= MAX_SLOTS:
        raise EventError(f"「slots」：时段数应在 1 到 {MAX_SLOTS} 之间")
    if not 1 <= spec.tables <= MAX_TABLES:
        raise EventError(f"「tables」：洽谈桌数应在 1 到 {MAX_TABLES} 之间")
    if not 5 <= spec.slot_minutes <= 240:
        raise EventError("「slot_minutes」：每个时段应为 5 到 240 分钟")
    if spec.max_meetings is not None and spec.max_meetings < 0:
        raise EventError("「max_meetings」：最多会谈数不能为负数")
    try:
        problem = EventProblem(
            slots=spec.slots,
            tables=spec.tables,
            participants=[],
            meetings=[],
            start=spec.start,
            slot_minutes=spec.slot_minutes,
        )
    except InvalidEventProblem as error:  # the start time
        raise EventError(str(error)) from None
    hours, minutes = (int(part) for part in spec.start.split(":"))
    if hours * 60 + minutes + spec.slots * spec.slot_minutes > 24 * 60:
        raise EventError(f"「slots」：最后一个时段（{problem.slot_label(spec.slots)}）超出当天")


def create_event(session: Session, spec: EventSpec) -> Event:
    """A new event in planning."""
    _check_spec(spec)
    event = Event(
        name=spec.name.strip(),
        description=spec.description.strip(),
        venue=spec.venue.strip(),
        date=spec.date,
        start=spec.start,
        slot_minutes=spec.slot_minutes,
        slots=spec.slots,
        tables=spec.tables,
        max_meetings=spec.max_meetings,
        status=EventStatus.PLANNING.value,
        schedule={},
        created_by=str(session.info.get("actor", "")),
    )
    session.add(event)
    session.flush()
    return event


def list_events(session: Session, organization: int | None = None) -> list[Event]:
    """Events, latest date first; with ``organization``, only those it takes part in."""
    query = select(Event).order_by(Event.date.desc(), Event.id.desc())
    if organization is not None:
        taking_part = select(EventParticipant.event_id).where(
            EventParticipant.organization_id == organization
        )
        query = query.where(Event.id.in_(taking_part))
    return list(session.scalars(query))


def get_event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"找不到对接会「{event_id}」")
    return event


def open_for_planning(session: Session, event: Event) -> None:
    """Refuse changes once outcomes are recorded; clear a schedule the change makes stale."""
    if event.status == EventStatus.HELD:
        raise EventError("对接会已记录会谈结果，不能再修改参会方或会谈安排")
    if event.status == EventStatus.SCHEDULED:
        for meeting in meetings_of(session, event.id):
            meeting.slot = meeting.table_number = meeting.unplaced_code = None
            meeting.unplaced_reason = ""
        event.status = EventStatus.PLANNING.value
        event.schedule = {}


def slot_time(event: Event, slot: int) -> str:
    """The time of slot number ``slot`` (1-based), e.g. "09:00–09:20"."""
    problem = EventProblem(
        slots=event.slots,
        tables=event.tables,
        participants=[],
        meetings=[],
        start=event.start,
        slot_minutes=event.slot_minutes,
    )
    return problem.slot_label(slot)


# --- participants -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ParticipantSpec:
    """An enterprise with ``needs`` or a research team with ``results`` (ids or references),
    all of one organization (``organization`` checks it when given). ``name`` defaults to the
    organization's (a team's adds its lead); ``available`` slot numbers from 1 (None: all);
    ``max_meetings`` None for the event's default."""

    kind: str
    needs: Sequence[int | str] = ()
    results: Sequence[int | str] = ()
    organization: int | None = None
    name: str = ""
    available: Collection[int] | None = None
    max_meetings: int | None = None
    contact_name: str = ""
    contact_phone: str = ""


def _check_availability(
    event: Event, available: Collection[int] | None, max_meetings: int | None
) -> list[int] | None:
    if max_meetings is not None and max_meetings < 0:
        raise EventError("「max_meetings」：最多会谈数不能为负数")
    if available is None:
        return None
    bad = [slot for slot in available if not 1 <= slot <= event.slots]
    if bad:
        raise EventError(f"「available」：时段「{bad[0]}」不在 1–{event.slots} 之内")
    return sorted(set(available))


def _items(session: Session, spec: ParticipantSpec) -> tuple[list[Need], list[Result]]:
    if spec.kind == ParticipantKind.ENTERPRISE:
        if not spec.needs or spec.results:
            raise EventError("「needs」：企业参会须带至少一项技术需求（不带成果）")
    elif spec.kind == ParticipantKind.TEAM:
        if not spec.results or spec.needs:
            raise EventError("「results」：科研团队参会须带至少一项科技成果（不带需求）")
    else:
        raise EventError("「kind」：参会方类型应为 enterprise（企业）或 team（科研团队）")
    needs = [find_record(session, Need, key, "需求") for key in spec.needs]
    results = [find_record(session, Result, key, "成果") for key in spec.results]
    return needs, results


def add_participant(session: Session, event_id: int, spec: ParticipantSpec) -> EventParticipant:
    """Add an enterprise or a team to an event."""
    event = get_event(session, event_id)
    open_for_planning(session, event)
    needs, results = _items(session, spec)
    owners = {n.enterprise_id for n in needs} | {r.institution_id for r in results}
    if len(owners) > 1:
        raise EventError("一个参会方的需求或成果应属于同一家单位")
    owner = owners.pop()
    if spec.organization is not None and spec.organization != owner:
        raise EventError("所列需求或成果不属于「organization」指定的单位")
    organization = needs[0].enterprise if needs else results[0].institution
    leads = [r.team_lead for r in results if r.team_lead]
    name = spec.name.strip() or (
        f"{organization.name}（{leads[0]}团队）" if leads else organization.name
    )
    clash = session.scalar(
        select(EventParticipant).where(
            EventParticipant.event_id == event.id,
            EventParticipant.kind == spec.kind,
            EventParticipant.name == name,
        )
    )
    if clash is not None:
        raise EventError(f"本场对接会已有名为「{name}」的{KIND_LABELS[spec.kind]}，请另取名称")
    participant = EventParticipant(
        event_id=event.id,
        kind=spec.kind,
        organization_id=owner,
        name=name[:200],
        need_ids=[n.id for n in needs],
        result_ids=[r.id for r in results],
        available=_check_availability(event, spec.available, spec.max_meetings),
        max_meetings=spec.max_meetings,
        contact_name=spec.contact_name.strip()[:64],
        contact_phone=spec.contact_phone.strip()[:32],
    )
    session.add(participant)
    session.flush()
    return participant


def get_participant(session: Session, event_id: int, participant_id: int) -> EventParticipant:
    participant = session.get(EventParticipant, participant_id)
    if participant is None or participant.event_id != event_id:
        raise NotFound(f"对接会「{event_id}」没有参会方「{participant_id}」")
    return participant


def participants_of(
    session: Session, event_id: int, organization: int | None = None
) -> list[EventParticipant]:
    """An event's participants (enterprises first, then teams, by id); with ``organization``,
    only its own."""
    query = select(EventParticipant).where(EventParticipant.event_id == event_id)
    if organization is not None:
        query = query.where(EventParticipant.organization_id == organization)
    found = session.scalars(query.order_by(EventParticipant.id)).unique()
    return sorted(found, key=lambda p: (p.kind != ParticipantKind.ENTERPRISE, p.id))


def set_availability(
    session: Session,
    event_id: int,
    participant_id: int,
    available: Collection[int] | None,
    max_meetings: int | None,
) -> EventParticipant:
    """Set the slots a participant can meet in (None: all) and their most meetings (None: the
    event's default)."""
    event = get_event(session, event_id)
    participant = get_participant(session, event_id, participant_id)
    checked = _check_availability(event, available, max_meetings)
    if checked != participant.available or max_meetings != participant.max_meetings:
        open_for_planning(session, event)
        participant.available, participant.max_meetings = checked, max_meetings
    session.flush()
    return participant


# --- requests and meetings --------------------------------------------------------------------


def meetings_of(session: Session, event_id: int, decision: str | None = None) -> list[EventMeeting]:
    """An event's candidate meetings, by id."""
    query = select(EventMeeting).where(EventMeeting.event_id == event_id)
    if decision is not None:
        query = query.where(EventMeeting.decision == decision)
    return list(session.scalars(query.order_by(EventMeeting.id)))


def get_meeting(session: Session, event_id: int, meeting_id: int) -> EventMeeting:
    meeting = session.get(EventMeeting, meeting_id)
    if meeting is None or meeting.event_id != event_id:
        raise NotFound(f"对接会「{event_id}」没有会谈「{meeting_id}」")
    return meeting


def find_meeting(
    session: Session, event_id: int, enterprise_id: int, team_id: int
) -> EventMeeting | None:
    return session.scalar(
        select(EventMeeting).where(
            EventMeeting.event_id == event_id,
            EventMeeting.enterprise_id == enterprise_id,
            EventMeeting.team_id == team_id,
        )
    )


def _requested(session: Session, first: int, second: int) -> int:
    """How many of the two directions between two participants were requested."""
    rows = session.scalars(
        select(EventRequest.id).where(
            ((EventRequest.requester_id == first) & (EventRequest.target_id == second))
            | ((EventRequest.requester_id == second) & (EventRequest.target_id == first))
        )
    )
    return len(list(rows))


def add_request(
    session: Session, event_id: int, requester_id: int, target_id: int, note: str = ""
) -> tuple[EventRequest, EventMeeting]:
    """``requester`` wants to meet ``target`` (the other side). The pair becomes a candidate
    meeting at once (returned with the request): one-sided, or mutual when the other side asked
    too; a request stays in unless the organisers reject it."""
    event = get_event(session, event_id)
    requester = get_participant(session, event_id, requester_id)
    target = get_participant(session, event_id, target_id)
    if requester.kind == target.kind:
        raise EventError("只能申请与另一方会谈：企业约见科研团队，或科研团队约见企业")
    if session.scalar(
        select(EventRequest).where(
            EventRequest.requester_id == requester.id, EventRequest.target_id == target.id
        )
    ):
        raise EventError(f"「{requester.name}」已申请与「{target.name}」会谈")
    open_for_planning(session, event)
    request = EventRequest(
        event_id=event.id,
        requester_id=requester.id,
        target_id=target.id,
        note=note.strip()[:2000],
        created_by=str(session.info.get("actor", "")),
    )
    session.add(request)
    session.flush()
    enterprise, team = (
        (requester, target) if requester.kind == ParticipantKind.ENTERPRISE else (target, requester)
    )
    meeting = find_meeting(session, event.id, enterprise.id, team.id)
    if meeting is None:
        meeting = EventMeeting(
            event_id=event.id,
            enterprise_id=enterprise.id,
            team_id=team.id,
            need_id=enterprise.need_ids[0] if enterprise.need_ids else None,
            result_id=team.result_ids[0] if team.result_ids else None,
            decision=Decision.ACCEPTED.value,
            feedback_ids=[],
        )
        session.add(meeting)
    elif meeting.decision == Decision.PENDING:
        meeting.decision = Decision.ACCEPTED.value
    meeting.source = MeetingSource.REQUEST.value
    both = _requested(session, enterprise.id, team.id) == 2
    meeting.priority = (Priority.MUTUAL if both else Priority.ONE_SIDED).value
    session.flush()
    return request, meeting
