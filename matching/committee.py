"""Evaluation rounds of the needs-evaluation committee (评比批次), kept in the store.

A round holds the items to score (needs or results), the expert pool, a form template (the JSON
of ``matching.evaluation_form``) and the aggregation policy. This module creates and reads
rounds and holds what the other committee modules share; ``committee_pool`` fills a round with
items and experts, ``committee_assign`` staffs the panels,
``committee_forms`` holds the experts' forms and ``committee_progress`` follows them,
``committee_results`` aggregates them, ``committee_exports`` writes the results workbook and
``committee_paper`` the paper forms and their import.

Every function works in the caller's session, so one request is one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matching.aggregate import CommitteePolicy, Tier
from matching.errors import NotFound, TechMatchError
from matching.evaluation_form import FieldError, FormTemplate, parse_form_template
from matching.store.models import (
    EvaluationRound,
    Expert,
    ReviewAssignment,
    ReviewForm,
    RoundExpert,
    RoundItem,
)

__all__ = [
    "ROUND_STATUSES",
    "InvalidRoundInput",
    "ItemKind",
    "ItemView",
    "RoundSpec",
    "RoundStateError",
    "RoundView",
    "conflict_reasons",
    "create_round",
    "default_template_data",
    "expert_labels",
    "form_of",
    "get_round",
    "item_kind",
    "item_labels",
    "item_view",
    "list_rounds",
    "policy_of",
    "round_template",
    "round_view",
    "update_round",
    "utc",
]

ItemKind = Literal["need", "result"]
ROUND_STATUSES = ("draft", "open", "closed")
_STATUS_LABELS = {"draft": "筹备中", "open": "评审中", "closed": "已结束"}


class InvalidRoundInput(TechMatchError):
    """Input a round cannot take; ``errors`` names every bad field (Chinese messages)."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("；".join(error.message for error in errors))
        self.errors = list(errors)


class RoundStateError(TechMatchError):
    """The round or the form is in a state that forbids the action (closed round, locked
    form); the service answers 409."""


# ---- specs and views ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundSpec:
    """What a new round needs. ``template`` None takes the default 企业技术需求评比 form;
    ``options`` holds the aggregation policy (see ``policy_of``) and ``one_per_institution``."""

    name: str
    description: str = ""
    template: Mapping[str, Any] | None = None
    reviewers_per_item: int = 5
    max_load: int = 10
    min_load: int = 0
    deadline: dt.date | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RoundView:
    id: int
    name: str
    description: str
    status: str
    status_label: str
    template_name: str
    reviewers_per_item: int
    max_load: int
    min_load: int
    deadline: dt.date | None
    options: dict[str, Any]
    n_items: int
    n_experts: int
    n_assignments: int
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class ItemView:
    id: int
    kind: ItemKind
    record_id: int
    ref: str
    title: str
    organization: str
    fields: list[str]
    co_applicants: list[str]


# ---- helpers shared by the committee modules ----------------------------------------------------


def utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC time (SQLite gives back naive times; the store writes only UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def get_round(session: Session, round_id: int) -> EvaluationRound:
    """The round; ``NotFound`` when there is none."""
    found = session.get(EvaluationRound, round_id)
    if found is None:
        raise NotFound(f"找不到评比批次「{round_id}」")
    return found


def round_template(evaluation_round: EvaluationRound) -> FormTemplate:
    return parse_form_template(evaluation_round.template)


def default_template_data() -> dict[str, Any]:
    """The JSON of the shipped 企业技术需求评比 form (``resources/form_needs_default.json``)."""
    text = resources.files("matching").joinpath("resources/form_needs_default.json")
    data: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return data


def policy_of(options: Mapping[str, Any], normalise: bool | None = None) -> CommitteePolicy:
    """The aggregation policy of a round's ``options``: ``normalise``, ``veto_quorum``,
    ``outlier_sd_factor``, ``outlier_floor``, ``decimals`` and ``tiers`` (a list of
    ``{"name", "share"}`` or ``{"name", "min_score"}``). ``normalise`` overrides the option."""
    try:
        tiers = options.get("tiers")
        policy = CommitteePolicy(
            normalise=bool(options.get("normalise", False)) if normalise is None else normalise,
            veto_quorum=int(options.get("veto_quorum", 1)),
            outlier_sd_factor=float(options.get("outlier_sd_factor", 2.0)),
            outlier_floor=float(options.get("outlier_floor", 15.0)),
            decimals=int(options.get("decimals", 2)),
        )
        if tiers is not None:
            policy = replace(policy, tiers=tuple(Tier(**tier) for tier in tiers))
    except (TypeError, ValueError) as error:
        raise InvalidRoundInput([FieldError("options", f"评比规则设置有误：{error}")]) from error
    return policy


def _check_counts(reviewers: int, max_load: int, min_load: int) -> list[FieldError]:
    errors = []
    if reviewers < 1:
        errors.append(FieldError("reviewers_per_item", "每个项目的评审专家数至少为 1"))
    if max_load < 1:
        errors.append(FieldError("max_load", "每位专家的评审上限至少为 1"))
    if min_load < 0 or min_load > max_load:
        errors.append(FieldError("min_load", "每位专家的最低评审量须在 0 与评审上限之间"))
    return errors


def item_kind(item: RoundItem) -> ItemKind:
    return "need" if item.need is not None else "result"


def item_view(item: RoundItem) -> ItemView:
    if item.need is not None:
        need = item.need
        return ItemView(
            item.id,
            "need",
            need.id,
            need.external_ref,
            need.title,
            need.enterprise.name,
            list(need.fields),
            list(item.co_applicants),
        )
    result = item.result
    assert result is not None  # an item is a need or a result (checked when added)
    return ItemView(
        item.id,
        "result",
        result.id,
        result.external_ref,
        result.title,
        result.institution.name,
        list(result.fields),
        list(item.co_applicants),
    )


def item_labels(items: Sequence[RoundItem]) -> dict[int, str]:
    """Round item id → the label the aggregation uses: the record's reference, prefixed with
    the kind when a need and a result share one."""
    refs = {item.id: item_view(item).ref for item in items}
    counts: dict[str, int] = {}
    for ref in refs.values():
        counts[ref] = counts.get(ref, 0) + 1
    kinds = {item.id: item_kind(item) for item in items}
    return {
        item_id: ref
        if counts[ref] == 1
        else f"{'需求' if kinds[item_id] == 'need' else '成果'}:{ref}"
        for item_id, ref in refs.items()
    }


def expert_labels(experts: Sequence[Expert]) -> dict[int, str]:
    """Expert id → the label the aggregation uses (the expert's reference)."""
    return {expert.id: expert.external_ref for expert in experts}


def form_of(session: Session, item_id: int, expert_id: int) -> ReviewForm | None:
    """The expert's form for a round item, None when they have not started it."""
    return session.scalar(
        select(ReviewForm).where(ReviewForm.item_id == item_id, ReviewForm.expert_id == expert_id)
    )


def conflict_reasons(item: RoundItem, expert: Expert) -> list[str]:
    """Why ``expert`` may not review ``item`` (empty: no conflict): the same organization, a
    declared conflict (回避单位) naming the item's organization or its group, the same
    enterprise group, or a co-applicant (the expert, their organization or a declared body
    among the item's co-applicants, or the expert in a result's team; people match by name)."""
    if item.need is not None:
        body, people = item.need.enterprise, set[str]()
    else:
        assert item.result is not None
        body = item.result.institution
        people = {item.result.team_lead, *item.result.team_members} - {""}
    own, declared = expert.organization, set(expert.conflict_organizations)
    co_applicants = set(item.co_applicants)
    reasons = []
    if own is not None and own.id == body.id:
        reasons.append(f"专家与项目同属「{body.name}」")
    elif own is not None and body.group_name and own.group_name == body.group_name:
        reasons.append(f"专家所在单位与「{body.name}」同属「{body.group_name}」")
    named = {body.name, body.group_name} & declared - {""}
    if named:
        reasons.append(f"专家声明回避「{'、'.join(sorted(named))}」")
    if expert.name in co_applicants or expert.name in people:
        reasons.append("专家本人是该项目的共同申请人或完成人")
    bodies = (({own.name} if own is not None else set()) | declared) & co_applicants
    if bodies:
        reasons.append(f"共同申请单位「{'、'.join(sorted(bodies))}」与专家有关")
    return reasons


# ---- rounds ----------------------------------------------------------------------------------


def create_round(session: Session, spec: RoundSpec, actor: str = "") -> RoundView:
    """A new round in status draft; ``InvalidRoundInput`` names every bad field."""
    errors = _check_counts(spec.reviewers_per_item, spec.max_load, spec.min_load)
    if not spec.name.strip():
        errors.append(FieldError("name", "评比批次名称不能为空"))
    template = dict(spec.template) if spec.template is not None else default_template_data()
    try:
        parse_form_template(template)
    except TechMatchError as error:
        problems = getattr(error, "errors", [FieldError("template", str(error))])
        errors += [FieldError(f"template.{p.field}".rstrip("."), p.message) for p in problems]
    if errors:
        raise InvalidRoundInput(errors)
    policy_of(spec.options)
    evaluation_round = EvaluationRound(
        name=spec.name.strip(),
        description=spec.description,
        template=template,
        reviewers_per_item=spec.reviewers_per_item,
        max_load=spec.max_load,
        min_load=spec.min_load,
        deadline=spec.deadline,
        options=dict(spec.options),
        created_by=actor,
    )
    session.add(evaluation_round)
    session.flush()
    return round_view(session, evaluation_round.id)


def round_view(session: Session, round_id: int) -> RoundView:
    evaluation_round = get_round(session, round_id)

    def count(model: Any, *where: Any) -> int:
        query = select(func.count()).select_from(model).where(model.round_id == round_id, *where)
        return session.scalar(query) or 0

    return RoundView(
        id=evaluation_round.id,
        name=evaluation_round.name,
        description=evaluation_round.description,
        status=evaluation_round.status,
        status_label=_STATUS_LABELS.get(evaluation_round.status, evaluation_round.status),
        template_name=str(evaluation_round.template.get("name", "")),
        reviewers_per_item=evaluation_round.reviewers_per_item,
        max_load=evaluation_round.max_load,
        min_load=evaluation_round.min_load,
        deadline=evaluation_round.deadline,
        options=dict(evaluation_round.options),
        n_items=count(RoundItem),
        n_experts=count(RoundExpert, RoundExpert.status == "active"),
        n_assignments=count(ReviewAssignment, ReviewAssignment.active.is_(True)),
        created_by=evaluation_round.created_by,
        created_at=utc(evaluation_round.created_at),
    )


def list_rounds(session: Session) -> list[RoundView]:
    ids = session.scalars(select(EvaluationRound.id).order_by(EvaluationRound.id.desc()))
    return [round_view(session, round_id) for round_id in ids]


_UPDATABLE = {
    "name",
    "description",
    "deadline",
    "status",
    "reviewers_per_item",
    "max_load",
    "min_load",
    "options",
}


def update_round(session: Session, round_id: int, changes: Mapping[str, Any]) -> RoundView:
    """Change a round's name, description, deadline, status, counts or options. The counts
    take effect at the next assignment."""
    evaluation_round = get_round(session, round_id)
    unknown = sorted(set(changes) - _UPDATABLE)
    errors = [FieldError(key, f"字段「{key}」不能修改") for key in unknown]
    merged = {key: getattr(evaluation_round, key) for key in _UPDATABLE} | dict(changes)
    errors += _check_counts(merged["reviewers_per_item"], merged["max_load"], merged["min_load"])
    if merged["status"] not in ROUND_STATUSES:
        errors.append(FieldError("status", "状态应为 draft、open 或 closed"))
    if not str(merged["name"]).strip():
        errors.append(FieldError("name", "评比批次名称不能为空"))
    if errors:
        raise InvalidRoundInput(errors)
    policy_of(merged["options"])
    for key, value in changes.items():
        setattr(evaluation_round, key, dict(value) if key == "options" else value)
    session.flush()
    return round_view(session, round_id)
