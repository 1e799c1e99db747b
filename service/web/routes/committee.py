"""The committee pages (评审): an expert's assignments and forms (draft, submit, a live
weighted total), and for organisers the rounds, a round's progress and its results with the
agreement figures and a chart of each item's score spread. The rules are the JSON routes'
(``service.committee_access``): an expert reaches only their own assignments (403 otherwise),
organisers, staff and admins the rounds."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from matching.committee import get_round, list_rounds, round_template, round_view
from matching.committee_assign import AssignmentReport, run_assignment
from matching.committee_forms import Answers, NotAssigned, get_form, my_assignments
from matching.committee_forms import save_draft as save_form_draft
from matching.committee_forms import submit_form as submit_expert_form
from matching.committee_progress import progress
from matching.committee_results import ItemResultView, round_results
from matching.encode import Encoder
from matching.evaluation_form import (
    FieldError,
    FormTemplate,
    GradeScale,
    InvalidResponse,
    NumericScale,
)
from matching.vocab import Role
from service.committee_access import MAX_ID, expert_id_of
from service.deps import DatabaseDep
from service.problems import Problem
from service.security import Principal
from service.web.jobs import JobBusy, JobRunner, Outcome, Reporter
from service.web.navigation import NavItem, add_nav_item
from service.web.routing import WebRoute
from service.web.session import CsrfChecked, page_roles
from service.web.templating import render

__all__ = [
    "SpreadChart",
    "answers_from_form",
    "assignment_outcome",
    "live_total",
    "router",
    "spread_chart",
]

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Reader = Annotated[Principal, Depends(page_roles(Role.STAFF, Role.ORGANISER, Role.EXPERT))]
Organiser = Annotated[Principal, Depends(page_roles(Role.STAFF, Role.ORGANISER))]
Expert = Annotated[Principal, Depends(page_roles(Role.EXPERT))]

add_nav_item(NavItem("评审", "/committee", (Role.EXPERT, Role.STAFF, Role.ORGANISER), order=30))

FORM_STATUS = {"not_started": "未开始", "draft": "草稿", "submitted": "已提交"}
CONFLICT_NONE, CONFLICT_DECLARED = "none", "declared"


def _check_id(*ids: int) -> None:
    if any(not 1 <= value <= MAX_ID for value in ids):
        raise Problem(404, "未找到", "没有这个评比批次或评审项目")


@contextmanager
def _own_form() -> Iterator[None]:
    """An item not assigned to the expert is a 403 page, as in the API."""
    try:
        yield
    except NotAssigned as error:
        raise Problem(403, "无权访问", str(error)) from None


# --- the expert's form ------------------------------------------------------------------------


def answers_from_form(
    template: FormTemplate, form: Mapping[str, str]
) -> tuple[Answers, list[FieldError]]:
    """The answers a posted form holds (fields ``score.<key>``, ``comment.<key>``,
    ``veto.<key>`` with ``veto_reason.<key>``, ``overall_comment``, ``conflict`` and
    ``conflict_reason``), and the numbers that could not be read."""
    scores: dict[str, float | str] = {}
    errors = []
    for criterion in template.criteria:
        raw = form.get(f"score.{criterion.key}", "").strip()
        if not raw:
            continue
        if isinstance(criterion.scale, GradeScale):
            scores[criterion.key] = raw
            continue
        try:
            value = float(raw)
        except ValueError:
            message = f"指标「{criterion.name}」：应填写数字"
            errors.append(FieldError(f"scores.{criterion.key}", message))
            continue
        if not math.isfinite(value):
            errors.append(
                FieldError(f"scores.{criterion.key}", f"指标「{criterion.name}」：应填写数字")
            )
            continue
        scores[criterion.key] = value
    comments = {
        c.key: form[f"comment.{c.key}"].strip()
        for c in template.criteria
        if form.get(f"comment.{c.key}", "").strip()
    }
    vetoes = {
        v.key: form.get(f"veto_reason.{v.key}", "").strip()
        for v in template.vetoes
        if form.get(f"veto.{v.key}")
    }
    conflict = form.get("conflict", "")
    declared = {CONFLICT_NONE: True, CONFLICT_DECLARED: False}.get(conflict)
    answers = Answers(
        scores=scores,
        comments=comments,
        overall_comment=form.get("overall_comment", "").strip(),
        vetoes=vetoes,
        declared_no_conflict=declared,
        conflict_reason=form.get("conflict_reason", "").strip() if declared is False else "",
    )
    return answers, errors


@dataclass(frozen=True)
class LiveTotal:
    """The weighted total of the criteria scored so far (0-100 points when all are)."""

    scored: int
    criteria: int
    total: float
    conflict: bool

    @property
    def complete(self) -> bool:
        return self.scored == self.criteria


def live_total(template: FormTemplate, answers: Answers) -> LiveTotal:
    """Σ share · (value − min) / (max − min) · 100 over the criteria answered validly (the
    same formula as ``weighted_total``, which the server applies on submission)."""
    shares, total, scored = template.weight_shares, 0.0, 0
    for criterion in template.criteria:
        if criterion.key not in answers.scores:
            continue
        scale: NumericScale | GradeScale = criterion.scale
        try:
            value = scale.value_of(answers.scores[criterion.key])
        except ValueError:
            continue
        scored += 1
        total += shares[criterion.key] * (value - scale.minimum) / (scale.maximum - scale.minimum)
    conflict = answers.declared_no_conflict is False
    return LiveTotal(scored, len(template.criteria), 100.0 * total, conflict)


def _errors_by_field(errors: list[FieldError]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(error.field, []).append(error.message)
    return found


def _form_page(
    request: Request,
    principal: Principal,
    database: Any,
    round_id: int,
    item_id: int,
    answers: Answers | None = None,
    errors: list[FieldError] | None = None,
    message: str = "",
) -> Response:
    expert_id = expert_id_of(principal)
    with _own_form(), database.session(principal.actor) as session:
        view = get_form(session, round_id, item_id, expert_id)
        evaluation_round = get_round(session, round_id)
        template = round_template(evaluation_round)
        round_name, deadline, status = (
            evaluation_round.name,
            evaluation_round.deadline,
            evaluation_round.status,
        )
    shown = answers if answers is not None else view.answers
    locked = view.status == "submitted" or status == "closed"
    context = {
        "view": view,
        "template": template,
        "answers": shown,
        "errors": _errors_by_field(errors or []),
        "error_list": errors or [],
        "locked": locked,
        "round_name": round_name,
        "deadline": deadline,
        "round_closed": status == "closed",
        "status_label": FORM_STATUS.get(view.status, view.status),
        "live": live_total(template, shown),
        "message": message,
        "shares": template.weight_shares,
    }
    return render(request, "committee/form.html", context, 422 if errors else 200)


@router.get("/committee")
def committee_home(request: Request, principal: Reader, database: DatabaseDep) -> Response:
    """An expert's assignments in the open rounds; for organisers the rounds."""
    with database.session(principal.actor) as session:
        if principal.role == Role.EXPERT:
            expert_id = expert_id_of(principal)
            rows = []
            for view in list_rounds(session):
                if view.status == "open":
                    rows += my_assignments(session, view.id, expert_id)
            counts = {key: sum(r.form_status == key for r in rows) for key in FORM_STATUS}
            context = {"assignments": rows, "status": FORM_STATUS, "counts": counts}
            return render(request, "committee/mine.html", context)
        rounds = list_rounds(session)
    return render(request, "committee/rounds.html", {"rounds": rounds})


