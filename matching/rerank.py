"""The order of a re-ranked list: the ranking model's, with a guard for the fused top.

The ranking model re-orders the fused (dense + lexical) candidates. It leans on predicted-field
features (``docs/ranking.md``): when a need's field is predicted wrongly, it can push the best
text match far down. The guard keeps the first ``keep`` fused candidates inside the list's first
``top`` places: one the model ranked lower takes the place of the lowest-scored unprotected item
there. Rescued items go to the end of the top, in the model's order, so the scores stay
descending (a rescued item scored below every item it joins).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["guarded_order"]


def guarded_order(scores: NDArray[np.float64], keep: int, top: int) -> NDArray[np.intp]:
    """Positions of the candidates (given in fused order, best first) in the final order:
    every candidate, the first ``top`` guarded as described in the module docstring
    (``keep`` 0: the model's order alone)."""
    order = np.argsort(-scores, kind="stable")
    top = min(top, len(order))
    keep = min(keep, top)
    head, tail = order[:top].tolist(), order[top:].tolist()
    rescued = [i for i in tail if i < keep]  # protected but below the top, in model order
    if not rescued:
        return order
    # There is always room: the head holds at most keep - len(rescued) protected items.
    unprotected = [i for i in head if i >= keep]
    dropped = unprotected[len(unprotected) - len(rescued) :]  # the lowest-scored ones
    out = set(dropped) | set(rescued)
    final = [i for i in head if i not in out] + rescued + dropped
    final += [i for i in tail if i not in out]
    return np.asarray(final, dtype=np.intp)
