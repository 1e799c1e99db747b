"""Near-duplicate texts: the same enterprise writing nearly the same need twice.

Texts are compared as sets of character 3-grams (Jaccard similarity). Candidate pairs come from
prefix filtering (Bayardo et al., "Scaling up all pairs similarity search", 2007): with the
tokens of every set sorted by global rarity, two sets with Jaccard ≥ t share at least one token
among the first ``|x| - ceil(t·|x|) + 1`` of each, so only sets sharing such a token are compared.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence

__all__ = ["earlier_near_duplicates", "shingles", "similarity"]

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


def earlier_near_duplicates(
    docs: Sequence[frozenset[str]], threshold: float
) -> list[tuple[int, float] | None]:
    """For each set, the most similar earlier set with similarity ≥ ``threshold`` (its index and
    the similarity), or None."""
    frequency = Counter(token for doc in docs for token in doc)
    index: dict[str, list[int]] = defaultdict(list)
    found: list[tuple[int, float] | None] = []
    for position, doc in enumerate(docs):
        ordered = sorted(doc, key=lambda token: (frequency[token], token))
        # The tolerance keeps float error (0.56 * 25 = 14.000000000000002) from shortening the
        # prefix and losing pairs; a longer prefix only adds candidates.
        prefix = ordered[: len(ordered) - math.ceil(threshold * len(ordered) - 1e-9) + 1]
        candidates = {earlier for token in prefix for earlier in index[token]}
        best: tuple[int, float] | None = None
        for earlier in sorted(candidates):
            score = similarity(doc, docs[earlier])
            if score >= threshold and (best is None or score > best[1]):
                best = (earlier, score)
        found.append(best)
        for token in prefix:
            index[token].append(position)
    return found
