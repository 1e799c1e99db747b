"""From experts' forms to the committee's result: per item the trimmed mean, mean, standard
deviation and number of reviews, vetoes, outlier flags, a competition ranking and prize tiers.

All scores are form totals on 0-100 points (``weighted_total``). Standard deviations are sample
standard deviations (n − 1 in the denominator).

- **Ranking score**: the trimmed mean (with at least 5 reviews the single highest and single
  lowest are dropped; with fewer it is the plain mean), rounded to ``decimals`` places. Items
  are compared on that rounded value, so scores that print the same are tied.
- **Normalisation** (optional, per expert): an expert's totals over all items they scored
  (vetoed items included) are standardised, z = (x − m_e) / s_e, and mapped back to the round,
  x' = M + S · z, where m_e, s_e are the expert's mean and sd and M, S the mean and sd of all
  totals in the round. Statistics, outliers and the ranking then use x'. Experts with
  fewer than ``min_items_to_normalise`` items keep their raw totals and are flagged; an expert
  whose totals are all equal (s_e = 0) gets M for every item and is flagged. Normalised scores
  are on the round's scale and may fall slightly outside 0-100.
- **Vetoes**: an item vetoed by at least ``veto_quorum`` experts is left out of the ranking and
  carries every veto with its reason; vetoes below the quorum are shown but do not exclude.
- **Outliers**: expert e is flagged on an item when |x_e − mean of the others| >
  max(``outlier_sd_factor`` × sd of the others, ``outlier_floor``); needs at least 3 reviews.
- **Ties**: competition ranking (1, 2, 2, 4). Tiers by share take the next share of ranked
  items (cumulative cut-offs, rounded half up); tied items share their first position's tier,
  so a tie across a cut-off puts all of them in the higher tier and a note says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from statistics import fmean, stdev

from matching.evaluation_form import (
    FormResponse,
    FormTemplate,
    InvalidResponse,
    validate_response,
    weighted_total,
)

__all__ = [
    "DEFAULT_TIERS",
    "CommitteePolicy",
    "CommitteeResult",
    "ExpertFlag",
    "ItemResult",
    "OutlierFlag",
    "Review",
    "Tier",
    "VetoNote",
    "aggregate",
    "aggregate_reviews",
    "assign_tiers",
    "competition_ranks",
    "normalise_by_expert",
    "reviews_from_responses",
    "trimmed_mean",
]


@dataclass(frozen=True)
class Tier:
    """A prize tier: the next ``share`` (0-1) of ranked items, or items scoring ≥ ``min_score``."""

    name: str
    share: float | None = None
    min_score: float | None = None


DEFAULT_TIERS = (Tier("一等", share=0.1), Tier("二等", share=0.2), Tier("三等", share=0.3))


@dataclass(frozen=True)
class CommitteePolicy:
    """How the committee aggregates; see the module docstring for each rule."""

    normalise: bool = False
    min_items_to_normalise: int = 3
    veto_quorum: int = 1
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    outlier_sd_factor: float = 2.0
    outlier_floor: float = 15.0
    decimals: int = 2

    def __post_init__(self) -> None:
        if self.veto_quorum < 1:
            raise ValueError("否决生效所需专家人数（veto_quorum）至少为 1")
        if self.min_items_to_normalise < 2:
            raise ValueError("标准化所需最少评审项数至少为 2")
        if self.outlier_sd_factor <= 0 or self.outlier_floor < 0:
            raise ValueError("离群判定的倍数须为正数、下限不能为负")
        _check_tiers(self.tiers)


def _check_tiers(tiers: Sequence[Tier]) -> None:
    by_share = [tier.share is not None and tier.min_score is None for tier in tiers]
    by_score = [tier.min_score is not None and tier.share is None for tier in tiers]
    if tiers and not (all(by_share) or all(by_score)):
        raise ValueError("各等级须统一按比例（share）或统一按分数线（min_score）划分")
    if tiers and all(by_share):
        shares = [tier.share for tier in tiers if tier.share is not None]
        if any(share <= 0 for share in shares) or sum(shares) > 1 + 1e-9:
            raise ValueError("各等级比例须为正数，合计不超过 1")
    if tiers and all(by_score):
        lines = [tier.min_score for tier in tiers if tier.min_score is not None]
        if any(high <= low for high, low in pairwise(lines)):
            raise ValueError("各等级分数线须从高到低严格递减")


@dataclass(frozen=True)
class Review:
    """One expert's total (0-100) for one item and the vetoes they raised (veto key → reason)."""

    expert_id: str
    item_id: str
    total: float
    vetoes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VetoNote:
    """A veto raised on an item: by whom, which (key and name) and why."""

    expert_id: str
    key: str
    name: str
    reason: str