@router.get("/committee/rounds/{round_id}/items/{item_id}/form")
def expert_form(
    request: Request,
    round_id: int,
    item_id: int,
    principal: Expert,
    database: DatabaseDep,
    saved: str = "",
) -> Response:
    _check_id(round_id, item_id)
    message = {"draft": "草稿已保存", "submitted": "评审表已提交并锁定"}.get(saved, "")
    return _form_page(request, principal, database, round_id, item_id, message=message)


@router.post("/committee/rounds/{round_id}/items/{item_id}/form", dependencies=[CsrfChecked])
async def post_form(
    request: Request, round_id: int, item_id: int, principal: Expert, database: DatabaseDep
) -> Response:
    """保存草稿 (``action=draft``) or 提交 (``action=submit``); a form with problems comes
    back with each problem next to its field."""
    _check_id(round_id, item_id)
    expert_id = expert_id_of(principal)
    posted = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    action = posted.get("action", "draft")
    with _own_form(), database.session(principal.actor) as session:
        template = round_template(get_round(session, round_id))
        get_form(session, round_id, item_id, expert_id)  # 403 before reading anything else
    answers, unreadable = answers_from_form(template, posted)
    if unreadable:
        return _form_page(request, principal, database, round_id, item_id, answers, unreadable)
    try:
        with _own_form(), database.session(principal.actor) as session:
            if action == "submit":
                submit_expert_form(session, round_id, item_id, expert_id, answers)
            else:
                save_form_draft(session, round_id, item_id, expert_id, answers)
    except InvalidResponse as error:
        return _form_page(request, principal, database, round_id, item_id, answers, error.errors)
    saved = "submitted" if action == "submit" else "draft"
    target = f"/committee/rounds/{round_id}/items/{item_id}/form?saved={saved}"
    return RedirectResponse(target, status_code=303)


