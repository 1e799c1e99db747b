"""Feedback buttons on match lists (HTMX): 感兴趣 (opened), 已联系 (contacted), 不相关 (rejected,
with a reason). The button box answers itself updated in place; without JavaScript the form
posts and the browser returns to the page. The actor in the change log is the user.

A page showing a match list also reports which pairs it showed (``shown``, once per pair), the
signal the ranking model's popularity damper and the dashboard's "matches proposed" read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from matching.access import find_record
from matching.errors import NotFound
from matching.feedback import FeedbackError, count_feedback, record_feedback
from matching.store.models import Need, Result
from matching.vocab import FeedbackAction, RejectReason, Role
from service.deps import DatabaseDep
from service.problems import Problem
from service.security import Principal
from service.web.routes.records import FEEDBACK_CHOICES
from service.web.routing import WebRoute, is_htmx
from service.web.session import CsrfChecked, page_roles
from service.web.templating import render

__all__ = ["router"]

router = APIRouter(route_class=WebRoute, include_in_schema=False, dependencies=[CsrfChecked])

Writer = Annotated[
    Principal,
    Depends(page_roles(Role.STAFF, Role.ORGANISER, Role.ENTERPRISE, Role.UNIVERSITY)),
]
DIRECTIONS = ("need→results", "result→needs")
MAX_SHOWN = 50


def _check_owner(session: Session, principal: Principal, need: int, result: int) -> None:
    """Enterprise users act on their own needs, university users on their own results; another
    organization's record is "not found" (as in the feedback API)."""
    found_need = find_record(session, Need, need, "需求")
    found_result = find_record(session, Result, result, "成果")
    if principal.role == Role.ENTERPRISE and found_need.enterprise_id != principal.organization_id:
        raise NotFound(f"找不到需求「{need}」")
    if (
        principal.role == Role.UNIVERSITY
        and found_result.institution_id != principal.organization_id
    ):
        raise NotFound(f"找不到成果「{result}」")


def _direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise Problem(422, detail="direction：应为 " + " 或 ".join(DIRECTIONS))
    return direction


@router.post("/feedback")
def give_feedback(
    request: Request,
    principal: Writer,
    database: DatabaseDep,
    need: Annotated[int, Form(ge=1)],
    result: Annotated[int, Form(ge=1)],
    action: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(max_length=32)] = "",
    rank: Annotated[int | None, Form(ge=1, le=10_000)] = None,
    ranker: Annotated[str, Form(max_length=64)] = "",
    direction: Annotated[str, Form(max_length=32)] = "need→results",
) -> Response:
    if action not in FEEDBACK_CHOICES:
        raise Problem(422, detail="action：应为 " + "、".join(FEEDBACK_CHOICES.values()))
    direction = _direction(direction)
    with database.session(principal.actor) as session:
        _check_owner(session, principal, need, result)
        try:
            record_feedback(
                session,
                need,
                action,
                result=result,
                reason=(reason or RejectReason.IRRELEVANT.value) if action == "rejected" else None,
                rank=rank,
                ranker=ranker,
                direction=direction,
            )
        except FeedbackError as error:
            raise Problem(422, detail=str(error)) from None
    if not is_htmx(request):
        back = f"/needs/{need}" if direction == "need→results" else f"/results/{result}"
        return RedirectResponse(back, status_code=303)
    context = {
        "need_id": need,
        "result_id": result,
        "rank": rank,
        "ranker": ranker,
        "direction": direction,
        "state": action,
        "reason": reason,
        "just_recorded": True,
        "reasons": RejectReason.labels(),
        "choices": FEEDBACK_CHOICES,
    }
    return render(request, "_feedback.html", context)


def _pairs(values: list[str]) -> list[tuple[int, int, int]]:
    pairs = []
    for value in values[:MAX_SHOWN]:
        parts = value.split("-")
        if len(parts) != 3 or not all(part.isascii() and part.isdigit() for part in parts):
            raise Problem(422, detail="pair：应为 需求ID-成果ID-名次")
        need, result, rank = (int(part) for part in parts)
        pairs.append((need, result, rank))
    return pairs


@router.post("/feedback/shown")
def report_shown(
    principal: Writer,
    database: DatabaseDep,
    pair: Annotated[list[str], Form(max_length=MAX_SHOWN)],
    ranker: Annotated[str, Form(max_length=64)] = "",
    direction: Annotated[str, Form(max_length=32)] = "need→results",
) -> Response:
    """Record ``shown`` for the pairs a page listed, once per pair ever (so popularity counts
    the lists a result appeared in, not how often a page was reloaded)."""
    direction = _direction(direction)
    with database.session(principal.actor) as session:
        for need, result, rank in _pairs(pair):
            _check_owner(session, principal, need, result)
            if count_feedback(session, need, result, FeedbackAction.SHOWN) == 0:
                record_feedback(
                    session,
                    need,
                    FeedbackAction.SHOWN,
                    result=result,
                    rank=rank,
                    ranker=ranker,
                    direction=direction,
                )
    return Response(status_code=204)
