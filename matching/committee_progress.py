"""Progress of a round for organisers: submitted / draft / not started per expert and per item,
and which experts are due a reminder (forms outstanding and the deadline near or past)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.committee import get_round, item_view
from matching.store.models import ReviewAssignment, ReviewForm, RoundExpert, RoundItem

__all__ = ["Counts", "ExpertProgress", "ItemProgress", "ProgressView", "progress"]


@dataclass(frozen=True)
class Counts:
    assigned: int = 0
    submitted: int = 0
    draft: int = 0
    not_started: int = 0

    def plus(self, status: str) -> Counts:
        return Counts(
            self.assigned + 1,
            self.submitted + (status == "submitted"),
            self.draft + (status == "draft"),
            self.not_started + (status == "not_started"),
        )


@dataclass(frozen=True)
class ExpertProgress:
    """An expert's forms; ``reminder_due`` when some are not submitted and the deadline is
    within the reminder window or past; ``outstanding`` lists those items' ids."""

    expert_id: int
    ref: str
    name: str
    contact_email: str
    contact_phone: str
    pool_status: str
    counts: Counts
    outstanding: list[int]
    reminder_due: bool


@dataclass(frozen=True)
class ItemProgress:
    item_id: int
    ref: str
    title: str
    required: int
    counts: Counts


@dataclass(frozen=True)
class ProgressView:
    round_id: int
    deadline: dt.date | None
    today: dt.date
    days_left: int | None
    overdue: bool
    remind_within_days: int
    totals: Counts
    experts: list[ExpertProgress]
    items: list[ItemProgress]
    reminders: list[ExpertProgress]


def progress(
    session: Session, round_id: int, today: dt.date, remind_within_days: int = 3
) -> ProgressView:
    """Submitted / draft / not started per expert and per item, and who should be reminded."""
    evaluation_round = get_round(session, round_id)
    statuses = {
        (f.item_id, f.expert_id): f.status
        for f in session.scalars(select(ReviewForm).where(ReviewForm.round_id == round_id))
    }
    rows = list(
        session.scalars(
            select(ReviewAssignment).where(
                ReviewAssignment.round_id == round_id, ReviewAssignment.active.is_(True)
            )
        )
    )
    deadline = evaluation_round.deadline
    days_left = (deadline - today).days if deadline is not None else None
    window = days_left is not None and days_left <= remind_within_days
    totals = Counts()
    per_item: dict[int, Counts] = {}
    per_expert: dict[int, Counts] = {}
    outstanding: dict[int, list[int]] = {}
    for row in rows:
        status = statuses.get((row.item_id, row.expert_id), "not_started")
        totals = totals.plus(status)
        per_item[row.item_id] = per_item.get(row.item_id, Counts()).plus(status)
        per_expert[row.expert_id] = per_expert.get(row.expert_id, Counts()).plus(status)
        if status != "submitted":
            outstanding.setdefault(row.expert_id, []).append(row.item_id)
    members = session.scalars(
        select(RoundExpert).where(RoundExpert.round_id == round_id).order_by(RoundExpert.id)
    )
    experts = []
    for member in members.unique():
        expert = member.expert
        waiting = sorted(outstanding.get(expert.id, []))
        experts.append(
            ExpertProgress(
                expert.id,
                expert.external_ref,
                expert.name,
                expert.contact_email,
                expert.contact_phone,
                member.status,
                per_expert.get(expert.id, Counts()),
                waiting,
                bool(waiting) and window,
            )
        )
    items = []
    for item in session.scalars(
        select(RoundItem).where(RoundItem.round_id == round_id).order_by(RoundItem.id)
    ).unique():
        view = item_view(item)
        counts = per_item.get(item.id, Counts())
        items.append(
            ItemProgress(view.id, view.ref, view.title, evaluation_round.reviewers_per_item, counts)
        )
    return ProgressView(
        round_id=round_id,
        deadline=deadline,
        today=today,
        days_left=days_left,
        overdue=days_left is not None and days_left < 0,
        remind_within_days=remind_within_days,
        totals=totals,
        experts=experts,
        items=items,
        reminders=[expert for expert in experts if expert.reminder_due],
    )