@router.post("/committee/rounds/{round_id}/items/{item_id}/form/total", dependencies=[CsrfChecked])
async def form_total(
    request: Request, round_id: int, item_id: int, principal: Expert, database: DatabaseDep
) -> Response:
    """The live total of the answers on the page (HTMX, on every change; nothing is saved)."""
    _check_id(round_id, item_id)
    expert_id = expert_id_of(principal)
    with _own_form(), database.session(principal.actor) as session:
        template = round_template(get_round(session, round_id))
        get_form(session, round_id, item_id, expert_id)
    posted = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    answers, _ = answers_from_form(template, posted)
    return render(request, "committee/_total.html", {"live": live_total(template, answers)})


# --- organisers -------------------------------------------------------------------------------


@router.get("/committee/rounds/{round_id}")
def round_page(
    request: Request,
    round_id: int,
    principal: Organiser,
    database: DatabaseDep,
    remind_within_days: int = 3,
) -> Response:
    """A round and its progress: submitted / draft / not started per expert and per item, and
    the experts due a reminder."""
    _check_id(round_id)
    window = max(0, min(remind_within_days, 365))
    with database.session(principal.actor) as session:
        view = round_view(session, round_id)
        state = progress(session, round_id, dt.date.today(), window)
    return render(request, "committee/round.html", {"round": view, "progress": state})


ASSIGN_STAGES = {
    "affinities": (10, "正在计算专家与评审项目的匹配度"),
    "solving": (60, "正在求解最优分配"),
    "storing": (85, "正在保存分配结果"),
}


def assignment_outcome(report: AssignmentReport) -> Outcome:
    """What the assignment job shows: the totals, then every understaffed item and every
    expert below the minimum load with the reason."""
    summary = (
        f"已分配 {report.n_pairs} 对评审：总匹配度 {report.total_affinity:.3f}，"
        f"评审组最低匹配度 {report.min_item_affinity:.3f}；"
        f"新增 {report.added}，撤下 {report.removed}，保留 {report.kept}（已开始填写）"
    )
    lines = [
        f"人手不足：{u.ref} {u.title}（已分配 {u.assigned}/{u.required} 位）：{u.reason}"
        for u in report.understaffed
    ]
    lines += [
        f"低于最少评审量：{b.name}（{b.load}/{b.min_load} 项）：{b.reason}"
        for b in report.experts_below_min_load
    ]
    if not report.understaffed:
        lines.insert(0, "每个评审项目的专家人数均已满足")
    if report.n_conflicts:
        lines.append(f"因利益冲突回避的组合：{report.n_conflicts} 个")
    return Outcome(
        summary,
        tuple(lines),
        link=f"/committee/rounds/{report.round_id}",
        link_label="返回评审进度",
    )


