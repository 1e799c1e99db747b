"""Feedback on match lists: what happened to a proposed pair, and the labels the ranking model
learns from.

A pair is a need with a result (or with an expert). Events are appended, never edited: the
history of a pair (shown → contacted → meeting → signed) is the evidence. ``pair_labels`` turns
each need-result pair's history into one graded label:

=====================================  =====
strongest event                        label
=====================================  =====
signed                                 4
negotiating, meeting held              3
contacted                              2
opened                                 1
shown only                             0
rejected: 不相关 (irrelevant)          0, whatever came before
rejected for another reason            at least 1: the technology fitted, the deal did not
=====================================  =====
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matching.access import find_record
from matching.errors import TechMatchError
from matching.store.models import Expert, Feedback, Need, Result
from matching.vocab import FeedbackAction, RejectReason, parse_value

__all__ = [
    "ACTION_LABELS",
    "FeedbackError",
    "FeedbackSummary",
    "TrackRecord",
    "count_feedback",
    "feedback_summary",
    "label_of_history",
    "list_feedback",
    "pair_labels",
    "record_feedback",
    "shown_counts",
    "track_record",
]

ACTION_LABELS: dict[str, int] = {
    FeedbackAction.SHOWN: 0,
    FeedbackAction.OPENED: 1,
    FeedbackAction.CONTACTED: 2,
    FeedbackAction.MEETING: 3,
    FeedbackAction.NEGOTIATING: 3,
    FeedbackAction.SIGNED: 4,
}
RESULT_DIRECTIONS = ("need→results", "result→needs", "text→results")
EXPERT_DIRECTIONS = ("need→experts",)
MAX_AMOUNT = 1_000_000.0  # 万元: 100 亿元, far above any single technology contract


class FeedbackError(TechMatchError):
    """Feedback that cannot be recorded; ``field`` names the field, the message gives the
    reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"字段「{field}」：{reason}")
        self.field = field
        self.reason = reason


def _text(text: str, limit: int) -> str:
    """Trimmed and cut to ``limit`` characters, without NUL (which PostgreSQL refuses)."""
    return text.replace("\x00", "").strip()[:limit]


def _action(action: FeedbackAction | str) -> FeedbackAction:
    try:
        return parse_value(FeedbackAction, str(action))
    except ValueError as error:
        raise FeedbackError("action", str(error)) from None


def record_feedback(
    session: Session,
    need: int | str,
    action: FeedbackAction | str,
    result: int | str | None = None,
    expert: int | str | None = None,
    reason: RejectReason | str | None = None,
    amount: float | None = None,
    note: str = "",
    ranker: str = "",
    rank: int | None = None,
    direction: str | None = None,
) -> Feedback:
    """Append one event for a need and a result (or an expert). ``amount`` (万元) goes with
    ``signed``; ``reason`` is required with ``rejected`` and refused otherwise. ``direction``:
    the list the pair was shown in (default need→results, or need→experts for an expert).
    Raises ``FeedbackError`` naming the field, ``NotFound`` for an unknown need, result or
    expert."""
    action = _action(action)
    if (result is None) == (expert is None):
        raise FeedbackError("result", "须指定成果（result）或专家（expert）之一")
    allowed = EXPERT_DIRECTIONS if expert is not None else RESULT_DIRECTIONS
    direction = direction or allowed[0]
    if direction not in allowed:
        raise FeedbackError("direction", "应为以下之一：" + "、".join(allowed))
    if action == FeedbackAction.REJECTED:
        if reason is None or not str(reason).strip():
            raise FeedbackError("reason", "标记为不合适时须选择原因")
        try:
            reason = parse_value(RejectReason, str(reason))
        except ValueError as error:
            raise FeedbackError("reason", str(error)) from None
    elif reason is not None and str(reason).strip():
        raise FeedbackError("reason", "只有标记为不合适时才填写原因")
    if action == FeedbackAction.SIGNED:
        if amount is None:
            raise FeedbackError("amount", "签约须填写合同金额（万元）")
        if not 0 <= amount <= MAX_AMOUNT:
            raise FeedbackError("amount", f"合同金额应在 0 到 {MAX_AMOUNT:g} 万元之间")
    elif amount is not None:
        raise FeedbackError("amount", "只有签约时才填写合同金额")
    if rank is not None and rank < 1:
        raise FeedbackError("rank", "名次应为正整数")
    found_need = find_record(session, Need, need, "需求")
    found_result = find_record(session, Result, result, "成果") if result is not None else None
    found_expert = find_record(session, Expert, expert, "专家") if expert is not None else None
    event = Feedback(
        need_id=found_need.id,
        result_id=found_result.id if found_result else None,
        expert_id=found_expert.id if found_expert else None,
        direction=direction,
        action=action.value,
        reason=reason.value if isinstance(reason, RejectReason) else None,
        amount=amount,
        note=_text(note, 2000),
        ranker=_text(ranker, 64),
        rank=rank,
        actor=str(session.info.get("actor", "")),
    )
    session.add(event)
    session.flush()
    return event


