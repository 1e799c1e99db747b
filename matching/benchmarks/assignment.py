"""Reviewer assignment at evaluation-round scale: the exact min-cost flow against greedy, and the
optimum checked by an independent method (the LP relaxation solved by HiGHS through scipy).

Instances are seeded: affinities drawn i.i.d. from Beta(2, 5) (in [0, 1], like cosine scores
that are mostly low with a thin high tail), 3 % of pairs in conflict, 5 reviewers per item.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linprog  # type: ignore[import-untyped]
from scipy.sparse import coo_matrix, vstack  # type: ignore[import-untyped]

from matching.assign import Assignment, AssignmentProblem, greedy, solve

__all__ = [
    "SCENARIOS",
    "Scenario",
    "lp_optimum",
    "make_problem",
    "markdown",
    "run_assignment_benchmark",
]


@dataclass(frozen=True)
class Scenario:
    """One seeded instance; ``verify`` runs the LP check (about 1 s at 500 × 150, 30 s at
    2,000 × 600)."""

    name: str
    items: int
    experts: int
    reviewers: int = 5
    max_load: int = 19
    min_load: int = 0
    institutions: int = 0  # 0: no one-per-institution rule
    conflict_rate: float = 0.03
    seed: int = 20240611
    verify: bool = True


SCENARIOS = [
    Scenario("500 × 150", 500, 150),
    Scenario("500 × 150, min load 15, 30 institutions", 500, 150, min_load=15, institutions=30),
    Scenario("2,000 × 600", 2000, 600),
    Scenario(
        "2,000 × 600, min load 15, 100 institutions",
        2000,
        600,
        min_load=15,
        institutions=100,
    ),
]


def make_problem(scenario: Scenario) -> AssignmentProblem:
    """The seeded instance of ``scenario``."""
    rng = np.random.default_rng(scenario.seed)
    shape = (scenario.items, scenario.experts)
    conflicts = np.argwhere(rng.random(shape) < scenario.conflict_rate)
    institutions = None
    if scenario.institutions:
        codes = rng.integers(0, scenario.institutions, scenario.experts)
        institutions = [f"单位{code:03d}" for code in codes]
    return AssignmentProblem(
        items=[f"N{i:05d}" for i in range(scenario.items)],
        experts=[f"E{e:04d}" for e in range(scenario.experts)],
        affinity=rng.beta(2.0, 5.0, shape),
        reviewers_per_item=scenario.reviewers,
        max_load=scenario.max_load,
        min_load=scenario.min_load,
        conflicts={(int(i), int(e)) for i, e in conflicts},
        institutions=institutions,
    )


def lp_optimum(problem: AssignmentProblem) -> float | None:
    """The LP relaxation's optimum with every panel full and every load in [min, max]; ``None``
    when that is infeasible. Its matrix is totally unimodular, so this is the integer optimum."""
    conflicts, forbidden = problem.blocked()
    items, experts = np.nonzero(~(conflicts | forbidden))
    n_pairs, (n_items, n_experts) = items.size, problem.shape
    columns = np.arange(n_pairs)
    by_item = coo_matrix((np.ones(n_pairs), (items, columns)), shape=(n_items, n_pairs))
    by_expert = coo_matrix((np.ones(n_pairs), (experts, columns)), shape=(n_experts, n_pairs))
    rows = [by_expert, -by_expert]
    bounds: list[NDArray[np.float64]] = [
        problem.upper.astype(np.float64),
        -problem.lower.astype(np.float64),
    ]
    codes = problem.institution_codes[experts]
    if (codes >= 0).any():
        grouped = np.flatnonzero(codes >= 0)
        _, seat = np.unique(items[grouped] * n_experts + codes[grouped], return_inverse=True)
        seats = int(seat.max()) + 1
        rows.append(coo_matrix((np.ones(grouped.size), (seat, grouped)), shape=(seats, n_pairs)))
        bounds.append(np.ones(seats))
    lower_bounds = np.zeros(n_pairs)
    kept = {(int(i), int(e)) for i, e in problem.kept}
    lower_bounds[[k for k in range(n_pairs) if (items[k], experts[k]) in kept]] = 1.0
    result = linprog(
        -problem.affinity[items, experts],
        A_ub=vstack(rows).tocsr(),
        b_ub=np.concatenate(bounds),
        A_eq=by_item.tocsr(),
        b_eq=problem.required,
        bounds=np.column_stack([lower_bounds, np.ones(n_pairs)]),
        method="highs",
    )
    return -float(result.fun) if result.status == 0 else None


def _timed(action: Callable[[], Assignment], repeats: int) -> tuple[list[float], Assignment]:
    seconds, results = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        results.append(action())
        seconds.append(time.perf_counter() - started)
    if any(r.pairs != results[0].pairs for r in results):
        raise RuntimeError("assignment differs between runs")
    return seconds, results[0]


def _row(scenario: Scenario, repeats: int) -> dict[str, Any]:
    problem = make_problem(scenario)
    solve_runs, exact = _timed(lambda: solve(problem), repeats)
    greedy_runs, baseline = _timed(lambda: greedy(problem), repeats)
    row: dict[str, Any] = {
        "instance": scenario.name,
        "items": scenario.items,
        "experts": scenario.experts,
        "reviewers": scenario.reviewers,
        "max_load": scenario.max_load,
        "min_load": scenario.min_load,
        "conflicts": len(problem.conflicts),
        "solve_s": statistics.median(solve_runs),
        "solve_runs_s": solve_runs,
        "total_affinity": exact.total_affinity,
        "min_item_affinity": exact.min_item_affinity,
        "gap_bound": exact.gap_bound,
        "violations": exact.conflict_violations + exact.limit_violations,
        "understaffed": len(exact.items_understaffed),
        "below_min_load": len(exact.experts_below_min_load),
        "greedy_s": statistics.median(greedy_runs),
        "greedy_total": baseline.total_affinity,
        "greedy_below_min_load": len(baseline.experts_below_min_load),
        "ratio_to_greedy": exact.total_affinity / baseline.total_affinity,
        "lp_total": None,
        "lp_s": None,
        "relative_gap": None,
    }
    if scenario.verify:
        started = time.perf_counter()
        lp_total = lp_optimum(problem)
        row["lp_s"] = time.perf_counter() - started
        row["lp_total"] = lp_total
        if lp_total is not None:
            row["relative_gap"] = abs(lp_total - exact.total_affinity) / abs(lp_total)
    return row


def run_assignment_benchmark(
    scenarios: list[Scenario] | None = None,
    repeats: int = 3,
    progress: Callable[[str], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """One row per scenario: medians of ``repeats`` runs (seconds), totals, ratio, LP check."""
    rows = []
    for scenario in scenarios or SCENARIOS:
        progress(f"assignment benchmark: {scenario.name}")
        rows.append(_row(scenario, repeats))
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table."""

    def number(value: float | None, spec: str) -> str:
        return "–" if value is None else format(value, spec)

    lines = [
        "| instance | exact s | total affinity | greedy total | exact / greedy | greedy s "
        "| LP optimum | relative gap | violations | below min load (exact / greedy) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['instance']} | {row['solve_s']:.2f} | {row['total_affinity']:.4f} "
            f"| {row['greedy_total']:.4f} | {row['ratio_to_greedy']:.5f} | {row['greedy_s']:.2f} "
            f"| {number(row['lp_total'], '.4f')} | {number(row['relative_gap'], '.1e')} "
            f"| {row['violations']} | {row['below_min_load']} / {row['greedy_below_min_load']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    def _progress(message: str) -> None:
        print(message, file=sys.stderr)

    print(markdown(run_assignment_benchmark(progress=_progress)))
