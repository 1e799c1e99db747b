"""Fusing the dense and lexical candidate lists into one order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FusedCandidate", "fuse"]


@dataclass
class FusedCandidate:
    """One candidate with each retriever's score and 1-based rank (None where it was not
    retrieved), the fused score used for ordering, and (filled in for the final list) the
    plain cosine of query and item."""

    id: int
    fused: float
    dense_score: float | None = None
    dense_rank: int | None = None
    lexical_score: float | None = None
    lexical_rank: int | None = None
    cosine: float | None = None


def _minmax(hits: Sequence[tuple[int, float]]) -> dict[int, float]:
    if not hits:
        return {}
    scores = [score for _, score in hits]
    low, high = min(scores), max(scores)
    span = high - low
    return {doc: (score - low) / span if span > 0 else 1.0 for doc, score in hits}


def fuse(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    method: str = "rrf",
    rrf_k: int = 60,
    dense_weight: float = 0.5,
) -> list[FusedCandidate]:
    """Fuse two best-first lists of (id, score).

    ``rrf``: Σ weight / (rrf_k + rank), with weights ``dense_weight`` and ``1 - dense_weight``
    (0.5 each is plain reciprocal-rank fusion, up to a constant). ``weighted``: the weighted sum
    of min-max normalised scores, a missing score counting 0. Ties break by id for a stable order.
    """
    candidates: dict[int, FusedCandidate] = {}
    for rank, (doc, score) in enumerate(dense, start=1):
        candidates[doc] = FusedCandidate(doc, 0.0, dense_score=score, dense_rank=rank)
    for rank, (doc, score) in enumerate(lexical, start=1):
        candidate = candidates.setdefault(doc, FusedCandidate(doc, 0.0))
        candidate.lexical_score, candidate.lexical_rank = score, rank
    lexical_weight = 1.0 - dense_weight
    if method == "rrf":
        for candidate in candidates.values():
            if candidate.dense_rank is not None:
                candidate.fused += dense_weight / (rrf_k + candidate.dense_rank)
            if candidate.lexical_rank is not None:
                candidate.fused += lexical_weight / (rrf_k + candidate.lexical_rank)
    elif method == "weighted":
        dense_norm, lexical_norm = _minmax(dense), _minmax(lexical)
        for candidate in candidates.values():
            candidate.fused = dense_weight * dense_norm.get(candidate.id, 0.0) + (
                lexical_weight * lexical_norm.get(candidate.id, 0.0)
            )
    else:
        raise ValueError(f"unknown fusion method {method!r}: use 'rrf' or 'weighted'")
    return sorted(candidates.values(), key=lambda c: (-c.fused, c.id))
