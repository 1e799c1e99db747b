"""After a matchmaking event: what came of each scheduled meeting, and the feedback it gives the
ranking model.

Per meeting: held or no-show, whether a follow-up was agreed, the intention (none, interested,
negotiating, signed) and, when signed, the contract amount in 万元. A held meeting is feedback
``meeting`` on its need-result pair; negotiating adds ``negotiating``, signed adds ``signed``
with the amount, no intention adds ``rejected`` with its reason. A no-show says nothing about
the fit and writes no feedback. Feedback is append-only: recording an outcome again appends
only the events not written before (a corrected amount is a new ``signed`` event; the latest
counts), and never takes one back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.access import find_record
from matching.events import (
    EventError,
    EventStatus,
    get_event,
    get_meeting,
    get_participant,
    meetings_of,
)
from matching.feedback import record_feedback
from matching.store.models import Event, EventMeeting, Feedback, Need, Result, utc_now
from matching.vocab import FeedbackAction, RejectReason, parse_value

__all__ = [
    "Attendance",
    "Intention",
    "Outcome",
    "feedback_events",
    "outcome_summary",
    "record_outcome",
]

FeedbackEvent = tuple[FeedbackAction, RejectReason | None, float | None]


class Attendance(StrEnum):
    HELD = "held"
    NO_SHOW = "no_show"

    @property
    def label(self) -> str:
        return {"held": "已举行", "no_show": "未到场"}[self.value]


class Intention(StrEnum):
    """Where the pair stands after the meeting, weakest first."""

    NONE = "none"
    INTERESTED = "interested"
    NEGOTIATING = "negotiating"
    SIGNED = "signed"

    @property
    def label(self) -> str:
        return {
            "none": "无合作意向",
            "interested": "有意向，待跟进",
            "negotiating": "洽谈中",
            "signed": "已签约",
        }[self.value]


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What came of one meeting. ``amount`` (万元) goes with intention signed, ``reason`` (a
    ``RejectReason``) with intention none; ``need`` and ``result`` (ids or references) correct
    the pair the meeting was about, among those the participants brought."""

    attendance: str
    follow_up: bool = False
    intention: str | None = None
    amount: float | None = None
    reason: str | None = None
    note: str = ""
    need: int | str | None = None
    result: int | str | None = None


def _parse(outcome: Outcome) -> tuple[Attendance, Intention | None, RejectReason | None]:
    try:
        attendance = Attendance(outcome.attendance)
    except ValueError:
        raise EventError("「attendance」应为 held（已举行）或 no_show（未到场）") from None
    try:
        intention = None if outcome.intention is None else Intention(outcome.intention)
    except ValueError:
        choices = "、".join(f"{i.value}（{i.label}）" for i in Intention)
        raise EventError(f"「intention」应为以下之一：{choices}") from None
    if attendance is Attendance.NO_SHOW and intention is not None:
        raise EventError("「intention」：未到场的会谈不能填写合作意向")
    if (intention is Intention.SIGNED) != (outcome.amount is not None):
        raise EventError("「amount」：签约须填写合同金额（万元），未签约不填")
    reason = None
    if intention is Intention.NONE:
        if not outcome.reason:
            raise EventError("「reason」：无合作意向时须选择原因")
        try:
            reason = parse_value(RejectReason, outcome.reason)
        except ValueError as error:
            raise EventError(f"「reason」无效：{error}") from None
    elif outcome.reason:
        raise EventError("「reason」：只有无合作意向时才填写原因")
    return attendance, intention, reason


def feedback_events(outcome: Outcome) -> list[FeedbackEvent]:
    """The feedback events an outcome stands for (see the module doc)."""
    attendance, intention, reason = _parse(outcome)
    if attendance is Attendance.NO_SHOW:
        return []
    events: list[FeedbackEvent] = [(FeedbackAction.MEETING, None, None)]
    if intention is Intention.NEGOTIATING:
        events.append((FeedbackAction.NEGOTIATING, None, None))
    elif intention is Intention.SIGNED:
        events.append((FeedbackAction.SIGNED, None, outcome.amount))
    elif intention is Intention.NONE:
        events.append((FeedbackAction.REJECTED, reason, None))
    return events