def _where(
    session: Session,
    query: Any,
    need: int | str | None,
    result: int | str | None,
    action: FeedbackAction | str | None,
) -> Any:
    if need is not None:
        query = query.where(Feedback.need_id == find_record(session, Need, need, "需求").id)
    if result is not None:
        query = query.where(Feedback.result_id == find_record(session, Result, result, "成果").id)
    if action is not None:
        query = query.where(Feedback.action == _action(action).value)
    return query


def list_feedback(
    session: Session,
    need: int | str | None = None,
    result: int | str | None = None,
    action: FeedbackAction | str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Feedback]:
    """Events, newest first, optionally for one need, one result (id or 编号) or one action
    (value or Chinese label)."""
    query = select(Feedback).order_by(Feedback.at.desc(), Feedback.id.desc())
    query = _where(session, query, need, result, action)
    return list(session.scalars(query.limit(limit).offset(offset)))


def count_feedback(
    session: Session,
    need: int | str | None = None,
    result: int | str | None = None,
    action: FeedbackAction | str | None = None,
) -> int:
    """How many events ``list_feedback`` with these filters pages through."""
    query = _where(session, select(func.count()).select_from(Feedback), need, result, action)
    return int(session.scalar(query) or 0)


def label_of_history(events: Iterable[tuple[str, str | None]]) -> int:
    """The graded label of one pair from its (action, reason) events (see the module doc)."""
    label = 0
    irrelevant = False
    other_rejection = False
    for action, reason in events:
        if action == FeedbackAction.REJECTED:
            if reason == RejectReason.IRRELEVANT:
                irrelevant = True
            else:
                other_rejection = True
        else:
            label = max(label, ACTION_LABELS.get(action, 0))
    if irrelevant:
        return 0
    return max(label, 1) if other_rejection else label


def pair_labels(session: Session) -> dict[tuple[int, int], int]:
    """(need id, result id) → graded label, for every need-result pair with feedback."""
    histories: dict[tuple[int, int], list[tuple[str, str | None]]] = {}
    rows = session.execute(
        select(Feedback.need_id, Feedback.result_id, Feedback.action, Feedback.reason)
        .where(Feedback.result_id.is_not(None))
        .order_by(Feedback.id)
    )
    for need_id, result_id, action, reason in rows:
        if result_id is not None:
            histories.setdefault((need_id, result_id), []).append((action, reason))
    return {pair: label_of_history(events) for pair, events in histories.items()}


def shown_counts(session: Session) -> Counter[int]:
    """Result id → how many times it was shown in a match list (for the popularity damper)."""
    rows = session.execute(
        select(Feedback.result_id, func.count())
        .where(Feedback.action == FeedbackAction.SHOWN, Feedback.result_id.is_not(None))
        .group_by(Feedback.result_id)
    )
    return Counter({result_id: count for result_id, count in rows if result_id is not None})


@dataclass(frozen=True)
class TrackRecord:
    """Signed deals per result (the team's record) and per institution."""

    by_result: Counter[int]
    by_institution: Counter[int]


def track_record(session: Session) -> TrackRecord:
    """Distinct signed need-result pairs, counted per result and per result's institution."""
    rows = session.execute(
        select(Feedback.need_id, Feedback.result_id, Result.institution_id)
        .join(Result, Result.id == Feedback.result_id)
        .where(Feedback.action == FeedbackAction.SIGNED)
        .distinct()
    )
    by_result: Counter[int] = Counter()
    by_institution: Counter[int] = Counter()
    for _need_id, result_id, institution_id in rows:
        if result_id is None:  # never: the join needs a result
            continue
        by_result[result_id] += 1
        by_institution[institution_id] += 1
    return TrackRecord(by_result, by_institution)


@dataclass(frozen=True)
class FeedbackSummary:
    events: int
    pairs: int
    by_action: dict[str, int]
    signed_amount: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "pairs": self.pairs,
            "by_action": self.by_action,
            "signed_amount": self.signed_amount,
        }


def feedback_summary(session: Session) -> FeedbackSummary:
    """Counts of events by action, distinct pairs and the total signed amount (万元)."""
    by_action = {
        action: count
        for action, count in session.execute(
            select(Feedback.action, func.count()).group_by(Feedback.action)
        )
    }
    pairs = session.scalar(
        select(func.count()).select_from(
            select(Feedback.need_id, Feedback.result_id, Feedback.expert_id).distinct().subquery()
        )
    )
    amount = session.scalar(
        select(func.coalesce(func.sum(Feedback.amount), 0.0)).where(
            Feedback.action == FeedbackAction.SIGNED
        )
    )
    return FeedbackSummary(sum(by_action.values()), int(pairs or 0), by_action, float(amount or 0))
