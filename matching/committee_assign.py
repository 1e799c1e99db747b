"""Staffing a round's panels: affinity from the matching engine, conflicts of interest, the
optimal assignment (``matching.assign.solve``) and re-staffing when an expert withdraws.

Affinities come from ``committee_affinity`` (the matching engine's encoder, or field overlap).
Pairs whose form is started (draft or submitted) stay as they are when the solver runs again;
forced overrides must be met and forbidden ones never happen; conflicted pairs never happen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.assign import Assignment, AssignmentProblem, reassign_after_withdrawal, solve
from matching.committee import (
    InvalidRoundInput,
    RoundStateError,
    conflict_reasons,
    get_round,
    item_labels,
    item_view,
)
from matching.committee_affinity import affinity_matrix
from matching.encode import Encoder
from matching.errors import NotFound
from matching.evaluation_form import FieldError
from matching.store.models import (
    EvaluationRound,
    Expert,
    ReviewAssignment,
    ReviewForm,
    RoundExpert,
    RoundItem,
    RoundOverride,
    utc_now,
)

__all__ = [
    "AssignmentReport",
    "BelowMinLoad",
    "Panel",
    "PanelMember",
    "Understaffed",
    "current_panels",
    "run_assignment",
    "withdraw_expert",
]

Pair = tuple[int, int]


@dataclass(frozen=True)
class PanelMember:
    expert_id: int
    ref: str
    name: str
    affinity: float
    source: str
    form_status: str


@dataclass(frozen=True)
class Panel:
    item_id: int
    ref: str
    title: str
    required: int
    members: list[PanelMember]


@dataclass(frozen=True)
class Understaffed:
    item_id: int
    ref: str
    title: str
    assigned: int
    required: int
    reason: str


@dataclass(frozen=True)
class BelowMinLoad:
    expert_id: int
    name: str
    load: int
    min_load: int
    reason: str


@dataclass(frozen=True)
class AssignmentReport:
    """What the solver did. Affinities are on 0-1 per pair; ``min_item_affinity`` is the lowest
    panel total; ``kept`` counts pairs kept for their forms; ``n_conflicts`` the pairs left out
    for conflicts of interest; ``wall_s`` seconds."""

    round_id: int
    solver: str
    affinity_source: str
    wall_s: float
    n_pairs: int
    total_affinity: float
    min_item_affinity: float
    min_pair_affinity: float
    conflict_violations: int
    limit_violations: int
    n_conflicts: int
    kept: int
    added: int
    removed: int
    understaffed: list[Understaffed]
    experts_below_min_load: list[BelowMinLoad]
    panels: list[Panel]


@dataclass
class _Stored:
    """A round's items, pool, assignment rows and forms, as stored."""

    round: EvaluationRound
    items: list[RoundItem]
    members: list[RoundExpert]
    rows: dict[Pair, ReviewAssignment]
    forms: dict[Pair, ReviewForm]

    def item_index(self) -> dict[int, int]:
        return {item.id: i for i, item in enumerate(self.items)}

    def expert_index(self) -> dict[int, int]:
        return {member.expert_id: e for e, member in enumerate(self.members)}


@dataclass
class _Setup(_Stored):
    """The stored round and its assignment problem (items × pool, in stored order)."""

    problem: AssignmentProblem
    affinity_source: str
    n_conflicts: int


def _kept(
    setup: _Stored, active: list[bool], withdrawing: int | None
) -> tuple[set[Pair], set[Pair]]:
    """Pairs with a started form, and those with a submitted one. A withdrawn (or withdrawing)
    expert keeps only what they submitted."""
    items_at, experts_at = setup.item_index(), setup.expert_index()
    started: set[Pair] = set()
    submitted: set[Pair] = set()
    for (item_id, expert_id), form in setup.forms.items():
        row = setup.rows.get((item_id, expert_id))
        e = experts_at.get(expert_id)
        if row is None or not row.active or e is None or item_id not in items_at:
            continue
        pair = (items_at[item_id], e)
        if form.status == "submitted":
            submitted.add(pair)
        if form.status == "submitted" or (active[e] and expert_id != withdrawing):
            started.add(pair)
    return started, submitted


def _load(session: Session, round_id: int) -> _Stored:
    evaluation_round = get_round(session, round_id)
    if evaluation_round.status == "closed":
        raise RoundStateError("评比批次已结束，不能再分配评审")
    items = list(
        session.scalars(select(RoundItem).where(RoundItem.round_id == round_id).order_by("id"))
    )
    members = list(
        session.scalars(select(RoundExpert).where(RoundExpert.round_id == round_id).order_by("id"))
    )
    errors = []
    if not items:
        errors.append(FieldError("items", "评比批次还没有评审项目"))
    if not any(m.status == "active" for m in members):
        errors.append(FieldError("experts", "评比批次的专家库中没有可参加评审的专家"))
    if errors:
        raise InvalidRoundInput(errors)
    rows = session.scalars(select(ReviewAssignment).where(ReviewAssignment.round_id == round_id))
    forms = session.scalars(select(ReviewForm).where(ReviewForm.round_id == round_id))
    return _Stored(
        evaluation_round,
        items,
        members,
        rows={(row.item_id, row.expert_id): row for row in rows},
        forms={(form.item_id, form.expert_id): form for form in forms},
    )


