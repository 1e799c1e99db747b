"""Feedback on match lists: validation, the graded labels of the module doc's table, shown
counts, track record and the summary."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.errors import NotFound
from matching.feedback import (
    MAX_AMOUNT,
    FeedbackError,
    count_feedback,
    feedback_summary,
    label_of_history,
    list_feedback,
    pair_labels,
    record_feedback,
    shown_counts,
    track_record,
)
from matching.store.database import Database
from matching.store.models import ChangeRecord, Expert, Feedback, Need, Organization, Result


@dataclass
class World:
    needs: list[int]
    results: list[int]
    expert: int
    universities: list[int]


@pytest.fixture
def world(database: Database) -> World:
    with database.session("test") as session:
        enterprise = Organization(name="铜陵测试铜业有限公司", kind="enterprise")
        first = Organization(name="测试大学", kind="university")
        second = Organization(name="测试研究院", kind="institute")
        session.add_all([enterprise, first, second])
        session.flush()
        needs = [
            Need(external_ref=f"XQ-{n}", title=f"需求{n}", description="…", enterprise=enterprise)
            for n in (1, 2)
        ]
        results = [
            Result(external_ref=f"CG-{n}", title=f"成果{n}", abstract="…", institution=owner)
            for n, owner in ((1, first), (2, first), (3, second))
        ]
        expert = Expert(external_ref="ZJ-1", name="专家甲")
        session.add_all([*needs, *results, expert])
        session.flush()
        return World(
            [n.id for n in needs], [r.id for r in results], expert.id, [first.id, second.id]
        )


@pytest.fixture
def session(database: Database, world: World) -> Iterator[Session]:
    with database.session("user:tester") as session:
        yield session


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"action": "点赞", "result": "CG-1"}, "action", "已展示、已查看"),
        ({"action": "shown"}, "result", "之一"),
        ({"action": "shown", "result": "CG-1", "expert": "ZJ-1"}, "result", "之一"),
        ({"action": "rejected", "result": "CG-1"}, "reason", "须选择原因"),
        ({"action": "rejected", "result": "CG-1", "reason": "太贵"}, "reason", "价格不合适"),
        ({"action": "contacted", "result": "CG-1", "reason": "价格"}, "reason", "只有标记为不合适"),
        ({"action": "signed", "result": "CG-1"}, "amount", "须填写合同金额"),
        ({"action": "signed", "result": "CG-1", "amount": -1.0}, "amount", "0 到"),
        ({"action": "signed", "result": "CG-1", "amount": MAX_AMOUNT * 2}, "amount", "0 到"),
        ({"action": "signed", "result": "CG-1", "amount": float("nan")}, "amount", "0 到"),
        ({"action": "meeting", "result": "CG-1", "amount": 10.0}, "amount", "只有签约时"),
        ({"action": "opened", "result": "CG-1", "rank": 0}, "rank", "正整数"),
        ({"action": "opened", "expert": "ZJ-1", "direction": "need→results"}, "direction", ""),
        ({"action": "opened", "result": "CG-1", "direction": "sideways"}, "direction", ""),
    ],
)
def test_invalid_feedback_names_the_field(
    session: Session, kwargs: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(FeedbackError) as caught:
        record_feedback(session, "XQ-1", **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert f"字段「{field}」" in str(caught.value) and words in str(caught.value)
    assert session.scalar(select(Feedback)) is None


@pytest.mark.parametrize(
    ("need", "kwargs", "message"),
    [
        ("XQ-9", {"result": "CG-1"}, "找不到需求「XQ-9」"),
        ("XQ-1", {"result": "CG-9"}, "找不到成果「CG-9」"),
        ("XQ-1", {"expert": "ZJ-9"}, "找不到专家「ZJ-9」"),
        ("²", {"result": "CG-1"}, "找不到需求「²」"),
        ("99999999999999999999999", {"result": "CG-1"}, "找不到需求"),
    ],
)
def test_unknown_records_are_not_found(
    session: Session, need: str, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(NotFound, match=message):
        record_feedback(session, need, "opened", **kwargs)  # type: ignore[arg-type]


def test_recorded_event_reads_labels_ids_and_refs(session: Session, world: World) -> None:
    event = record_feedback(
        session,
        world.needs[0],
        "不合适",
        result="CG-2",
        reason="价格不合适",
        note=" 太\x00贵 ",
        rank=3,
    )
    assert (event.need_id, event.result_id, event.expert_id) == (
        world.needs[0],
        world.results[1],
        None,
    )
    assert (event.action, event.reason, event.note, event.rank) == ("rejected", "price", "太贵", 3)
    assert event.direction == "need→results" and event.actor == "user:tester"
    signed = record_feedback(session, "XQ-1", "已签约", result=str(world.results[0]), amount=120.5)
    assert (signed.action, signed.amount, signed.result_id) == ("signed", 120.5, world.results[0])
    to_expert = record_feedback(session, "XQ-1", "contacted", expert="ZJ-1")
    assert to_expert.direction == "need→experts" and to_expert.expert_id == world.expert
    listed = record_feedback(session, "XQ-1", "shown", result="CG-3", direction="result→needs")
    assert listed.direction == "result→needs"
    history = session.scalars(select(ChangeRecord).where(ChangeRecord.entity_type == "feedback"))
    assert len(list(history)) == 4


@pytest.mark.parametrize(
    ("events", "label"),
    [
        ([("shown", None)], 0),
        ([("shown", None), ("opened", None)], 1),
        ([("opened", None), ("contacted", None)], 2),
        ([("contacted", None), ("meeting", None)], 3),
        ([("negotiating", None)], 3),
        ([("meeting", None), ("signed", None)], 4),
        ([("signed", None), ("rejected", "irrelevant")], 0),
        ([("rejected", "irrelevant"), ("contacted", None)], 0),
        ([("shown", None), ("rejected", "price")], 1),
        ([("meeting", None), ("rejected", "region")], 3),
        ([("rejected", "existing_partner")], 1),
    ],
)
def test_label_of_history_follows_the_module_table(
    events: list[tuple[str, str | None]], label: int
) -> None:
    assert label_of_history(events) == label


def test_pair_labels_shown_counts_and_track_record(session: Session, world: World) -> None:
    n1, n2 = world.needs
    r1, r2, r3 = world.results
    for need, result in ((n1, r1), (n2, r1), (n1, r2), (n1, r3)):
        record_feedback(session, need, "shown", result=result)
    record_feedback(session, n1, "shown", result=r1)
    record_feedback(session, n1, "contacted", result=r1)
    record_feedback(session, n1, "signed", result=r1, amount=100)
    record_feedback(session, n1, "signed", result=r1, amount=20)  # the same deal, amended
    record_feedback(session, n2, "signed", result=r1, amount=50)
    record_feedback(session, n1, "rejected", result=r2, reason="不相关")
    record_feedback(session, n1, "rejected", result=r3, reason="地域")
    record_feedback(session, n2, "meeting", expert=world.expert)  # no result: not a pair label
    assert pair_labels(session) == {(n1, r1): 4, (n2, r1): 4, (n1, r2): 0, (n1, r3): 1}
    assert shown_counts(session) == {r1: 3, r2: 1, r3: 1}
    record = track_record(session)
    assert record.by_result == {r1: 2}
    assert record.by_institution == {world.universities[0]: 2}


def test_summary_counts_events_pairs_and_amount(session: Session, world: World) -> None:
    assert feedback_summary(session).to_dict() == {
        "events": 0,
        "pairs": 0,
        "by_action": {},
        "signed_amount": 0.0,
    }
    record_feedback(session, "XQ-1", "shown", result="CG-1")
    record_feedback(session, "XQ-1", "signed", result="CG-1", amount=80)
    record_feedback(session, "XQ-2", "signed", result="CG-3", amount=20.5)
    record_feedback(session, "XQ-2", "opened", expert="ZJ-1")
    summary = feedback_summary(session)
    assert (summary.events, summary.pairs, summary.signed_amount) == (4, 3, 100.5)
    assert summary.by_action == {"shown": 1, "signed": 2, "opened": 1}


def test_list_and_count_filter_by_refs_and_labels(session: Session, world: World) -> None:
    for result in ("CG-1", "CG-2", "CG-3"):
        record_feedback(session, "XQ-1", "shown", result=result)
    record_feedback(session, "XQ-2", "opened", result="CG-1")
    newest_first = [event.result_id for event in list_feedback(session)]
    assert newest_first == [world.results[0], *reversed(world.results)]
    assert count_feedback(session) == 4
    assert count_feedback(session, need="XQ-1") == 3
    assert count_feedback(session, result=str(world.results[0])) == 2
    assert [e.need_id for e in list_feedback(session, action="已查看")] == [world.needs[1]]
    assert len(list_feedback(session, need="XQ-1", limit=2, offset=2)) == 1
    with pytest.raises(FeedbackError) as caught:
        list_feedback(session, action="nope")
    assert caught.value.field == "action"
    with pytest.raises(NotFound):
        count_feedback(session, need="XQ-404")
