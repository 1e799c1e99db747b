"""A round's result from its submitted forms: ``matching.aggregate`` for the totals, trimmed
means, vetoes, outliers, ranking and tiers, ``matching.agreement`` for ICC and Kendall's W.

Agreement is computed on the raw form totals (0-100 points), whatever the normalisation.
Undefined statistics (too few items or scores, no variance) are None with a note.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.aggregate import CommitteeResult, ItemResult, aggregate
from matching.agreement import kendall_w_by_panel, panel_icc
from matching.committee import (
    ItemView,
    expert_labels,
    get_round,
    item_labels,
    item_view,
    policy_of,
    round_template,
)
from matching.committee_forms import Answers, response_of
from matching.store.models import Expert, ReviewAssignment, ReviewForm, RoundItem

__all__ = [
    "AgreementView",
    "ExpertScore",
    "IccView",
    "ItemResultView",
    "KendallView",
    "RoundResults",
    "round_results",
]


@dataclass(frozen=True)
class ExpertScore:
    """One expert's form on an item: ``total`` the form total, ``score`` the value used
    (normalised or not), both on 0-100 points; ``answers`` as submitted."""

    expert_id: int
    ref: str
    name: str
    total: float | None
    score: float | None
    outlier: bool
    recused: bool
    answers: Answers


@dataclass(frozen=True)
class VetoView:
    expert_id: int
    expert_name: str
    key: str
    name: str
    reason: str


@dataclass(frozen=True)
class OutlierView:
    expert_id: int
    expert_name: str
    score: float
    others_mean: float
    threshold: float


@dataclass(frozen=True)
class ItemResultView:
    """One item: ``score`` is the ranking score (the trimmed mean rounded); ``rank`` is shared
    by ties (``tied``); ``rank``/``tier`` are None for a vetoed or unscored item."""

    item: ItemView
    n_reviews: int
    score: float | None
    trimmed_mean: float | None
    mean: float | None
    sd: float | None
    rank: int | None
    tier: str | None
    tied: bool
    vetoed: bool
    vetoes: list[VetoView]
    outliers: list[OutlierView]
    reviews: list[ExpertScore]


@dataclass(frozen=True)
class IccView:
    model: str
    single: float | None
    average: float | None
    single_band: str
    average_band: str
    k: float
    n_items: int
    note: str


@dataclass(frozen=True)
class KendallView:
    """Kendall's W of one panel (items scored by exactly the same experts)."""

    experts: list[str]
    items: list[str]
    w: float | None
    chi2: float | None
    df: int
    p_value: float | None
    band: str


@dataclass(frozen=True)
class AgreementView:
    icc: IccView | None
    kendall: list[KendallView]
    notes: list[str]


@dataclass(frozen=True)
class ExpertFlagView:
    expert_id: int
    name: str
    n_items: int
    reason: str


@dataclass(frozen=True)
class RoundResults:
    """Ranked items first, then vetoed ones, then items without a valid score. ``provisional``
    while assigned forms are still outstanding."""

    round_id: int
    round_name: str
    template_name: str
    normalised: bool
    policy: dict[str, object]
    provisional: bool
    outstanding_forms: int
    n_submitted: int
    items: list[ItemResultView]
    notes: list[str]
    expert_flags: list[ExpertFlagView]
    agreement: AgreementView


