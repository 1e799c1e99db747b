"""Inter-rater agreement of the committee: intraclass correlations and Kendall's W.

- **ICC** from the ANOVA mean squares of an items × raters matrix (Shrout & Fleiss 1979;
  McGraw & Wong 1996). When every expert scored every item, ``panel_icc`` uses the two-way
  random-effects, absolute-agreement model: ICC(2,1) for one expert's score and ICC(2,k) for
  the mean of k experts (McGraw & Wong's ICC(A,1), ICC(A,k)). When items were scored by
  different experts (the usual case: 5 reviewers per item from a larger pool), rater effects
  cannot be separated, so it uses the one-way model, Shrout & Fleiss case 1: ICC(1,1) and
  ICC(1,k). That is the same as an items × "reviewer slot" matrix, whose slot order does not
  matter. With unequal numbers of reviews per item, k is the usual k0 = (N − Σnᵢ²/N)/(g − 1)
  for g items and N scores, and ICC(1,k) is the reliability of a mean of k0 scores.
  Bands after Koo & Li (2016): < 0.5 poor, 0.5-0.75 moderate, 0.75-0.9 good, > 0.9 excellent
  (they advise judging the 95 % confidence interval; we band the point estimate).
- **Kendall's W** over a complete items × raters matrix, each rater's scores ranked with mid-ranks
  for ties and the tie correction W = 12 S / (m²(n³ − n) − m Σ T), T = Σ(t³ − t) per rater;
  χ² = m(n − 1) W with n − 1 degrees of freedom (the Friedman statistic). For incomplete designs
  ``kendall_w_by_panel`` computes W per panel: the items scored by exactly the same experts.
  Bands after Schmidt (1997, Decision Sciences 28(3)), who reads W = .1 as very weak, .3 weak,
  .5 moderate, .7 strong and .9 unusually strong agreement; we take each value as the lower
  bound of its band and call W < .1 no agreement.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats  # type: ignore[import-untyped]

__all__ = [
    "Band",
    "Concordance",
    "IccResult",
    "MeanSquares",
    "PanelConcordance",
    "ScoreTable",
    "icc_band",
    "icc_forms",
    "icc_one_way",
    "icc_two_way",
    "kendall_w",
    "kendall_w_by_panel",
    "mean_squares",
    "panel_icc",
    "w_band",
]

ScoreTable = Mapping[str, Mapping[str, float]]
"""Item id → expert id → score (e.g. ``{r.item_id: r.scores for r in result.items}``)."""


@dataclass(frozen=True)
class Band:
    """An interpretation of an agreement value, in Chinese and English."""

    zh: str
    en: str


_UNDEFINED = Band("无法计算", "undefined")
_ICC_BANDS = (
    (0.9, Band("优秀", "excellent")),
    (0.75, Band("良好", "good")),
    (0.5, Band("中等", "moderate")),
    (-math.inf, Band("差", "poor")),
)
_W_BANDS = (
    (0.9, Band("极强", "unusually strong")),
    (0.7, Band("强", "strong")),
    (0.5, Band("中等", "moderate")),
    (0.3, Band("弱", "weak")),
    (0.1, Band("很弱", "very weak")),
    (-math.inf, Band("无一致", "none")),
)


def icc_band(value: float) -> Band:
    """Koo & Li (2016): < .5 poor, .5-.75 moderate, .75-.9 good, > .9 excellent."""
    if math.isnan(value):
        return _UNDEFINED
    if value > 0.9:
        return _ICC_BANDS[0][1]
    return next(band for low, band in _ICC_BANDS[1:] if value >= low)


def w_band(value: float) -> Band:
    """Schmidt (1997): ≥ .9 unusually strong, ≥ .7 strong, ≥ .5 moderate, ≥ .3 weak, ≥ .1 very
    weak, below that none."""
    if math.isnan(value):
        return _UNDEFINED
    return next(band for low, band in _W_BANDS if value >= low)


def _ratio(numerator: float, denominator: float, scale: float = 0.0) -> float:
    """numerator / denominator, NaN when the denominator is 0 up to rounding noise relative to
    ``scale`` (the size of the terms it was computed from)."""
    return math.nan if abs(denominator) <= 1e-12 * scale else numerator / denominator


def _clean(sum_of_squares: float, total: float) -> float:
    """Rounding noise (a tiny or slightly negative sum of squares) to 0, so that zero
    denominators are found whatever the order of rows and columns."""
    return 0.0 if sum_of_squares <= 1e-12 * total else sum_of_squares


def _complete_matrix(matrix: ArrayLike) -> NDArray[np.float64]:
    data = np.asarray(matrix, dtype=float)
    if data.ndim != 2 or data.shape[0] < 2 or data.shape[1] < 2:
        raise ValueError("评分矩阵须为「项目 × 专家」二维表，至少 2 个项目、2 位专家")
    if not np.isfinite(data).all():
        raise ValueError("评分矩阵不完整（有缺失或非数值）；不完整设计请用 panel_icc")
    return data


@dataclass(frozen=True)
class MeanSquares:
    """Two-way ANOVA mean squares of n items × k raters: between items (rows), between raters
    (columns), residual (error) and within items (columns + error, the one-way residual)."""

    rows: float
    columns: float
    error: float
    within: float
    n: int
    k: int


def mean_squares(matrix: ArrayLike) -> MeanSquares:
    """The mean squares of a complete items × raters matrix."""
    data = _complete_matrix(matrix)
    n, k = data.shape
    grand = float(data.mean())
    ss_total = float(((data - grand) ** 2).sum())
    ss_rows = _clean(k * float(((data.mean(axis=1) - grand) ** 2).sum()), ss_total)
    ss_columns = _clean(n * float(((data.mean(axis=0) - grand) ** 2).sum()), ss_total)
    ss_error = _clean(ss_total - ss_rows - ss_columns, ss_total)
    return MeanSquares(
        rows=ss_rows / (n - 1),
        columns=ss_columns / (k - 1),
        error=ss_error / ((n - 1) * (k - 1)),
        within=(ss_columns + ss_error) / (n * (k - 1)),
        n=n,
        k=k,
    )


def icc_forms(matrix: ArrayLike) -> dict[str, float]:
    """All six Shrout & Fleiss forms, keyed ``"ICC(1,1)"`` … ``"ICC(3,k)"``."""
    ms = mean_squares(matrix)
    r, c, e, w, n, k = ms.rows, ms.columns, ms.error, ms.within, ms.n, ms.k
    size = k * max(r, c, e, w)
    return {
        "ICC(1,1)": _ratio(r - w, r + (k - 1) * w, size),
        "ICC(2,1)": _ratio(r - e, r + (k - 1) * e + k * (c - e) / n, size),
        "ICC(3,1)": _ratio(r - e, r + (k - 1) * e, size),
        "ICC(1,k)": _ratio(r - w, r, size),
        "ICC(2,k)": _ratio(r - e, r + (c - e) / n, size),
        "ICC(3,k)": _ratio(r - e, r, size),
    }


@dataclass(frozen=True)
class IccResult:
    """An ICC for one score (``single``) and for the mean of k scores (``average``).

    ``model`` is ``"two-way"`` (ICC(2,1), ICC(2,k)) or ``"one-way"`` (ICC(1,1), ICC(1,k));
    ``k`` is raters per item (k0 when unequal); ``note`` says in Chinese which model and why.
    """

    model: str
    single: float
    average: float
    n_items: int
    k: float
    note: str
    dropped_items: tuple[str, ...] = ()

    @property
    def single_band(self) -> Band:
        return icc_band(self.single)

    @property
    def average_band(self) -> Band:
        return icc_band(self.average)


def icc_two_way(matrix: ArrayLike) -> IccResult:
    """ICC(2,1) and ICC(2,k): two-way random effects, absolute agreement, complete matrix."""
    forms = icc_forms(matrix)
    n, k = _complete_matrix(matrix).shape
    note = (
        f"全部 {n} 个项目均由同一组 {k} 位专家评分，采用双向随机效应、绝对一致性模型 "
        "ICC(2,1)/ICC(2,k)（Shrout & Fleiss 1979 情形 2）"
    )
    return IccResult("two-way", forms["ICC(2,1)"], forms["ICC(2,k)"], n, k, note)


def icc_one_way(groups: Sequence[Sequence[float]]) -> IccResult:
    """ICC(1,1) and ICC(1,k) from each item's scores (any raters, counts may differ)."""
    kept = [np.asarray(group, dtype=float) for group in groups]
    g, total = len(kept), sum(len(group) for group in kept)
    if g < 2 or any(len(group) < 1 for group in kept) or total - g < 1:
        raise ValueError("单向 ICC 至少需要 2 个项目，且至少一个项目有 2 条以上评分")
    grand = float(np.concatenate(kept).mean())
    ss_total = sum(float(((x - grand) ** 2).sum()) for x in kept)
    ss_between = _clean(sum(len(x) * (float(x.mean()) - grand) ** 2 for x in kept), ss_total)
    ss_within = _clean(sum(float(((x - x.mean()) ** 2).sum()) for x in kept), ss_total)
    between, within = ss_between / (g - 1), ss_within / (total - g)
    k0 = (total - sum(len(x) ** 2 for x in kept) / total) / (g - 1)
    size = k0 * max(between, within)
    single = _ratio(between - within, between + (k0 - 1) * within, size)
    average = _ratio(between - within, between, size)
    note = (
        f"{g} 个项目的评审专家不完全相同，采用单向随机效应模型 ICC(1,1)/ICC(1,k)"
        f"（Shrout & Fleiss 1979 情形 1），k = {k0:.2f}"
    )
    return IccResult("one-way", single, average, g, k0, note)