@dataclass(frozen=True)
class OutlierFlag:
    """An expert's score far from the rest of the panel (points, 0-100)."""

    expert_id: str
    score: float
    others_mean: float
    threshold: float


@dataclass(frozen=True)
class ExpertFlag:
    """Something the committee should know about an expert's scores (Chinese ``reason``)."""

    expert_id: str
    n_items: int
    reason: str


@dataclass(frozen=True)
class ItemResult:
    """One item's result. ``scores`` are the totals used (normalised when the policy says so),
    ``raw_scores`` the form totals; all in points. ``rank``/``tier`` are None when vetoed or
    (tier only) below the last tier."""

    item_id: str
    n_reviews: int
    scores: Mapping[str, float]
    raw_scores: Mapping[str, float]
    mean: float
    trimmed_mean: float
    sd: float
    score: float
    outliers: tuple[OutlierFlag, ...]
    vetoes: tuple[VetoNote, ...]
    vetoed: bool
    rank: int | None = None
    tier: str | None = None


@dataclass(frozen=True)
class CommitteeResult:
    """Ranked items first (in rank order, ties by item id), then vetoed items; flags and notes."""

    items: tuple[ItemResult, ...]
    policy: CommitteePolicy
    expert_flags: tuple[ExpertFlag, ...] = ()
    notes: tuple[str, ...] = ()
    recusals: tuple[tuple[str, str], ...] = ()

    @property
    def ranking(self) -> tuple[ItemResult, ...]:
        return tuple(item for item in self.items if not item.vetoed)

    @property
    def vetoed(self) -> tuple[ItemResult, ...]:
        return tuple(item for item in self.items if item.vetoed)

    def item(self, item_id: str) -> ItemResult:
        for item in self.items:
            if item.item_id == item_id:
                return item
        raise KeyError(item_id)


def trimmed_mean(values: Sequence[float]) -> float:
    """The mean without the single highest and single lowest value when there are ≥ 5."""
    if not values:
        raise ValueError("没有评分，无法计算平均分")
    if len(values) < 5:
        return fmean(values)
    ordered = sorted(values)
    return fmean(ordered[1:-1])


def competition_ranks(scores: Sequence[float]) -> list[int]:
    """Rank of each score, highest first; equal scores share a rank (1, 2, 2, 4)."""
    return [1 + sum(other > score for other in scores) for score in scores]


def _sd(values: Sequence[float]) -> float:
    return stdev(values) if len(values) > 1 else 0.0


def normalise_by_expert(
    reviews: Sequence[Review], min_items: int = 3
) -> tuple[dict[tuple[str, str], float], list[ExpertFlag]]:
    """(expert, item) → x' = M + S · (x − m_e) / s_e, and the experts left out or flagged."""
    totals = [review.total for review in reviews]
    round_mean, round_sd = fmean(totals), _sd(totals)
    by_expert: dict[str, list[Review]] = defaultdict(list)
    for review in reviews:
        by_expert[review.expert_id].append(review)
    scores, flags = {}, []
    for expert, own in sorted(by_expert.items()):
        values = [review.total for review in own]
        mean, sd = fmean(values), _sd(values)
        if len(own) < min_items:
            flags.append(ExpertFlag(expert, len(own), f"评审项目少于 {min_items} 项，未标准化"))
        elif sd == 0:
            flags.append(ExpertFlag(expert, len(own), "所评各项总分相同，标准化后均取全场平均分"))
        for review in own:
            key = (expert, review.item_id)
            if len(own) < min_items:
                scores[key] = review.total
            else:
                z = (review.total - mean) / sd if sd > 0 else 0.0
                scores[key] = round_mean + round_sd * z
    return scores, flags