def _finite(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(value, 6)


def _agreement(result: CommitteeResult) -> AgreementView:
    table = {item.item_id: dict(item.raw_scores) for item in result.items}
    notes: list[str] = []
    icc = None
    try:
        found = panel_icc(table)
    except ValueError as error:
        notes.append(f"无法计算 ICC：{error}")
    else:
        icc = IccView(
            found.model,
            _finite(found.single),
            _finite(found.average),
            found.single_band.zh,
            found.average_band.zh,
            round(found.k, 4),
            found.n_items,
            found.note,
        )
    kendall = [
        KendallView(
            list(panel.experts),
            list(panel.items),
            _finite(panel.concordance.w),
            _finite(panel.concordance.chi2),
            panel.concordance.df,
            _finite(panel.concordance.p_value),
            panel.concordance.band.zh,
        )
        for panel in kendall_w_by_panel(table)
    ]
    if not kendall:
        notes.append("没有至少 3 个项目由同一组（2 位以上）专家评分的评审组，未计算 Kendall's W")
    return AgreementView(icc, kendall, notes)


def round_results(session: Session, round_id: int, normalise: bool | None = None) -> RoundResults:
    """Aggregate the round's submitted forms under its policy (``normalise`` overrides it)."""
    evaluation_round = get_round(session, round_id)
    template = round_template(evaluation_round)
    policy = policy_of(evaluation_round.options, normalise)
    items = list(
        session.scalars(select(RoundItem).where(RoundItem.round_id == round_id).order_by("id"))
    )
    labels = item_labels(items)
    by_label = {labels[item.id]: item for item in items}
    forms = list(
        session.scalars(
            select(ReviewForm).where(
                ReviewForm.round_id == round_id, ReviewForm.status == "submitted"
            )
        )
    )
    experts = {
        e.id: e
        for e in session.scalars(select(Expert).where(Expert.id.in_({f.expert_id for f in forms})))
    }
    refs = expert_labels(list(experts.values()))
    by_ref = {ref: experts[expert_id] for expert_id, ref in refs.items()}
    items_by_id = {item.id: item for item in items}
    responses = [
        response_of(
            Answers.of(f.answers), experts[f.expert_id], items_by_id[f.item_id], "submitted"
        )
        for f in forms
    ]
    for response, form in zip(responses, forms, strict=True):
        response.item_id = labels[form.item_id]
    result = aggregate(template, responses, policy)
    answers = {(labels[f.item_id], refs[f.expert_id]): f for f in forms}
    views = [_item_view(item, by_label, by_ref, answers, result) for item in result.items]
    scored = {view.item.id for view in views}
    for label, item in by_label.items():
        if item.id not in scored:
            views.append(_unscored(item, label, by_ref, answers))
    active = session.execute(
        select(ReviewAssignment.item_id, ReviewAssignment.expert_id).where(
            ReviewAssignment.round_id == round_id, ReviewAssignment.active.is_(True)
        )
    )
    outstanding = len({(i, e) for i, e in active} - {(f.item_id, f.expert_id) for f in forms})
    flags = [
        ExpertFlagView(by_ref[f.expert_id].id, by_ref[f.expert_id].name, f.n_items, f.reason)
        for f in result.expert_flags
    ]
    return RoundResults(
        round_id=round_id,
        round_name=evaluation_round.name,
        template_name=template.name,
        normalised=policy.normalise,
        policy={
            "normalise": policy.normalise,
            "veto_quorum": policy.veto_quorum,
            "outlier_sd_factor": policy.outlier_sd_factor,
            "outlier_floor": policy.outlier_floor,
            "decimals": policy.decimals,
            "tiers": [
                {"name": t.name, "share": t.share, "min_score": t.min_score} for t in policy.tiers
            ],
        },
        provisional=outstanding > 0,
        outstanding_forms=outstanding,
        n_submitted=len(forms),
        items=views,
        notes=list(result.notes),
        expert_flags=flags,
        agreement=_agreement(result),
    )


def _scores_of(
    label: str,
    by_ref: dict[str, Expert],
    answers: dict[tuple[str, str], ReviewForm],
    used: dict[str, float],
    outliers: set[str],
) -> list[ExpertScore]:
    scores = []
    for (item_label, ref), form in sorted(answers.items()):
        if item_label != label:
            continue
        expert = by_ref[ref]
        saved = Answers.of(form.answers)
        recused = saved.declared_no_conflict is False
        score = used.get(ref)
        scores.append(
            ExpertScore(
                expert.id,
                ref,
                expert.name,
                form.total,
                None if score is None else round(score, 6),
                ref in outliers,
                recused,
                saved,
            )
        )
    return scores


def _item_view(
    item_result: ItemResult,
    by_label: dict[str, RoundItem],
    by_ref: dict[str, Expert],
    answers: dict[tuple[str, str], ReviewForm],
    result: CommitteeResult,
) -> ItemResultView:
    ranks = Counter(item.rank for item in result.ranking)
    outliers = {flag.expert_id for flag in item_result.outliers}
    return ItemResultView(
        item=item_view(by_label[item_result.item_id]),
        n_reviews=item_result.n_reviews,
        score=item_result.score if not item_result.vetoed else None,
        trimmed_mean=round(item_result.trimmed_mean, 6),
        mean=round(item_result.mean, 6),
        sd=round(item_result.sd, 6),
        rank=item_result.rank,
        tier=item_result.tier,
        tied=item_result.rank is not None and ranks[item_result.rank] > 1,
        vetoed=item_result.vetoed,
        vetoes=[
            VetoView(by_ref[v.expert_id].id, by_ref[v.expert_id].name, v.key, v.name, v.reason)
            for v in item_result.vetoes
        ],
        outliers=[
            OutlierView(
                by_ref[o.expert_id].id,
                by_ref[o.expert_id].name,
                round(o.score, 6),
                round(o.others_mean, 6),
                round(o.threshold, 6),
            )
            for o in item_result.outliers
        ],
        reviews=_scores_of(
            item_result.item_id, by_ref, answers, dict(item_result.scores), outliers
        ),
    )


def _unscored(
    item: RoundItem,
    label: str,
    by_ref: dict[str, Expert],
    answers: dict[tuple[str, str], ReviewForm],
) -> ItemResultView:
    return ItemResultView(
        item=item_view(item),
        n_reviews=0,
        score=None,
        trimmed_mean=None,
        mean=None,
        sd=None,
        rank=None,
        tier=None,
        tied=False,
        vetoed=False,
        vetoes=[],
        outliers=[],
        reviews=_scores_of(label, by_ref, answers, {}, set()),
    )
