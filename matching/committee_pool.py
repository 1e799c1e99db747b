"""The contents of an evaluation round: its items (needs or results, with co-applicants), its
expert pool (with load limits and withdrawals) and manual overrides (force or forbid a pair)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matching.access import find_record
from matching.committee import (
    InvalidRoundInput,
    ItemKind,
    ItemView,
    RoundStateError,
    conflict_reasons,
    form_of,
    get_round,
    item_kind,
    item_view,
)
from matching.errors import NotFound
from matching.evaluation_form import FieldError
from matching.store.models import (
    Expert,
    Need,
    Result,
    ReviewAssignment,
    RoundExpert,
    RoundItem,
    RoundOverride,
)

R = TypeVar("R", Need, Result, Expert)

__all__ = [
    "ItemSpec",
    "OverrideView",
    "PoolExpertView",
    "add_experts",
    "add_items",
    "list_items",
    "list_overrides",
    "list_pool",
    "set_override",
]


@dataclass(frozen=True)
class ItemSpec:
    """An item to add: a need or result by id or reference, and who applied with it."""

    kind: ItemKind
    key: int | str
    co_applicants: tuple[str, ...] = ()


@dataclass(frozen=True)
class PoolExpertView:
    expert_id: int
    ref: str
    name: str
    organization: str
    title: str
    fields: list[str]
    status: str
    max_load: int
    load: int
    withdraw_reason: str


@dataclass(frozen=True)
class OverrideView:
    item_id: int
    expert_id: int
    kind: str
    reason: str


def _items(session: Session, round_id: int) -> list[RoundItem]:
    query = select(RoundItem).where(RoundItem.round_id == round_id).order_by(RoundItem.id)
    return list(session.scalars(query).unique())


def _pool(session: Session, round_id: int) -> list[RoundExpert]:
    query = select(RoundExpert).where(RoundExpert.round_id == round_id).order_by(RoundExpert.id)
    return list(session.scalars(query).unique())


# ---- items, pool, overrides ------------------------------------------------------------------


def _lookup(session: Session, model: type[R], key: int | str) -> R | None:
    try:
        return find_record(session, model, key, "")
    except NotFound:
        return None


def add_items(session: Session, round_id: int, specs: Sequence[ItemSpec]) -> list[ItemView]:
    """Add needs and results to a round (by id or reference). Items already in the round only
    get their co-applicants updated. ``InvalidRoundInput`` lists every unknown record."""
    evaluation_round = get_round(session, round_id)
    if evaluation_round.status == "closed":
        raise RoundStateError("评比批次已结束，不能再添加评审项目")
    existing = {
        (item_kind(item), item_view(item).record_id): item for item in _items(session, round_id)
    }
    errors: list[FieldError] = []
    found: list[tuple[ItemSpec, int]] = []
    for index, spec in enumerate(specs):
        record: Need | Result | None = (
            _lookup(session, Need, spec.key)
            if spec.kind == "need"
            else _lookup(session, Result, spec.key)
        )
        if record is None:
            what = "需求" if spec.kind == "need" else "成果"
            errors.append(
                FieldError(f"items[{index}]", f"找不到编号或 ID 为「{spec.key}」的{what}")
            )
        else:
            found.append((spec, record.id))
    if errors:
        raise InvalidRoundInput(errors)
    for spec, record_id in found:
        item = existing.get((spec.kind, record_id))
        if item is None:
            item = RoundItem(
                round_id=round_id,
                need_id=record_id if spec.kind == "need" else None,
                result_id=record_id if spec.kind == "result" else None,
            )
            session.add(item)
            existing[(spec.kind, record_id)] = item
        if spec.co_applicants or not item.co_applicants:
            item.co_applicants = [name.strip() for name in spec.co_applicants if name.strip()]
    session.flush()
    return list_items(session, round_id)


def list_items(session: Session, round_id: int) -> list[ItemView]:
    get_round(session, round_id)
    return [item_view(item) for item in _items(session, round_id)]


def add_experts(
    session: Session, round_id: int, keys: Sequence[int | str], max_load: int | None = None
) -> list[PoolExpertView]:
    """Add experts (by id or reference) to the pool, or set their load limit when already in
    it. A withdrawn expert stays withdrawn. ``InvalidRoundInput`` lists unknown experts."""
    evaluation_round = get_round(session, round_id)
    if evaluation_round.status == "closed":
        raise RoundStateError("评比批次已结束，不能再调整专家库")
    if max_load is not None and max_load < 0:
        raise InvalidRoundInput([FieldError("max_load", "评审上限不能为负数")])
    pool = {member.expert_id: member for member in _pool(session, round_id)}
    errors, experts = [], []
    for index, key in enumerate(keys):
        expert = _lookup(session, Expert, key)
        if expert is None:
            errors.append(FieldError(f"experts[{index}]", f"找不到编号或 ID 为「{key}」的专家"))
        experts.append(expert)
    if errors:
        raise InvalidRoundInput(errors)
    for expert in experts:
        assert expert is not None
        member = pool.get(expert.id)
        if member is None:
            member = RoundExpert(round_id=round_id, expert_id=expert.id)
            session.add(member)
            pool[expert.id] = member
        if max_load is not None:
            member.max_load = max_load
    session.flush()
    return list_pool(session, round_id)


def list_pool(session: Session, round_id: int) -> list[PoolExpertView]:
    evaluation_round = get_round(session, round_id)
    loads: dict[int, int] = dict(
        session.execute(
            select(ReviewAssignment.expert_id, func.count())
            .where(ReviewAssignment.round_id == round_id, ReviewAssignment.active.is_(True))
            .group_by(ReviewAssignment.expert_id)
        ).all()
    )
    views = []
    for member in _pool(session, round_id):
        expert = member.expert
        views.append(
            PoolExpertView(
                expert_id=expert.id,
                ref=expert.external_ref,
                name=expert.name,
                organization=expert.organization.name if expert.organization else "",
                title=expert.title,
                fields=list(expert.fields),
                status=member.status,
                max_load=member.max_load
                if member.max_load is not None
                else evaluation_round.max_load,
                load=loads.get(expert.id, 0),
                withdraw_reason=member.withdraw_reason,
            )
        )
    return views


def set_override(
    session: Session,
    round_id: int,
    item_id: int,
    expert_id: int,
    kind: Literal["force", "forbid", "clear"],
    reason: str = "",
) -> list[OverrideView]:
    """Force or forbid one (item, expert) pair at the next assignment, or clear the override.

    Forcing a pair in conflict of interest is refused (``InvalidRoundInput``); forbidding a pair
    whose form is already submitted is refused (``RoundStateError``).
    """
    get_round(session, round_id)
    item = session.get(RoundItem, item_id)
    if item is None or item.round_id != round_id:
        raise NotFound(f"评比批次中没有评审项目「{item_id}」")
    member = session.scalar(
        select(RoundExpert).where(
            RoundExpert.round_id == round_id, RoundExpert.expert_id == expert_id
        )
    )
    if member is None:
        raise NotFound(f"专家「{expert_id}」不在本批次专家库中")
    current = session.scalar(
        select(RoundOverride).where(
            RoundOverride.item_id == item_id, RoundOverride.expert_id == expert_id
        )
    )
    if kind == "force":
        reasons = conflict_reasons(item, member.expert)
        if reasons:
            message = f"专家「{member.expert.name}」与该项目存在利益冲突：{'；'.join(reasons)}"
            raise InvalidRoundInput([FieldError("expert_id", message)])
        if member.status != "active":
            raise InvalidRoundInput([FieldError("expert_id", "该专家已退出本批次评审")])
    if kind == "forbid":
        form = form_of(session, item_id, expert_id)
        if form is not None and form.status == "submitted":
            raise RoundStateError("该专家已提交此项目的评审表，不能排除")
    if kind == "clear":
        if current is not None:
            session.delete(current)
    elif current is None:
        session.add(
            RoundOverride(
                round_id=round_id, item_id=item_id, expert_id=expert_id, kind=kind, reason=reason
            )
        )
    else:
        current.kind, current.reason = kind, reason
    session.flush()
    return list_overrides(session, round_id)


def list_overrides(session: Session, round_id: int) -> list[OverrideView]:
    get_round(session, round_id)
    query = select(RoundOverride).where(RoundOverride.round_id == round_id)
    return [
        OverrideView(o.item_id, o.expert_id, o.kind, o.reason)
        for o in session.scalars(query.order_by(RoundOverride.id))
    ]