def _pair(session: Session, meeting: EventMeeting, outcome: Outcome) -> tuple[int, int]:
    enterprise = get_participant(session, meeting.event_id, meeting.enterprise_id)
    team = get_participant(session, meeting.event_id, meeting.team_id)
    need, result = meeting.need_id, meeting.result_id
    if outcome.need is not None:
        need = find_record(session, Need, outcome.need, "需求").id
    if outcome.result is not None:
        result = find_record(session, Result, outcome.result, "成果").id
    if need is None or result is None:
        raise EventError("「need」「result」：请指明会谈涉及的需求和成果")
    if need not in enterprise.need_ids or result not in team.result_ids:
        raise EventError("「need」「result」：应是双方参会时所带的需求和成果")
    return need, result


def _note(event: Event, meeting: EventMeeting, outcome: Outcome) -> str:
    parts = [f"对接会「{event.name}」（{event.date.isoformat()}）第 {meeting.slot} 时段会谈"]
    if outcome.follow_up:
        parts.append("约定后续跟进")
    if outcome.note.strip():
        parts.append(outcome.note.strip())
    return "；".join(parts)


def record_outcome(
    session: Session, event_id: int, meeting_id: int, outcome: Outcome
) -> tuple[EventMeeting, list[Feedback]]:
    """Store a scheduled meeting's outcome and append its new feedback events; the event
    counts as held from then on (its plan is frozen)."""
    event = get_event(session, event_id)
    meeting = get_meeting(session, event_id, meeting_id)
    if meeting.slot is None:
        raise EventError("该会谈不在日程中（未排期或未能安排），不能记录结果")
    wanted = feedback_events(outcome)
    if outcome.amount is not None and not 0 <= outcome.amount <= 1_000_000:
        raise EventError("「amount」：合同金额应在 0 到 1000000 万元之间")
    need, result = _pair(session, meeting, outcome)
    earlier = (
        list(session.scalars(select(Feedback).where(Feedback.id.in_(meeting.feedback_ids))))
        if meeting.feedback_ids
        else []
    )
    written = {(f.need_id, f.result_id, f.action, f.reason, f.amount) for f in earlier}
    note = _note(event, meeting, outcome)
    new = []
    for action, reason, amount in wanted:
        key = (need, result, action.value, reason.value if reason else None, amount)
        if key in written:
            continue
        new.append(
            record_feedback(
                session,
                need,
                action,
                result=result,
                reason=reason,
                amount=amount,
                note=note,
            )
        )
    attendance, intention, reason = _parse(outcome)
    meeting.need_id, meeting.result_id = need, result
    meeting.attendance = attendance.value
    meeting.follow_up = outcome.follow_up
    meeting.intention = intention.value if intention else None
    meeting.amount = outcome.amount
    meeting.outcome_reason = reason.value if reason else None
    meeting.outcome_note = outcome.note.strip()[:2000]
    meeting.outcome_at = utc_now()
    meeting.feedback_ids = [*meeting.feedback_ids, *(f.id for f in new)]
    event.status = EventStatus.HELD.value
    session.flush()
    return meeting, new


def outcome_summary(session: Session, event_id: int) -> dict[str, Any]:
    """An event's results: meetings scheduled, recorded, held, no-shows, follow-ups, each
    intention, contracts signed and their amount (万元)."""
    get_event(session, event_id)
    placed = [m for m in meetings_of(session, event_id) if m.slot is not None]
    recorded = [m for m in placed if m.attendance is not None]
    signed = [m for m in recorded if m.intention == Intention.SIGNED]
    return {
        "scheduled": len(placed),
        "recorded": len(recorded),
        "held": sum(1 for m in recorded if m.attendance == Attendance.HELD),
        "no_show": sum(1 for m in recorded if m.attendance == Attendance.NO_SHOW),
        "follow_up": sum(1 for m in recorded if m.follow_up),
        "intentions": {i.value: sum(1 for m in recorded if m.intention == i) for i in Intention},
        "signed": len(signed),
        "amount": float(sum(m.amount or 0.0 for m in signed)),
    }
