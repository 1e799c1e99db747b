"""Pair features: what the ranking model knows about a query (a need, or a free-text question)
and one retrieved item (a result).

Every feature is documented in ``FEATURES`` (name → meaning); the matrix columns follow its
order. A feature that cannot be known for a pair (a need without a region, a result without a
price) is NaN, which the gradient-boosted trees handle as "unknown" rather than as a value.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from matching.fields import field_code_list
from matching.fusion import FusedCandidate
from matching.index import VectorIndex
from matching.lexical import LexicalIndex
from matching.store.models import Need, Result
from matching.vocab import Maturity

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "Profile",
    "Signals",
    "candidate_features",
    "feature_matrix",
    "profile_of",
]

FEATURES: dict[str, str] = {
    "dense_cosine": "cosine of the query's and the item's embeddings (multilingual-e5-small)",
    "dense_feedback": "dense score after pseudo-relevance feedback (query + top fused items)",
    "dense_rank": "log2(1 + rank) in the dense list; NaN when the dense side did not retrieve it",
    "lexical_score": "BM25 (jieba words + character n-grams) relative to the query's best, 0-1",
    "lexical_rank": "log2(1 + rank) in the BM25 list; NaN when BM25 did not retrieve it",
    "fused_score": "reciprocal-rank fusion score: the cold-start order",
    "fused_rank": "log2(1 + rank) in the fused list",
    "cosine_gap": "best cosine in the list minus this item's: how far behind the leader it is",
    "key_term_coverage": "idf-weighted share of the query's key terms (jieba) the item contains",
    "keyword_hits": "share of the item's declared keywords that appear in the query text",
    "field_agreement": "declared fields: 1 same field, 0.5 same category (门类), 0 otherwise",
    "field_support": "predicted field: 1/rank-weighted share of the top 10 fused items that "
    "share a field with this item (used where the query has no field)",
    "neighbour_similarity": "cosine of the item with the mean of the top 3 fused items",
    "same_province": "1 when query and item are in the same province, 0 if not, NaN unknown",
    "same_city": "1 when query and item are in the same city, 0 if not, NaN unknown",
    "maturity_fit": "a need to adopt (成果引进转化) wants TRL ≥ 6: min(1, TRL/6); other needs: 1",
    "cooperation_overlap": "Jaccard overlap of the cooperation modes both sides accept",
    "budget_fit": "1 when the asking price fits the budget, else budget / price (0-1)",
    "team_track_record": "log(1 + signed deals of this result)",
    "institution_track_record": "log(1 + signed deals of the item's institution)",
    "age_years": "years since the item was last updated",
    "popularity": "log(1 + times the item was shown): damps items that top every list",
}
FEATURE_NAMES: list[str] = list(FEATURES)

_NEIGHBOURS = 3
_FIELD_VOTERS = 10
_ADOPTION_TRL = 6


@dataclass(frozen=True)
class Profile:
    """What the features read of one side of a pair. ``fields`` are field codes (or, for
    benchmark data, discipline names), ``field_groups`` their categories."""

    kind: str = "text"  # "need", "result" or "text"
    fields: frozenset[str] = frozenset()
    field_groups: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    province: str = ""
    city: str = ""
    need_type: str | None = None
    trl: int | None = None
    cooperation_modes: frozenset[str] = frozenset()
    budget_max: float | None = None
    price_min: float | None = None
    organization_id: int | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class Signals:
    """Label-free counts about the items: times shown, signed deals per item and per
    organization, and the clock for ages."""

    shown: Mapping[int, int] = field(default_factory=dict)
    signed_by_item: Mapping[int, int] = field(default_factory=dict)
    signed_by_organization: Mapping[int, int] = field(default_factory=dict)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def _log_rank(rank: int | None) -> float:
    return math.log2(1 + rank) if rank is not None else math.nan


def _field_agreement(query: Profile, item: Profile) -> float:
    if not query.fields or not item.fields:
        return math.nan
    if query.fields & item.fields:
        return 1.0
    if query.field_groups & item.field_groups:
        return 0.5
    return 0.0


def _same(a: str, b: str) -> float:
    return float(a == b) if a and b else math.nan


def _maturity_fit(need: Profile, result: Profile) -> float:
    if need.need_type is None or result.trl is None:
        return math.nan
    if need.need_type == "adoption":
        return min(1.0, result.trl / _ADOPTION_TRL)
    return 1.0


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return math.nan
    return len(a & b) / len(a | b)


def _budget_fit(need: Profile, result: Profile) -> float:
    budget, price = need.budget_max, result.price_min
    if budget is None or price is None:
        return math.nan
    if price <= budget or price <= 0:
        return 1.0
    return max(0.0, budget / price)


def _age_years(item: Profile, now: dt.datetime) -> float:
    if item.updated_at is None:
        return math.nan
    updated = item.updated_at
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=dt.UTC)
    return max(0.0, (now - updated).total_seconds() / (365.25 * 86400))


def _keyword_hits(query_text: str, item: Profile) -> float:
    keywords = [word for word in item.keywords if len(word) > 1]
    if not keywords:
        return math.nan
    return sum(word in query_text for word in keywords) / len(keywords)


def feature_matrix(
    query_text: str,
    query: Profile,
    candidates: Sequence[FusedCandidate],
    items: Mapping[int, Profile],
    cosines: NDArray[np.float32] | NDArray[np.float64],
    neighbour_cosines: NDArray[np.float32] | NDArray[np.float64],
    coverage: NDArray[np.float64],
    signals: Signals,
) -> NDArray[np.float64]:
    """One row per candidate (in the given, fused order), one column per ``FEATURES`` entry.

    ``cosines``: each candidate's cosine with the query; ``neighbour_cosines``: with the mean
    of the top fused items; ``coverage``: ``LexicalIndex.term_coverage`` of the query's key
    terms."""
    rows = np.full((len(candidates), len(FEATURES)), np.nan)
    if not candidates:
        return rows
    profiles = [items.get(candidate.id, Profile()) for candidate in candidates]
    voters = profiles[:_FIELD_VOTERS]
    voter_weights = [1.0 / rank for rank in range(1, len(voters) + 1)]
    weight_total = sum(voter_weights)
    best_cosine = float(np.max(cosines))
    for place, (candidate, item) in enumerate(zip(candidates, profiles, strict=True)):
        need, result = (item, query) if query.kind == "result" else (query, item)
        support = sum(
            weight
            for weight, voter in zip(voter_weights, voters, strict=True)
            if voter.fields & item.fields
        )
        rows[place] = [
            float(cosines[place]),
            candidate.dense_score if candidate.dense_score is not None else math.nan,
            _log_rank(candidate.dense_rank),
            candidate.lexical_score if candidate.lexical_score is not None else 0.0,
            _log_rank(candidate.lexical_rank),
            candidate.fused,
            _log_rank(place + 1),
            best_cosine - float(cosines[place]),
            float(coverage[place]),
            _keyword_hits(query_text, item),
            _field_agreement(query, item),
            support / weight_total if item.fields else math.nan,
            float(neighbour_cosines[place]),
            _same(query.province, item.province),
            _same(query.city, item.city),
            _maturity_fit(need, result),
            _overlap(query.cooperation_modes, item.cooperation_modes),
            _budget_fit(need, result),
            math.log1p(signals.signed_by_item.get(candidate.id, 0)),
            math.log1p(signals.signed_by_organization.get(item.organization_id or -1, 0)),
            _age_years(item, signals.now),
            math.log1p(signals.shown.get(candidate.id, 0)),
        ]
    return rows


def candidate_features(
    query_text: str,
    query_vector: NDArray[np.float32],
    query: Profile,
    candidates: Sequence[FusedCandidate],
    items: Mapping[int, Profile],
    vectors: VectorIndex,
    lexical: LexicalIndex,
    signals: Signals,
) -> NDArray[np.float64]:
    """``feature_matrix`` for a fused candidate list, reading vectors and key terms from the
    corpus' indexes."""
    if not candidates:
        return np.zeros((0, len(FEATURES)))
    ids = [candidate.id for candidate in candidates]
    item_vectors = vectors.vectors(ids).astype(np.float64)
    cosines = item_vectors @ query_vector.astype(np.float64)
    centre = item_vectors[:_NEIGHBOURS].mean(axis=0)
    norm = float(np.linalg.norm(centre))
    neighbour_cosines = item_vectors @ (centre / norm) if norm > 0 else np.zeros(len(ids))
    coverage = lexical.term_coverage(lexical.key_terms(query_text), ids)
    return feature_matrix(
        query_text, query, candidates, items, cosines, neighbour_cosines, coverage, signals
    )


def profile_of(entity: Need | Result) -> Profile:
    """The features' view of a stored need or result."""
    codes = field_code_list()
    fields = frozenset(entity.fields)
    groups = frozenset(codes[code].category for code in fields if code in codes)
    common = {
        "fields": fields,
        "field_groups": groups,
        "keywords": tuple(entity.keywords),
        "province": entity.province,
        "city": entity.city,
        "cooperation_modes": frozenset(entity.cooperation_modes),
        "updated_at": entity.updated_at,
    }
    if isinstance(entity, Need):
        return Profile(
            kind="need",
            need_type=entity.need_type,
            budget_max=entity.budget_max,
            organization_id=entity.enterprise_id,
            **common,  # type: ignore[arg-type]
        )
    trl = entity.trl
    if trl is None and entity.maturity:
        low, high = Maturity(entity.maturity).trl_range
        trl = (low + high) // 2
    return Profile(
        kind="result",
        trl=trl,
        price_min=entity.price_min,
        organization_id=entity.institution_id,
        **common,  # type: ignore[arg-type]
    )
