"""An expert's side of a round: their assignments and forms (draft, submit); an admin's
reopening of a submitted form; the organisers' view of one item's forms. An expert reaches
only the items assigned to them: any other item answers 403."""

from __future__ import annotations

from fastapi import APIRouter

from matching.committee_forms import (
    FormView,
    MyAssignment,
    get_form,
    item_forms,
    my_assignments,
    reopen_form,
    save_draft,
    submit_form,
)
from service.committee_access import (
    AdminDep,
    ExpertDep,
    ExpertId,
    ItemId,
    OrganiserDep,
    RoundId,
    committee_errors,
    expert_id_of,
)
from service.deps import DatabaseDep
from service.schemas.committee import AnswersIn, ReasonIn

__all__ = ["router"]

router = APIRouter()


@router.get("/{round_id}/my-assignments", summary="我的评审任务（专家）")
def mine(round_id: RoundId, principal: ExpertDep, database: DatabaseDep) -> list[MyAssignment]:
    expert_id = expert_id_of(principal)
    with database.session(principal.actor) as session:
        return my_assignments(session, round_id, expert_id)


@router.get("/{round_id}/items/{item_id}/form", summary="我的评审表（专家）")
def read_form(
    round_id: RoundId, item_id: ItemId, principal: ExpertDep, database: DatabaseDep
) -> FormView:
    expert_id = expert_id_of(principal)
    with committee_errors(), database.session(principal.actor) as session:
        return get_form(session, round_id, item_id, expert_id)


@router.put("/{round_id}/items/{item_id}/form", summary="保存评审表草稿（专家）")
def save_form(
    round_id: RoundId, item_id: ItemId, body: AnswersIn, principal: ExpertDep, database: DatabaseDep
) -> FormView:
    """What the draft holds must fit the form (known criteria, scores in range); 409 once
    submitted."""
    expert_id = expert_id_of(principal)
    with committee_errors(), database.session(principal.actor) as session:
        return save_draft(session, round_id, item_id, expert_id, body.answers())


@router.post("/{round_id}/items/{item_id}/form/submit", summary="提交评审表（专家）")
def submit(
    round_id: RoundId,
    item_id: ItemId,
    principal: ExpertDep,
    database: DatabaseDep,
    body: AnswersIn | None = None,
) -> FormView:
    """Submit the sent answers, or the saved draft without a body. Every required criterion,
    the score ranges and the conflict declaration are checked (422 naming each field); the
    form is then locked (409 on any later change)."""
    expert_id = expert_id_of(principal)
    answers = body.answers() if body is not None else None
    with committee_errors(), database.session(principal.actor) as session:
        return submit_form(session, round_id, item_id, expert_id, answers)


@router.post(
    "/{round_id}/items/{item_id}/forms/{expert_id}/reopen",
    summary="退回已提交的评审表（仅管理员）",
)
def reopen(
    round_id: RoundId,
    item_id: ItemId,
    expert_id: ExpertId,
    body: ReasonIn,
    principal: AdminDep,
    database: DatabaseDep,
) -> FormView:
    """The form becomes a draft again; the change log keeps who, when and why."""
    with committee_errors(), database.session(principal.actor) as session:
        return reopen_form(session, round_id, item_id, expert_id, body.reason)


@router.get("/{round_id}/items/{item_id}/forms", summary="某项目的全部评审表（组织方）")
def forms_of_item(
    round_id: RoundId, item_id: ItemId, principal: OrganiserDep, database: DatabaseDep
) -> list[FormView]:
    with committee_errors(), database.session(principal.actor) as session:
        return item_forms(session, round_id, item_id)
