"""Feedback on match lists (``matching.feedback``): what happened to a proposed pair.

Staff, organisers and admins record feedback on any pair; an enterprise user only for its own
needs, a university user only for its own results. Staff and admins read the events and the
summary.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from matching.access import find_record
from matching.errors import NotFound
from matching.feedback import (
    FeedbackError,
    count_feedback,
    feedback_summary,
    list_feedback,
    record_feedback,
)
from matching.store.models import Feedback, Need, Result
from matching.vocab import FeedbackAction, RejectReason, Role, labels_of
from service.deps import DatabaseDep
from service.problem_docs import problem_responses
from service.problems import Problem
from service.security import Principal, require_roles

__all__ = ["FeedbackIn", "FeedbackOut", "router"]

router = APIRouter(
    prefix="/api/v1/feedback", tags=["匹配"], responses=problem_responses(401, 403, 404, 422)
)

Writers = Annotated[
    Principal,
    Depends(require_roles(Role.STAFF, Role.ORGANISER, Role.ENTERPRISE, Role.UNIVERSITY)),
]
Readers = Annotated[Principal, Depends(require_roles(Role.STAFF))]


def _id_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# An id (number) or a 编号; a JSON number is read as its digits.
Key = Annotated[str, BeforeValidator(_id_as_text), StringConstraints(min_length=1, max_length=64)]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    need: Key = Field(description="需求 ID 或编号")
    result: Key | None = Field(default=None, description="成果 ID 或编号（与 expert 二选一）")
    expert: Key | None = Field(default=None, description="专家 ID 或编号（与 result 二选一）")
    action: str = Field(description="、".join(labels_of(FeedbackAction)) + "（或英文值）")
    reason: str | None = Field(
        default=None, description="不合适的原因：" + "、".join(labels_of(RejectReason))
    )
    amount: float | None = Field(
        default=None, allow_inf_nan=False, description="合同金额（万元），仅签约时填写"
    )
    note: str = Field(default="", max_length=2000, description="备注")
    ranker: str = Field(default="", max_length=64, description="给出该匹配的排序器版本")
    rank: int | None = Field(default=None, ge=1, le=10_000, description="该配对在列表中的名次")
    direction: str | None = Field(
        default=None, description="配对出自哪个列表，默认 need→results（专家为 need→experts）"
    )


class FeedbackOut(BaseModel):
    id: int
    need_id: int
    result_id: int | None
    expert_id: int | None
    direction: str
    action: str
    action_label: str
    reason: str | None
    reason_label: str | None
    amount: float | None
    note: str
    ranker: str
    rank: int | None
    actor: str
    at: dt.datetime


class FeedbackPage(BaseModel):
    items: list[FeedbackOut]
    total: int
    page: int
    page_size: int


class FeedbackSummaryOut(BaseModel):
    events: int
    pairs: int
    by_action: dict[str, int]
    signed_amount: float


def _out(event: Feedback) -> FeedbackOut:
    return FeedbackOut(
        id=event.id,
        need_id=event.need_id,
        result_id=event.result_id,
        expert_id=event.expert_id,
        direction=event.direction,
        action=event.action,
        action_label=FeedbackAction.labels().get(event.action, event.action),
        reason=event.reason,
        reason_label=RejectReason.labels().get(event.reason) if event.reason else None,
        amount=event.amount,
        note=event.note,
        ranker=event.ranker,
        rank=event.rank,
        actor=event.actor,
        at=event.at if event.at.tzinfo else event.at.replace(tzinfo=dt.UTC),  # SQLite: naive
    )


def _invalid(error: FeedbackError) -> Problem:
    return Problem(422, detail=str(error), errors=[{"field": error.field, "reason": error.reason}])


def _check_owner(session: Session, principal: Principal, body: FeedbackIn) -> None:
    """Enterprise users give feedback on their own needs, university users on their own
    results; another organization's record is "not found"."""
    if principal.role == Role.ENTERPRISE:
        need = find_record(session, Need, body.need, "需求")
        if need.enterprise_id != principal.organization_id:
            raise NotFound(f"找不到需求「{body.need}」")
    elif principal.role == Role.UNIVERSITY:
        if body.result is None:
            raise Problem(403, detail="高校院所用户只能对本单位成果的匹配作出反馈")
        result = find_record(session, Result, body.result, "成果")
        if result.institution_id != principal.organization_id:
            raise NotFound(f"找不到成果「{body.result}」")


@router.post("", status_code=201, response_model=FeedbackOut, summary="记录一条匹配反馈")
def post_feedback(body: FeedbackIn, principal: Writers, database: DatabaseDep) -> Any:
    with database.session(principal.actor) as session:
        _check_owner(session, principal, body)
        try:
            event = record_feedback(session, **body.model_dump())
        except FeedbackError as error:
            raise _invalid(error) from None
        return _out(event)


@router.get("", response_model=FeedbackPage, summary="反馈记录（最新在前，分页）")
def get_feedback(
    principal: Readers,
    database: DatabaseDep,
    need: Annotated[str | None, Query(description="需求 ID 或编号")] = None,
    result: Annotated[str | None, Query(description="成果 ID 或编号")] = None,
    action: Annotated[str | None, Query(description="反馈类型（中文或英文值）")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="页码，从 1 开始")] = 1,
    page_size: Annotated[int, Query(ge=1, le=200, description="每页条数")] = 50,
) -> Any:
    with database.session(principal.actor) as session:
        try:
            total = count_feedback(session, need, result, action)
            offset = (page - 1) * page_size
            events = list_feedback(session, need, result, action, page_size, offset)
        except FeedbackError as error:
            raise _invalid(error) from None
        items = [_out(event) for event in events]
        return FeedbackPage(items=items, total=total, page=page, page_size=page_size)


@router.get("/summary", response_model=FeedbackSummaryOut, summary="反馈汇总")
def get_summary(principal: Readers, database: DatabaseDep) -> Any:
    with database.session(principal.actor) as session:
        return feedback_summary(session).to_dict()
