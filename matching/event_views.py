"""JSON-ready views of matchmaking events, their participants and meetings, for the service
and the outputs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.event_schedule import ParticipantKind
from matching.events import (
    KIND_LABELS,
    Decision,
    EventStatus,
    meetings_of,
    participants_of,
    slot_time,
)
from matching.meeting_proposals import Priority
from matching.store.models import Event, EventMeeting, EventParticipant, Need, Result

__all__ = ["CONFIDENTIAL_TITLE", "event_view", "meeting_views", "participant_views"]

CONFIDENTIAL_TITLE = "（保密需求）"


def _titles(
    session: Session, model: Any, ids: Iterable[int], viewer: int | None = None
) -> dict[int, dict[str, Any]]:
    """id → {id, ref, title}; for a ``viewer`` organization, another enterprise's confidential
    need shows no title."""
    wanted = set(ids)
    if not wanted:
        return {}
    titles = {}
    for record in session.scalars(select(model).where(model.id.in_(wanted))).unique():
        hidden = (
            viewer is not None
            and isinstance(record, Need)
            and record.confidential
            and record.enterprise_id != viewer
        )
        title = CONFIDENTIAL_TITLE if hidden else record.title
        titles[record.id] = {"id": record.id, "ref": record.external_ref, "title": title}
    return titles


def event_view(session: Session, event: Event) -> dict[str, Any]:
    """The event with its counts and the last schedule run."""
    participants = participants_of(session, event.id)
    meetings = meetings_of(session, event.id)
    return {
        "id": event.id,
        "name": event.name,
        "description": event.description,
        "venue": event.venue,
        "date": event.date.isoformat(),
        "start": event.start,
        "slot_minutes": event.slot_minutes,
        "slots": event.slots,
        "tables": event.tables,
        "max_meetings": event.max_meetings,
        "status": event.status,
        "status_label": EventStatus(event.status).label,
        "slot_times": [slot_time(event, s) for s in range(1, event.slots + 1)],
        "enterprises": sum(1 for p in participants if p.kind == ParticipantKind.ENTERPRISE),
        "teams": sum(1 for p in participants if p.kind == ParticipantKind.TEAM),
        "meetings": {d.value: sum(1 for m in meetings if m.decision == d) for d in Decision},
        "placed": sum(1 for m in meetings if m.slot is not None),
        "schedule": event.schedule,
        "created_by": event.created_by,
    }


def participant_views(
    session: Session,
    event: Event,
    participants: Sequence[EventParticipant],
    viewer: int | None = None,
) -> list[dict[str, Any]]:
    """Participants with their organization, needs and results. For a ``viewer`` organization
    (an enterprise or university user) without contacts and without the titles of other
    enterprises' confidential needs."""
    needs = _titles(session, Need, (i for p in participants for i in p.need_ids), viewer)
    results = _titles(session, Result, (i for p in participants for i in p.result_ids))
    views = [
        {
            "id": p.id,
            "kind": p.kind,
            "kind_label": KIND_LABELS[p.kind],
            "name": p.name,
            "organization": {"id": p.organization_id, "name": p.organization.name},
            "needs": [needs[i] for i in p.need_ids if i in needs],
            "results": [results[i] for i in p.result_ids if i in results],
            "available": p.available,
            "max_meetings": p.max_meetings,
            "effective_max_meetings": (
                p.max_meetings if p.max_meetings is not None else event.max_meetings
            ),
            "contact_name": p.contact_name,
            "contact_phone": p.contact_phone,
        }
        for p in participants
    ]
    if viewer is not None:
        views = [v | {"contact_name": "", "contact_phone": ""} for v in views]
    return views


def _outcome(meeting: EventMeeting) -> dict[str, Any] | None:
    if meeting.attendance is None:
        return None
    return {
        "attendance": meeting.attendance,
        "follow_up": meeting.follow_up,
        "intention": meeting.intention,
        "amount": meeting.amount,
        "reason": meeting.outcome_reason,
        "note": meeting.outcome_note,
        "at": meeting.outcome_at.isoformat() if meeting.outcome_at else None,
        "feedback_ids": meeting.feedback_ids,
    }


def meeting_views(
    session: Session,
    event: Event,
    meetings: Sequence[EventMeeting],
    viewer: int | None = None,
) -> list[dict[str, Any]]:
    """Meetings with both sides' names, the need and result, the decision, the place in the
    schedule (or why it has none) and the outcome; for a ``viewer`` organization without the
    titles of other enterprises' confidential needs."""
    names = {p.id: p.name for p in participants_of(session, event.id)}
    needs = _titles(session, Need, (m.need_id for m in meetings if m.need_id), viewer)
    results = _titles(session, Result, (m.result_id for m in meetings if m.result_id))
    return [
        {
            "id": m.id,
            "enterprise": {"id": m.enterprise_id, "name": names.get(m.enterprise_id, "")},
            "team": {"id": m.team_id, "name": names.get(m.team_id, "")},
            "need": needs.get(m.need_id) if m.need_id else None,
            "result": results.get(m.result_id) if m.result_id else None,
            "source": m.source,
            "priority": m.priority,
            "priority_label": Priority(m.priority).label,
            "score": m.score,
            "enterprise_score": m.enterprise_score,
            "team_score": m.team_score,
            "decision": m.decision,
            "decision_label": Decision(m.decision).label,
            "slot": m.slot,
            "time": slot_time(event, m.slot) if m.slot else None,
            "table": m.table_number,
            "unplaced_code": m.unplaced_code,
            "unplaced_reason": m.unplaced_reason,
            "outcome": _outcome(m),
        }
        for m in meetings
    ]
