"""Matchmaking-event scheduling at event scale: CP-SAT against greedy first-fit.

Seeded instances: enterprises and teams with log-normal popularity (σ = 0.6); requested pairs
drawn without replacement with probability ∝ the product of the two popularities; 35 % of
requests mutual, the rest one-sided; score = harmonic mean of two Beta(2, 5) draws (in [0, 1]);
each participant unavailable in a uniformly drawn 0-3 random slots; at most 8 meetings each.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from matching.event_schedule import (
    EventProblem,
    EventSchedule,
    Participant,
    ParticipantKind,
    greedy,
    solve,
)
from matching.meeting_proposals import Meeting, Priority, combined_score

__all__ = [
    "SCENARIOS",
    "Scenario",
    "make_problem",
    "markdown",
    "run_event_schedule_benchmark",
]


@dataclass(frozen=True)
class Scenario:
    """One seeded event (each participant is unavailable in 0 … ``max_unavailable`` random
    slots); ``time_limit_s`` and ``workers`` are CP-SAT's."""

    name: str
    enterprises: int = 150
    teams: int = 150
    meetings: int = 1000
    slots: int = 12
    tables: int = 40
    max_meetings: int = 8
    max_unavailable: int = 3
    mutual_share: float = 0.35
    seed: int = 20240612
    time_limit_s: float = 20.0
    workers: int = 2


SCENARIOS = [
    Scenario("40 tables, 0-3 slots off", tables=40),
    Scenario("80 tables, 0-3 slots off", tables=80),
    Scenario("60 tables, 0-8 slots off", tables=60, max_unavailable=8),
]


def make_problem(scenario: Scenario) -> EventProblem:
    """The seeded event of ``scenario``."""
    rng = np.random.default_rng(scenario.seed)
    participants = []
    for kind, count, prefix in (
        (ParticipantKind.ENTERPRISE, scenario.enterprises, "E"),
        (ParticipantKind.TEAM, scenario.teams, "T"),
    ):
        for i in range(count):
            off = rng.choice(scenario.slots, rng.integers(0, scenario.max_unavailable + 1), False)
            participants.append(
                Participant(
                    id=f"{prefix}{i:03d}",
                    kind=kind,
                    available=frozenset(range(1, scenario.slots + 1)) - {int(s) + 1 for s in off},
                    max_meetings=scenario.max_meetings,
                )
            )
    popularity = [rng.lognormal(0.0, 0.6, n) for n in (scenario.enterprises, scenario.teams)]
    weights = np.outer(popularity[0], popularity[1]).ravel()
    flat = rng.choice(weights.size, scenario.meetings, replace=False, p=weights / weights.sum())
    mutual = rng.random(scenario.meetings) < scenario.mutual_share
    scores = rng.beta(2.0, 5.0, (scenario.meetings, 2))
    meetings = [
        Meeting(
            f"E{int(k) // scenario.teams:03d}",
            f"T{int(k) % scenario.teams:03d}",
            combined_score(float(a), float(b)),
            Priority.MUTUAL if is_mutual else Priority.ONE_SIDED,
        )
        for k, is_mutual, (a, b) in zip(flat, mutual, scores, strict=True)
    ]
    return EventProblem(
        slots=scenario.slots, tables=scenario.tables, participants=participants, meetings=meetings
    )


def _timed(
    action: Callable[[], EventSchedule], repeats: int
) -> tuple[list[float], list[EventSchedule]]:
    seconds, results = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        results.append(action())
        seconds.append(time.perf_counter() - started)
    return seconds, results


def _row(scenario: Scenario, repeats: int) -> dict[str, Any]:
    problem = make_problem(scenario)
    greedy_runs, baselines = _timed(lambda: greedy(problem), repeats)
    solve_runs, results = _timed(
        lambda: solve(problem, time_limit_s=scenario.time_limit_s, workers=scenario.workers),
        repeats,
    )
    baseline = baselines[0]
    placed = statistics.median(r.placed_count for r in results)
    score = statistics.median(r.total_score for r in results)
    mutual = sum(1 for m in problem.meetings if m.priority is Priority.MUTUAL)
    return {
        "instance": scenario.name,
        "participants": scenario.enterprises + scenario.teams,
        "meetings": scenario.meetings,
        "mutual": mutual,
        "slots": scenario.slots,
        "tables": scenario.tables,
        "capacity": scenario.slots * scenario.tables,
        "time_limit_s": scenario.time_limit_s,
        "workers": scenario.workers,
        "solve_s": statistics.median(solve_runs),
        "solve_runs_s": solve_runs,
        "placed": placed,
        "placed_runs": [r.placed_count for r in results],
        "placed_mutual": statistics.median(r.placed_by_priority["mutual"] for r in results),
        "total_score": score,
        "optimal_runs": sum(r.optimal for r in results),
        "counts_optimal_runs": sum(r.counts_optimal for r in results),
        "same_schedule": all(r.meetings == results[0].meetings for r in results),
        "solver_runs": [r.solver for r in results],
        "unplaced_codes": _codes(results[0]),
        "greedy_s": statistics.median(greedy_runs),
        "greedy_placed": baseline.placed_count,
        "greedy_mutual": baseline.placed_by_priority["mutual"],
        "greedy_score": baseline.total_score,
        "placed_ratio": placed / baseline.placed_count,
        "score_ratio": score / baseline.total_score,
    }


def _codes(schedule: EventSchedule) -> dict[str, int]:
    codes: dict[str, int] = {}
    for u in schedule.unplaced:
        codes[u["code"]] = codes.get(u["code"], 0) + 1
    return dict(sorted(codes.items()))


def run_event_schedule_benchmark(
    scenarios: list[Scenario] | None = None,
    repeats: int = 3,
    progress: Callable[[str], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """One row per scenario: medians of ``repeats`` runs (seconds, meetings placed, score)."""
    rows = []
    for scenario in scenarios or SCENARIOS:
        progress(f"event schedule benchmark: {scenario.name}")
        rows.append(_row(scenario, repeats))
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table."""
    lines = [
        "| instance | CP-SAT s | placed (mutual) | total score | optimal proven (counts) "
        "| same schedule | greedy s | greedy placed (mutual) | greedy score | placed ratio "
        "| score ratio | unplaced reasons |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        codes = ", ".join(f"{code} {n}" for code, n in row["unplaced_codes"].items())
        runs = len(row["solve_runs_s"])
        lines.append(
            f"| {row['instance']} | {row['solve_s']:.2f} | {row['placed']:g} "
            f"({row['placed_mutual']:g}) | {row['total_score']:.3f} "
            f"| {row['optimal_runs']}/{runs} ({row['counts_optimal_runs']}/{runs}) "
            f"| {'yes' if row['same_schedule'] else 'no'} | {row['greedy_s']:.3f} "
            f"| {row['greedy_placed']} ({row['greedy_mutual']}) | {row['greedy_score']:.3f} "
            f"| {row['placed_ratio']:.4f} | {row['score_ratio']:.4f} | {codes or '–'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    def _progress(message: str) -> None:
        print(message, file=sys.stderr)

    print(markdown(run_event_schedule_benchmark(progress=_progress)))
