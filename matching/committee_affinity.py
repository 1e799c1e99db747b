"""Affinity of experts for a round's items, on 0-1.

With an encoder (the matching engine's): 0.7 × the cosine of the item's text (embedded as a
query) and the expert's profile (embedded as a passage, see ``corpus.document_text``), clipped
at 0, plus 0.3 × the share of the item's fields the expert covers. Without one (the service runs
without a loaded engine), the field share alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from matching.committee import item_view
from matching.corpus import document_text
from matching.encode import Encoder
from matching.store.models import Expert, RoundItem

__all__ = ["TEXT_WEIGHT", "affinity_matrix", "field_share"]

TEXT_WEIGHT = 0.7


def field_share(item_fields: Sequence[str], expert_fields: Sequence[str]) -> float:
    """The share (0-1) of the item's fields the expert covers; 0 when the item has none."""
    wanted = set(item_fields)
    return len(wanted & set(expert_fields)) / len(wanted) if wanted else 0.0


def affinity_matrix(
    items: Sequence[RoundItem], experts: Sequence[Expert], encoder: Encoder | None
) -> tuple[NDArray[np.float64], str]:
    """Items × experts affinities (0-1) and where they came from (``encoder:<model>`` or
    ``fields``)."""
    overlap = np.array(
        [[field_share(item_view(item).fields, e.fields) for e in experts] for item in items],
        dtype=np.float64,
    ).reshape(len(items), len(experts))
    if encoder is None or not items or not experts:
        return overlap, "fields"
    records = [item.need if item.need is not None else item.result for item in items]
    item_vectors = encoder.encode_queries([document_text(r) for r in records if r is not None])
    expert_vectors = encoder.encode_passages([document_text(expert) for expert in experts])
    cosine = np.clip(item_vectors.astype(np.float64) @ expert_vectors.astype(np.float64).T, 0, 1)
    return TEXT_WEIGHT * cosine + (1 - TEXT_WEIGHT) * overlap, f"encoder:{encoder.model_id}"
