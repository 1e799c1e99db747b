"""Near-duplicate needs: the same enterprise writing nearly the same text twice."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["shingles", "similarity"]

_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def shingles(text: str, size: int = 3) -> frozenset[str]:
    """Overlapping character ``size``-grams of the text without spaces and punctuation."""
    compact = _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())
    if len(compact) <= size:
        return frozenset([compact]) if compact else frozenset()
    return frozenset(compact[i : i + size] for i in range(len(compact) - size + 1))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity (0-1) of two shingle sets."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
