"""Experts' forms in a round: what is assigned to whom, drafts, submission (validated, then
locked) and an admin's reopening.

An expert reaches a form only through an active assignment of that item to them (or a form of
theirs that is kept after they withdrew); anything else raises ``NotAssigned``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.committee import (
    InvalidRoundInput,
    ItemView,
    RoundStateError,
    form_of,
    get_round,
    item_view,
    round_template,
    utc,
)
from matching.errors import TechMatchError
from matching.evaluation_form import (
    FieldError,
    FormResponse,
    InvalidResponse,
    ScoreValue,
    validate_response,
    weighted_total,
)
from matching.store.models import (
    EvaluationRound,
    Expert,
    ReviewAssignment,
    ReviewForm,
    RoundExpert,
    RoundItem,
    utc_now,
)

__all__ = [
    "Answers",
    "FormView",
    "MyAssignment",
    "NotAssigned",
    "check_in_pool",
    "form_view",
    "get_form",
    "item_forms",
    "my_assignments",
    "reopen_form",
    "response_of",
    "save_draft",
    "submit_form",
]


class NotAssigned(TechMatchError):
    """The expert asked for an item that is not assigned to them (the service answers 403)."""


@dataclass(frozen=True)
class Answers:
    """What an expert fills in (see ``FormResponse``): scores by criterion key (number or grade
    label), comments by criterion key, the overall comment, raised vetoes (key → reason) and
    the conflict declaration (True: no conflict; False: a conflict, explained)."""

    scores: dict[str, ScoreValue] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    overall_comment: str = ""
    vetoes: dict[str, str] = field(default_factory=dict)
    declared_no_conflict: bool | None = None
    conflict_reason: str = ""

    @classmethod
    def of(cls, data: dict[str, Any]) -> Answers:
        known = {key: data[key] for key in asdict(cls()) if key in data}
        return cls(**known)


@dataclass(frozen=True)
class FormView:
    """One expert's form for one item. ``status`` is not_started, draft or submitted; ``total``
    is on 0-100 points once submitted (None for a declared conflict); ``to_complete`` lists what
    still blocks submission."""

    round_id: int
    item: ItemView
    expert_id: int
    expert_name: str
    status: str
    answers: Answers
    total: float | None
    source: str
    submitted_at: dt.datetime | None
    reopen_count: int
    to_complete: list[str]


@dataclass(frozen=True)
class MyAssignment:
    round_id: int
    round_name: str
    deadline: dt.date | None
    item: ItemView
    affinity: float
    form_status: str
    submitted_at: dt.datetime | None


def response_of(
    answers: Answers, expert: Expert, item: RoundItem, status: str = "draft"
) -> FormResponse:
    return FormResponse(
        expert_id=expert.external_ref,
        item_id=item_view(item).ref,
        scores=dict(answers.scores),
        comments=dict(answers.comments),
        overall_comment=answers.overall_comment,
        vetoes=dict(answers.vetoes),
        declared_no_conflict=answers.declared_no_conflict,
        conflict_reason=answers.conflict_reason,
        status="submitted" if status == "submitted" else "draft",
    )


def form_view(
    session: Session, evaluation_round: EvaluationRound, item: RoundItem, expert: Expert
) -> FormView:
    form = form_of(session, item.id, expert.id)
    answers = Answers.of(form.answers) if form is not None else Answers()
    missing = []
    if form is None or form.status != "submitted":
        trial = response_of(answers, expert, item, "submitted")
        missing = [
            error.message for error in validate_response(round_template(evaluation_round), trial)
        ]
    return FormView(
        round_id=evaluation_round.id,
        item=item_view(item),
        expert_id=expert.id,
        expert_name=expert.name,
        status=form.status if form is not None else "not_started",
        answers=answers,
        total=form.total if form is not None else None,
        source=form.source if form is not None else "",
        submitted_at=utc(form.submitted_at) if form and form.submitted_at else None,
        reopen_count=form.reopen_count if form is not None else 0,
        to_complete=missing,
    )


def _reachable(
    session: Session, round_id: int, item_id: int, expert_id: int
) -> tuple[EvaluationRound, RoundItem, Expert]:
    """The round, item and expert when the item is the expert's to see; ``NotAssigned`` else."""
    evaluation_round = get_round(session, round_id)
    row = session.scalar(
        select(ReviewAssignment).where(
            ReviewAssignment.round_id == round_id,
            ReviewAssignment.item_id == item_id,
            ReviewAssignment.expert_id == expert_id,
        )
    )
    kept = form_of(session, item_id, expert_id) if row is not None else None
    if row is None or not (row.active or (kept is not None and kept.status == "submitted")):
        raise NotAssigned("该评审项目未分配给您")
    item, expert = session.get(RoundItem, item_id), session.get(Expert, expert_id)
    assert item is not None and expert is not None
    return evaluation_round, item, expert


def check_in_pool(session: Session, round_id: int, expert_id: int | None) -> None:
    """``NotAssigned`` unless the expert is in the round's pool."""
    get_round(session, round_id)
    member = session.scalar(
        select(RoundExpert).where(
            RoundExpert.round_id == round_id, RoundExpert.expert_id == expert_id
        )
    )
    if member is None:
        raise NotAssigned("您不是本批次的评审专家")