def _outliers(scores: Mapping[str, float], factor: float, floor: float) -> list[OutlierFlag]:
    if len(scores) < 3:
        return []
    flags = []
    for expert, score in scores.items():
        others = [value for other, value in scores.items() if other != expert]
        others_mean = fmean(others)
        threshold = max(factor * stdev(others), floor)
        if abs(score - others_mean) > threshold:
            flags.append(OutlierFlag(expert, score, others_mean, threshold))
    return flags


def _item_result(
    item_id: str,
    reviews: Sequence[Review],
    scores: Mapping[tuple[str, str], float],
    policy: CommitteePolicy,
    veto_names: Mapping[str, str],
) -> ItemResult:
    used = {review.expert_id: scores[(review.expert_id, item_id)] for review in reviews}
    values = list(used.values())
    vetoes = tuple(
        VetoNote(review.expert_id, key, veto_names.get(key, key), reason)
        for review in reviews
        for key, reason in sorted(review.vetoes.items())
    )
    vetoing_experts = {note.expert_id for note in vetoes}
    return ItemResult(
        item_id=item_id,
        n_reviews=len(reviews),
        scores=used,
        raw_scores={review.expert_id: review.total for review in reviews},
        mean=fmean(values),
        trimmed_mean=trimmed_mean(values),
        sd=_sd(values),
        score=round(trimmed_mean(values), policy.decimals),
        outliers=tuple(_outliers(used, policy.outlier_sd_factor, policy.outlier_floor)),
        vetoes=vetoes,
        vetoed=len(vetoing_experts) >= policy.veto_quorum,
    )


def _share_cuts(tiers: Sequence[Tier], n: int) -> list[int]:
    """Cumulative positions where each tier ends, rounded half up."""
    cuts, cumulative = [], 0.0
    for tier in tiers:
        cumulative += tier.share or 0.0
        cuts.append(min(n, math.floor(cumulative * n + 0.5 + 1e-9)))
    return cuts


def assign_tiers(
    scores: Sequence[float], ranks: Sequence[int], tiers: Sequence[Tier]
) -> tuple[list[str | None], list[str]]:
    """The tier of each ranked item (scores sorted highest first, with their competition ranks)
    and a note for every tie that crosses a share cut-off."""
    if not tiers:
        return [None] * len(scores), []
    if tiers[0].min_score is not None:
        lines = [(tier.name, tier.min_score or 0.0) for tier in tiers]
        by_score = [next((name for name, line in lines if s >= line), None) for s in scores]
        return by_score, []
    cuts = _share_cuts(tiers, len(scores))
    names = [
        next((t.name for t, cut in zip(tiers, cuts, strict=True) if r <= cut), None) for r in ranks
    ]
    notes = []
    for tier, cut in zip(tiers, cuts, strict=True):
        if 0 < cut < len(ranks) and ranks[cut - 1] == ranks[cut]:
            tied = ranks.count(ranks[cut])
            actual = names.count(tier.name)
            notes.append(
                f"第 {ranks[cut]} 名并列 {tied} 项跨越「{tier.name}」名额线（按比例 {cut} 项），"
                f"并列项目全部列入「{tier.name}」，该等级实有 {actual} 项"
            )
    return names, notes