def _setup(
    session: Session, round_id: int, encoder: Encoder | None, withdrawing: int | None = None
) -> _Setup:
    """The round's assignment problem: items × pool, with affinities, conflicts, overrides,
    kept pairs and limits (a withdrawn expert's limit is what they keep)."""
    stored = _load(session, round_id)
    evaluation_round, items, members = stored.round, stored.items, stored.members
    active = [m.status == "active" for m in members]
    experts = [member.expert for member in members]
    affinity, source = affinity_matrix(items, experts, encoder)
    fixed, submitted = _kept(stored, active, withdrawing)
    conflicts = {
        (i, e)
        for i, item in enumerate(items)
        for e, expert in enumerate(experts)
        if (i, e) not in fixed and conflict_reasons(item, expert)
    }
    forced, forbidden = _overrides(
        session, round_id, stored.item_index(), stored.expert_index(), active, conflicts
    )
    # Forbidding a pair drops its draft; a submitted form always stays.
    forbidden = (
        forbidden
        | {(i, e) for i in range(len(items)) for e in range(len(members)) if not active[e]}
    ) - submitted
    fixed -= forbidden
    upper = [
        (m.max_load if m.max_load is not None else evaluation_round.max_load)
        if active[e]
        else sum(1 for _, f in fixed if f == e)
        for e, m in enumerate(members)
    ]
    institutions = None
    if evaluation_round.options.get("one_per_institution"):
        institutions = [x.organization.name if x.organization else None for x in experts]
    problem = AssignmentProblem(
        items=list(item_labels(items).values()),
        experts=[expert.external_ref for expert in experts],
        affinity=affinity,
        reviewers_per_item=evaluation_round.reviewers_per_item,
        max_load=upper,
        min_load=[evaluation_round.min_load if a else 0 for a in active],
        conflicts=conflicts,
        forced=forced,
        forbidden=forbidden,
        fixed=fixed,
        institutions=institutions,
    )
    return _Setup(
        evaluation_round,
        items,
        members,
        stored.rows,
        stored.forms,
        problem,
        source,
        len(conflicts),
    )


def _overrides(
    session: Session,
    round_id: int,
    items_at: dict[int, int],
    experts_at: dict[int, int],
    active: list[bool],
    conflicts: set[Pair],
) -> tuple[set[Pair], set[Pair]]:
    forced: set[Pair] = set()
    forbidden: set[Pair] = set()
    for override in session.scalars(
        select(RoundOverride).where(RoundOverride.round_id == round_id)
    ):
        i, e = items_at.get(override.item_id), experts_at.get(override.expert_id)
        if i is None or e is None:
            continue
        if override.kind == "forbid":
            forbidden.add((i, e))
        elif active[e] and (i, e) not in conflicts:
            forced.add((i, e))
    return forced, forbidden


def _store(session: Session, setup: _Setup, result: Assignment, new_source: str) -> tuple[int, int]:
    """Write the chosen pairs: new rows, reactivated rows, deactivated rows (added, removed)."""
    items = {label: item.id for label, item in zip(setup.problem.items, setup.items, strict=True)}
    experts = {m.expert.external_ref: m.expert_id for m in setup.members}
    forced = {(setup.items[i].id, setup.members[e].expert_id) for i, e in setup.problem.forced}
    chosen = {
        (items[item], experts[expert]): value
        for (item, expert), value in zip(result.pairs, result.affinities, strict=True)
    }
    added = removed = 0
    for pair, stored in setup.rows.items():
        if stored.active and pair not in chosen:
            stored.active, removed = False, removed + 1
    for (item_id, expert_id), value in chosen.items():
        found = setup.rows.get((item_id, expert_id))
        source = "forced" if (item_id, expert_id) in forced else new_source
        if found is not None:
            row = found
            if not row.active:
                row.active, row.source, added = True, source, added + 1
        else:
            row = ReviewAssignment(
                round_id=setup.round.id, item_id=item_id, expert_id=expert_id, source=source
            )
            session.add(row)
            added += 1
        row.affinity = round(float(value), 6)
    session.flush()
    return added, removed


def _report(
    session: Session, setup: _Setup, result: Assignment, added: int, removed: int
) -> AssignmentReport:
    by_label = dict(zip(setup.problem.items, setup.items, strict=True))
    by_ref = {m.expert.external_ref: m.expert for m in setup.members}
    understaffed = []
    for short in result.items_understaffed:
        view = item_view(by_label[short["item"]])
        understaffed.append(
            Understaffed(
                view.id, view.ref, view.title, short["assigned"], short["required"], short["reason"]
            )
        )
    below = [
        BelowMinLoad(
            by_ref[b["expert"]].id, by_ref[b["expert"]].name, b["load"], b["min_load"], b["reason"]
        )
        for b in result.experts_below_min_load
    ]
    return AssignmentReport(
        round_id=setup.round.id,
        solver=result.solver,
        affinity_source=setup.affinity_source,
        wall_s=round(result.wall_s, 4),
        n_pairs=len(result.pairs),
        total_affinity=round(result.total_affinity, 6),
        min_item_affinity=round(result.min_item_affinity, 6),
        min_pair_affinity=round(result.min_pair_affinity, 6),
        conflict_violations=result.conflict_violations,
        limit_violations=result.limit_violations,
        n_conflicts=setup.n_conflicts,
        kept=len(setup.problem.fixed),
        added=added,
        removed=removed,
        understaffed=understaffed,
        experts_below_min_load=below,
        panels=current_panels(session, setup.round.id),
    )