@router.post("/committee/rounds/{round_id}/assign", dependencies=[CsrfChecked])
def assign_round(
    request: Request, round_id: int, principal: Organiser, database: DatabaseDep
) -> Response:
    """Run the round's reviewer assignment (``run_assignment``) as a job, one per round at a
    time; the job page shows the report."""
    _check_id(round_id)
    with database.session(principal.actor) as session:
        name = get_round(session, round_id).name
    engine = request.app.state.engine
    encoder: Encoder | None = getattr(engine, "encoder", None)

    def work(report: Reporter) -> Outcome:
        def stage(key: str) -> None:
            report(*ASSIGN_STAGES[key])

        with database.session(principal.actor) as session:
            result = run_assignment(session, round_id, encoder, stage)
        return assignment_outcome(result)

    jobs: JobRunner = request.app.state.jobs
    try:
        job = jobs.submit(
            f"committee-assign-{round_id}",
            f"分配评审专家：{name}",
            principal.user_id,
            work,
            exclusive=True,
        )
    except JobBusy as error:
        raise Problem(409, "无法开始分配", str(error)) from None
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@dataclass(frozen=True)
class SpreadRow:
    label: str
    title: str
    y: float
    low_x: float
    high_x: float
    mean_x: float | None
    trimmed_x: float | None
    low: float
    high: float
    mean: float | None
    trimmed: float | None


@dataclass(frozen=True)
class SpreadChart:
    """Per item, the range of its experts' scores (min–max bar) with the mean and the trimmed
    mean marked, on a 0-100 axis."""

    title: str
    width: float
    height: float
    left: float
    plot_width: float
    ticks: tuple[tuple[float, int], ...]
    rows: tuple[SpreadRow, ...]


def spread_chart(title: str, items: list[ItemResultView], width: float = 720) -> SpreadChart:
    """The geometry of the score-spread chart (items without scores are left out)."""
    left, right, row_height, top = 150.0, 20.0, 28.0, 24.0
    plot = width - left - right

    def x(score: float) -> float:
        return round(left + plot * max(0.0, min(score, 100.0)) / 100.0, 1)

    rows: list[SpreadRow] = []
    for item in items:
        scores = [r.score for r in item.reviews if r.score is not None]
        if not scores:
            continue
        y = top + row_height * len(rows)
        rows.append(
            SpreadRow(
                label=item.item.ref,
                title=item.item.title,
                y=y,
                low_x=x(min(scores)),
                high_x=x(max(scores)),
                mean_x=x(item.mean) if item.mean is not None else None,
                trimmed_x=x(item.trimmed_mean) if item.trimmed_mean is not None else None,
                low=min(scores),
                high=max(scores),
                mean=item.mean,
                trimmed=item.trimmed_mean,
            )
        )
    ticks = tuple((x(value), value) for value in range(0, 101, 20))
    height = top + row_height * len(rows) + 8
    return SpreadChart(title, width, height, left, plot, ticks, tuple(rows))


@router.get("/committee/rounds/{round_id}/results")
def results_page(
    request: Request,
    round_id: int,
    principal: Organiser,
    database: DatabaseDep,
    normalise: bool | None = None,
) -> Response:
    """The ranking with tiers, vetoes, ICC and Kendall's W with their bands, and the spread of
    scores per item."""
    _check_id(round_id)
    with database.session(principal.actor) as session:
        view = round_view(session, round_id)
        results = round_results(session, round_id, normalise)
    chart = spread_chart("各项目专家评分分布（最低–最高，● 平均分，◆ 去极值平均分）", results.items)
    context = {"round": view, "results": results, "chart": chart}
    return render(request, "committee/results.html", context)
