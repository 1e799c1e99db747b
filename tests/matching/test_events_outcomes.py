"""After the event: outcomes go into the ranking model's feedback, once each."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from matching.event_outcomes import Outcome, outcome_summary, record_outcome
from matching.event_planning import schedule_event
from matching.events import EventError, add_participant, add_request, get_event, meetings_of
from matching.events import ParticipantSpec as Spec
from matching.feedback import pair_labels
from matching.store.database import Database
from matching.store.models import EventMeeting, Feedback
from tests.matching.event_world import enroll, new_event, seed


@pytest.fixture
def held(database: Database) -> tuple[int, list[EventMeeting]]:
    """An event with three scheduled meetings and one left out (no common slot)."""
    world = seed(database)
    with database.session() as session:
        event = new_event(session, slots=2, tables=3)
        (e0, e1, e2), (t0, t1, t2) = enroll(session, event.id, world)
        late = add_participant(
            session, event.id, Spec(kind="team", results=["CG-0-1"], name="迟到团队", available=[])
        )
        for e, t in ((e0, t0), (e1, t1), (e2, t2), (e0, late.id)):
            add_request(session, event.id, e, t)
        schedule_event(session, event.id, time_limit_s=2)
        return event.id, meetings_of(session, event.id)


def _feedback(database: Database) -> list[Feedback]:
    with database.session() as session:
        return list(session.scalars(select(Feedback).order_by(Feedback.id)))


def test_a_signed_meeting_is_label_4_and_recording_again_adds_nothing(
    database: Database, held: tuple[int, list[EventMeeting]]
) -> None:
    event_id, meetings = held
    signed = Outcome(
        attendance="held", follow_up=True, intention="signed", amount=120.0, note="签订技术开发合同"
    )
    with database.session("user:organiser1") as session:
        meeting, written = record_outcome(session, event_id, meetings[0].id, signed)
        assert [f.action for f in written] == ["meeting", "signed"]
        assert meeting.feedback_ids == [f.id for f in written]
        assert get_event(session, event_id).status == "held"
    events = _feedback(database)
    assert events[1].amount == 120.0 and events[1].direction == "need→results"
    assert "约定后续跟进" in events[1].note and "签订技术开发合同" in events[1].note
    assert events[0].actor == "user:organiser1"
    with database.session() as session:
        assert pair_labels(session)[meetings[0].need_id, meetings[0].result_id] == 4  # type: ignore[index]
        _, again = record_outcome(session, event_id, meetings[0].id, signed)
        assert again == []
        corrected = Outcome(attendance="held", intention="signed", amount=150.0)
        _, written = record_outcome(session, event_id, meetings[0].id, corrected)
        assert [(f.action, f.amount) for f in written] == [("signed", 150.0)]
        summary = outcome_summary(session, event_id)
    assert (summary["signed"], summary["amount"], summary["held"]) == (1, 150.0, 1)


def test_no_show_writes_nothing_and_no_intention_needs_a_reason(
    database: Database, held: tuple[int, list[EventMeeting]]
) -> None:
    event_id, meetings = held
    with database.session() as session:
        _, written = record_outcome(
            session, event_id, meetings[1].id, Outcome(attendance="no_show")
        )
        assert written == []
        with pytest.raises(EventError, match="须选择原因"):
            record_outcome(
                session, event_id, meetings[2].id, Outcome(attendance="held", intention="none")
            )
        _, written = record_outcome(
            session,
            event_id,
            meetings[2].id,
            Outcome(attendance="held", intention="none", reason="不相关"),
        )
        assert [(f.action, f.reason) for f in written] == [
            ("meeting", None),
            ("rejected", "irrelevant"),
        ]
        labels = pair_labels(session)
        summary = outcome_summary(session, event_id)
    assert labels[meetings[2].need_id, meetings[2].result_id] == 0  # type: ignore[index]
    assert (meetings[1].need_id, meetings[1].result_id) not in labels
    assert (summary["no_show"], summary["recorded"], summary["intentions"]["none"]) == (1, 2, 1)


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        (Outcome(attendance="maybe"), "attendance"),
        (Outcome(attendance="held", intention="signed"), "合同金额"),
        (Outcome(attendance="held", amount=5.0), "合同金额"),
        (Outcome(attendance="no_show", intention="interested"), "未到场"),
        (Outcome(attendance="held", reason="price"), "只有无合作意向"),
        (Outcome(attendance="held", intention="perhaps"), "intention"),
        (Outcome(attendance="held", need="XQ-2-0"), "双方参会时所带"),
    ],
)
def test_outcomes_are_checked(
    database: Database, held: tuple[int, list[EventMeeting]], outcome: Outcome, message: str
) -> None:
    event_id, meetings = held
    with database.session() as session, pytest.raises(EventError, match=message):
        record_outcome(session, event_id, meetings[0].id, outcome)
    assert _feedback(database) == []


def test_only_scheduled_meetings_get_outcomes_and_a_held_event_is_frozen(
    database: Database, held: tuple[int, list[EventMeeting]]
) -> None:
    event_id, meetings = held
    left_out = meetings[3]
    assert left_out.slot is None and left_out.unplaced_code == "no_common_slot"
    with database.session() as session:
        with pytest.raises(EventError, match="不在日程中"):
            record_outcome(session, event_id, left_out.id, Outcome(attendance="held"))
        # The pair can be corrected to another need the enterprise brought.
        meeting, _ = record_outcome(
            session, event_id, meetings[0].id, Outcome(attendance="held", need="XQ-0-1")
        )
        assert meeting.need_id is not None
    with database.session() as session:
        with pytest.raises(EventError, match="不能再修改"):
            add_request(session, event_id, meetings[1].enterprise_id, meetings[0].team_id)
        with pytest.raises(EventError, match="不能重新排期"):
            schedule_event(session, event_id)
        assert session.scalar(select(func.count()).select_from(Feedback)) == 1