def my_assignments(session: Session, round_id: int, expert_id: int) -> list[MyAssignment]:
    """The expert's active assignments in the round, with the state of each form."""
    evaluation_round = get_round(session, round_id)
    rows = session.scalars(
        select(ReviewAssignment)
        .where(
            ReviewAssignment.round_id == round_id,
            ReviewAssignment.expert_id == expert_id,
            ReviewAssignment.active.is_(True),
        )
        .order_by(ReviewAssignment.item_id)
    )
    mine = []
    for row in rows:
        item = session.get(RoundItem, row.item_id)
        assert item is not None
        form = form_of(session, row.item_id, expert_id)
        mine.append(
            MyAssignment(
                round_id=round_id,
                round_name=evaluation_round.name,
                deadline=evaluation_round.deadline,
                item=item_view(item),
                affinity=row.affinity,
                form_status=form.status if form is not None else "not_started",
                submitted_at=utc(form.submitted_at) if form and form.submitted_at else None,
            )
        )
    return mine


def get_form(session: Session, round_id: int, item_id: int, expert_id: int) -> FormView:
    evaluation_round, item, expert = _reachable(session, round_id, item_id, expert_id)
    return form_view(session, evaluation_round, item, expert)


def _editable(
    session: Session, round_id: int, item_id: int, expert_id: int
) -> tuple[EvaluationRound, RoundItem, Expert, ReviewForm]:
    evaluation_round, item, expert = _reachable(session, round_id, item_id, expert_id)
    if evaluation_round.status == "closed":
        raise RoundStateError("评比批次已结束，评审表不能再修改")
    form = form_of(session, item_id, expert_id)
    if form is not None and form.status == "submitted":
        raise RoundStateError("评审表已提交并锁定；如需修改，请联系管理员退回")
    if form is None:
        form = ReviewForm(round_id=round_id, item_id=item_id, expert_id=expert_id)
        session.add(form)
    return evaluation_round, item, expert, form


def save_draft(
    session: Session, round_id: int, item_id: int, expert_id: int, answers: Answers
) -> FormView:
    """Save a draft; what it holds must fit the template (``InvalidResponse`` otherwise)."""
    evaluation_round, item, expert, form = _editable(session, round_id, item_id, expert_id)
    errors = validate_response(round_template(evaluation_round), response_of(answers, expert, item))
    if errors:
        raise InvalidResponse("评审表草稿有误", errors)
    form.answers, form.status = asdict(answers), "draft"
    session.flush()
    return form_view(session, evaluation_round, item, expert)


def submit_form(
    session: Session,
    round_id: int,
    item_id: int,
    expert_id: int,
    answers: Answers | None = None,
    source: str = "web",
) -> FormView:
    """Submit the form (``answers`` or the saved draft): validated as complete, scored, locked."""
    evaluation_round, item, expert, form = _editable(session, round_id, item_id, expert_id)
    chosen = answers if answers is not None else Answers.of(form.answers or {})
    template = round_template(evaluation_round)
    response = response_of(chosen, expert, item, "submitted")
    errors = validate_response(template, response)
    if errors:
        raise InvalidResponse("评审表不能提交", errors)
    form.answers, form.status, form.source = asdict(chosen), "submitted", source
    form.total = None if response.has_conflict else round(weighted_total(template, response), 6)
    form.submitted_at = utc_now()
    session.flush()
    return form_view(session, evaluation_round, item, expert)


def reopen_form(
    session: Session, round_id: int, item_id: int, expert_id: int, reason: str
) -> FormView:
    """Unlock a submitted form (an admin's decision, kept in the change log with ``reason``)."""
    if not reason.strip():
        raise InvalidRoundInput([FieldError("reason", "退回评审表须说明理由")])
    evaluation_round = get_round(session, round_id)
    form = form_of(session, item_id, expert_id)
    if form is None or form.round_id != round_id:
        raise NotAssigned("该专家没有此项目的评审表")
    if form.status != "submitted":
        raise RoundStateError("评审表尚未提交，无需退回")
    form.status, form.total, form.submitted_at = "draft", None, None
    form.reopen_count += 1
    form.reopen_reason = reason.strip()
    session.flush()
    item, expert = session.get(RoundItem, item_id), session.get(Expert, expert_id)
    assert item is not None and expert is not None
    return form_view(session, evaluation_round, item, expert)


def item_forms(session: Session, round_id: int, item_id: int) -> list[FormView]:
    """Every form of one item (the assigned experts' and the kept ones), for organisers."""
    evaluation_round = get_round(session, round_id)
    item = session.get(RoundItem, item_id)
    if item is None or item.round_id != round_id:
        raise NotAssigned("评比批次中没有这个评审项目")
    assigned = set(
        session.scalars(
            select(ReviewAssignment.expert_id).where(
                ReviewAssignment.item_id == item_id, ReviewAssignment.active.is_(True)
            )
        )
    )
    started = set(
        session.scalars(select(ReviewForm.expert_id).where(ReviewForm.item_id == item_id))
    )
    views = []
    for expert_id in sorted(assigned | started):
        expert = session.get(Expert, expert_id)
        assert expert is not None
        views.append(form_view(session, evaluation_round, item, expert))
    return views