def panel_icc(table: ScoreTable) -> IccResult:
    """The ICC fitting the design: two-way when every expert scored every item, one-way
    otherwise. Items with fewer than 2 scores carry no agreement information and are dropped."""
    kept = {item: scores for item, scores in table.items() if len(scores) >= 2}
    dropped = tuple(sorted(set(table) - set(kept)))
    panels = {frozenset(scores) for scores in kept.values()}
    if len(panels) == 1:
        experts = sorted(next(iter(panels)))
        matrix = [[kept[item][expert] for expert in experts] for item in sorted(kept)]
        result = icc_two_way(matrix)
    else:
        result = icc_one_way([list(scores.values()) for _, scores in sorted(kept.items())])
    if dropped:
        note = result.note + f"；{len(dropped)} 个项目评分少于 2 条，未计入"
        return replace(result, note=note, dropped_items=dropped)
    return result


@dataclass(frozen=True)
class Concordance:
    """Kendall's W (tie-corrected and not), its χ² test and interpretation band."""

    w: float
    w_uncorrected: float
    chi2: float
    df: int
    p_value: float
    n_items: int
    n_raters: int

    @property
    def band(self) -> Band:
        return w_band(self.w)


def kendall_w(matrix: ArrayLike) -> Concordance:
    """Kendall's W of a complete items (rows) × raters (columns) matrix of scores or ranks."""
    data = _complete_matrix(matrix)
    n, m = data.shape
    ranks = np.column_stack([stats.rankdata(data[:, j]) for j in range(m)])
    sums = ranks.sum(axis=1)
    s = float(((sums - m * (n + 1) / 2) ** 2).sum())
    ties = 0.0
    for j in range(m):
        _, counts = np.unique(data[:, j], return_counts=True)
        ties += float((counts.astype(float) ** 3 - counts).sum())
    w = _ratio(12 * s, m**2 * (n**3 - n) - m * ties, m**2 * (n**3 - n))
    chi2 = m * (n - 1) * w
    p_value = float(stats.chi2.sf(chi2, n - 1)) if not math.isnan(chi2) else math.nan
    return Concordance(w, 12 * s / (m**2 * (n**3 - n)), chi2, n - 1, p_value, n, m)


@dataclass(frozen=True)
class PanelConcordance:
    """Kendall's W of one panel: the items scored by exactly these experts."""

    experts: tuple[str, ...]
    items: tuple[str, ...]
    concordance: Concordance


def kendall_w_by_panel(table: ScoreTable, min_items: int = 3) -> list[PanelConcordance]:
    """W per panel with ≥ 2 experts and ≥ ``min_items`` items; smaller panels are skipped."""
    panels: dict[frozenset[str], list[str]] = defaultdict(list)
    for item, scores in sorted(table.items()):
        panels[frozenset(scores)].append(item)
    results = []
    for experts_set, items in panels.items():
        experts = tuple(sorted(experts_set))
        if len(experts) < 2 or len(items) < min_items:
            continue
        matrix = [[table[item][expert] for expert in experts] for item in items]
        results.append(PanelConcordance(experts, tuple(items), kendall_w(matrix)))
    return sorted(results, key=lambda panel: panel.experts)