def _rank(items: list[ItemResult], tiers: Sequence[Tier]) -> tuple[list[ItemResult], list[str]]:
    ordered = sorted(items, key=lambda item: (-item.score, item.item_id))
    scores = [item.score for item in ordered]
    ranks = competition_ranks(scores)
    names, tier_notes = assign_tiers(scores, ranks, tiers)
    notes = []
    for rank in sorted(set(ranks)):
        tied = [item.item_id for item, r in zip(ordered, ranks, strict=True) if r == rank]
        if len(tied) > 1:
            notes.append(f"第 {rank} 名并列（{ordered[rank - 1].score:g} 分）：{'、'.join(tied)}")
    ranked = [
        replace(item, rank=rank, tier=name)
        for item, rank, name in zip(ordered, ranks, names, strict=True)
    ]
    return ranked, notes + tier_notes


def aggregate_reviews(
    reviews: Sequence[Review],
    policy: CommitteePolicy | None = None,
    veto_names: Mapping[str, str] | None = None,
) -> CommitteeResult:
    """Aggregate reviews into item results, a ranking and tiers (rules in the module docstring).

    ``veto_names`` maps veto keys to the names shown in the notes. Raises ``ValueError`` when an
    expert has two reviews of one item.
    """
    policy = policy or CommitteePolicy()
    seen: set[tuple[str, str]] = set()
    by_item: dict[str, list[Review]] = defaultdict(list)
    for review in reviews:
        key = (review.expert_id, review.item_id)
        if key in seen:
            raise ValueError(f"专家「{review.expert_id}」对「{review.item_id}」有多条评分")
        seen.add(key)
        by_item[review.item_id].append(review)
    scores = {(r.expert_id, r.item_id): r.total for r in reviews}
    flags: list[ExpertFlag] = []
    if policy.normalise and reviews:
        scores, flags = normalise_by_expert(reviews, policy.min_items_to_normalise)
    names = veto_names or {}
    items = [_item_result(i, rs, scores, policy, names) for i, rs in sorted(by_item.items())]
    ranked, notes = _rank([item for item in items if not item.vetoed], policy.tiers)
    vetoed = [item for item in items if item.vetoed]
    for item in vetoed:
        reasons = "；".join(f"{v.name}（{v.expert_id}：{v.reason}）" for v in item.vetoes)
        notes.append(f"「{item.item_id}」被否决，不参与排名：{reasons}")
    return CommitteeResult(tuple(ranked + vetoed), policy, tuple(flags), tuple(notes))


def reviews_from_responses(
    template: FormTemplate, responses: Iterable[FormResponse]
) -> list[Review]:
    """Submitted forms without a declared conflict, as reviews; drafts and recusals are skipped.

    Raises ``InvalidResponse`` when a submitted form (a recusal too) fails ``validate_response``.
    """
    reviews = []
    for response in responses:
        if response.status != "submitted":
            continue
        errors = validate_response(template, response)
        if errors:
            where = f"专家「{response.expert_id}」对「{response.item_id}」的评审表有误"
            raise InvalidResponse(where, errors)
        if response.has_conflict:
            continue
        total = weighted_total(template, response)
        reviews.append(Review(response.expert_id, response.item_id, total, dict(response.vetoes)))
    return reviews


def aggregate(
    template: FormTemplate,
    responses: Sequence[FormResponse],
    policy: CommitteePolicy | None = None,
) -> CommitteeResult:
    """The committee's result from the forms of one round (see ``aggregate_reviews``).

    Declared conflicts are listed as recusals; an item whose every submitted form is a recusal
    gets a note and no result.
    """
    submitted = [response for response in responses if response.status == "submitted"]
    result = aggregate_reviews(
        reviews_from_responses(template, submitted), policy, template.veto_names
    )
    recusals = tuple(sorted((r.expert_id, r.item_id) for r in submitted if r.has_conflict))
    scored = {item.item_id for item in result.items}
    unscored = sorted({item for _, item in recusals} - scored)
    notes = [f"「{item}」的评审专家均已回避，无有效评分" for item in unscored]
    return replace(result, recusals=recusals, notes=result.notes + tuple(notes))