def run_assignment(
    session: Session,
    round_id: int,
    encoder: Encoder | None,
    progress: Callable[[str], None] | None = None,
) -> AssignmentReport:
    """Solve the round's assignment optimally and store it; a draft round opens for review.

    ``progress(stage)`` is told each stage as it starts: ``"affinities"`` (items × experts),
    ``"solving"``, ``"storing"``."""
    step = progress or (lambda stage: None)
    step("affinities")
    setup = _setup(session, round_id, encoder)
    step("solving")
    result = solve(setup.problem)
    step("storing")
    added, removed = _store(session, setup, result, "solver")
    if setup.round.status == "draft":
        setup.round.status = "open"
    session.flush()
    return _report(session, setup, result, added, removed)


def _stored_assignment(setup: _Setup) -> Assignment:
    """The stored active pairs as an ``Assignment`` (only its pairs matter to re-staffing)."""
    items, experts = setup.item_index(), setup.expert_index()
    pairs, values = [], []
    for (item_id, expert_id), row in sorted(setup.rows.items()):
        if row.active and item_id in items and expert_id in experts:
            pairs.append(
                (setup.problem.items[items[item_id]], setup.problem.experts[experts[expert_id]])
            )
            values.append(row.affinity)
    return Assignment(
        pairs=pairs,
        affinities=values,
        total_affinity=sum(values),
        min_item_affinity=0.0,
        min_pair_affinity=min(values, default=0.0),
        conflict_violations=0,
        limit_violations=0,
        items_understaffed=[],
        experts_below_min_load=[],
        wall_s=0.0,
        solver="stored",
        gap_bound=None,
    )


def withdraw_expert(
    session: Session, round_id: int, expert_id: int, reason: str, encoder: Encoder | None
) -> AssignmentReport:
    """The expert leaves the round: their submitted forms stay and count, their other pairs go
    to other experts (the others' pairs stay, so panels change as little as possible)."""
    member = session.scalar(
        select(RoundExpert).where(
            RoundExpert.round_id == round_id, RoundExpert.expert_id == expert_id
        )
    )
    if member is None:
        get_round(session, round_id)
        raise NotFound(f"专家「{expert_id}」不在本批次专家库中")
    if member.status != "active":
        raise RoundStateError(f"专家「{member.expert.name}」已退出本批次评审")
    setup = _setup(session, round_id, encoder, withdrawing=expert_id)
    submitted = {
        (setup.problem.items[setup.item_index()[i]], setup.problem.experts[setup.expert_index()[e]])
        for (i, e), form in setup.forms.items()
        if form.status == "submitted"
        and setup.rows.get((i, e)) is not None
        and setup.rows[(i, e)].active
    }
    result = reassign_after_withdrawal(
        setup.problem, _stored_assignment(setup), member.expert.external_ref, submitted
    )
    added, removed = _store(session, setup, result, "reassigned")
    member.status, member.withdraw_reason, member.withdrawn_at = "withdrawn", reason, utc_now()
    session.flush()
    return _report(session, setup, result, added, removed)


def current_panels(session: Session, round_id: int) -> list[Panel]:
    """Every item with its active reviewers, their affinity and the state of their form."""
    evaluation_round = get_round(session, round_id)
    items = session.scalars(select(RoundItem).where(RoundItem.round_id == round_id).order_by("id"))
    rows = session.scalars(
        select(ReviewAssignment)
        .where(ReviewAssignment.round_id == round_id, ReviewAssignment.active.is_(True))
        .order_by(ReviewAssignment.item_id, ReviewAssignment.expert_id)
    )
    forms = {
        (f.item_id, f.expert_id): f.status
        for f in session.scalars(select(ReviewForm).where(ReviewForm.round_id == round_id))
    }
    by_item: dict[int, list[ReviewAssignment]] = {}
    for row in rows:
        by_item.setdefault(row.item_id, []).append(row)
    panels = []
    for item in items.unique():
        view = item_view(item)
        members = []
        for row in by_item.get(item.id, []):
            expert = session.get(Expert, row.expert_id)
            assert expert is not None
            status = forms.get((item.id, expert.id), "not_started")
            members.append(
                PanelMember(
                    expert.id, expert.external_ref, expert.name, row.affinity, row.source, status
                )
            )
        panels.append(
            Panel(view.id, view.ref, view.title, evaluation_round.reviewers_per_item, members)
        )
    return panels
