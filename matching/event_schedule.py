"""Scheduling one-to-one meetings at a matchmaking event (成果推介对接会) into slots and tables.

Each accepted meeting (an enterprise and a research team, a score ≥ 0, a priority) gets a time
slot or stays unplaced. Nobody is in two meetings in one slot, both sides are available in the
slot, nobody exceeds their most meetings, and a slot holds at most ``tables`` meetings (tables are
alike; an enterprise keeps its table from slot to slot when it is free).

Objective, lexicographic: the most mutual requests, then the most one-sided requests, then the
most proposals, then the highest total score (scores rounded to 1/1000 of the largest). So a
lower-priority meeting never displaces a higher-priority one, not even for several of them.

``solve`` settles the four levels in turn, each with the ones before held at their optimum. A
relaxation without slots (each participant in at most min(most meetings, available slots)
meetings, at most slots × tables in all; an integer programme for HiGHS) bounds the level; when
its meetings fit into slots (CP-SAT, one worker) the level is proven optimal at once. Otherwise
CP-SAT (OR-Tools) searches the full model within what is left of the time limit, capped by that
bound and hinted with the best schedule so far. ``greedy`` first-fit (priority order, earliest
slot that fits) is the baseline, the first hint, and the answer when CP-SAT finds nothing in
time; any meeting that still fits is added after solving.

What an unplaced meeting's ``code`` claims:
- always: it cannot be added to the returned schedule as it stands (the schedule is maximal);
- ``no_common_slot``, ``no_quota``: it is in no valid schedule at all;
- ``limit_reached``, ``slots_taken`` when ``counts_optimal``: no valid schedule holds it together
  with every placed meeting of equal or higher priority (moving them to other slots and dropping
  lower-priority ones allowed): it would displace a meeting that ranks at least as high.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
from ortools.sat.python import cp_model
from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]
from scipy.sparse import coo_matrix  # type: ignore[import-untyped]

from matching.errors import TechMatchError
from matching.json_file import read_json_file
from matching.meeting_proposals import Meeting, Priority

__all__ = [
    "EventProblem",
    "EventSchedule",
    "InvalidEventProblem",
    "Participant",
    "ParticipantKind",
    "PlacedMeeting",
    "UnplacedMeeting",
    "greedy",
    "load_instance",
    "parse_instance",
    "solve",
]

SCORE_UNITS = 1000  # integer objective units of the largest score
CP_SAT = "ortools-cp-sat"
GREEDY = "greedy-first-fit"
Placement = dict[int, int]  # meeting index → slot index (0-based)


class InvalidEventProblem(TechMatchError):
    """An event problem or instance file is inconsistent; the message names the field."""


class ParticipantKind(StrEnum):
    """Which side of the table."""

    ENTERPRISE = "enterprise"
    TEAM = "team"


@dataclass(frozen=True, kw_only=True)
class Participant:
    """An enterprise or a research team. ``available`` holds slot numbers (1 … slots), ``None``
    for every slot; ``max_meetings`` is ``None`` for no limit but the slots."""

    id: str
    kind: ParticipantKind
    name: str = ""
    available: AbstractSet[int] | None = None
    max_meetings: int | None = None

    @property
    def display(self) -> str:
        """For people: 企业「name」 or 团队「name」 (the id without a name)."""
        side = "企业" if self.kind is ParticipantKind.ENTERPRISE else "团队"
        return f"{side}「{self.name or self.id}」"


@dataclass(frozen=True)
class _Plan:
    """The problem in indices: meeting ends, common slots (0-based), limits, score units."""

    order: list[int]  # meetings by priority, then score (falling), then ids
    ends: list[tuple[int, int]]
    common: list[tuple[int, ...]]
    limit: list[int]
    units: list[int]  # score in integer units, SCORE_UNITS for the largest


@dataclass(frozen=True, eq=False, kw_only=True)
class EventProblem:
    """An event: ``slots`` time slots of ``slot_minutes`` minutes from ``start`` ("HH:MM"),
    ``tables`` tables, the participants and the accepted meetings (one per pair)."""

    slots: int
    tables: int
    participants: Sequence[Participant]
    meetings: Sequence[Meeting]
    start: str = "09:00"
    slot_minutes: int = 20
    plan: _Plan = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("slots", "tables", "slot_minutes"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise InvalidEventProblem(f"「{name}」应为正整数，收到 {value!r}")
        _minutes(self.start)
        index: dict[str, int] = {}
        for p in self.participants:
            if p.id in index:
                raise InvalidEventProblem(f"参会方编号「{p.id}」重复")
            index[p.id] = len(index)
            _check_participant(p, self.slots)
        object.__setattr__(self, "plan", self._plan(index))

    def _plan(self, index: dict[str, int]) -> _Plan:
        ends, seen = [], set()
        for number, m in enumerate(self.meetings, start=1):
            where = f"第 {number} 场会谈（{m.enterprise}–{m.team}）"
            pair = (
                _end(m.enterprise, ParticipantKind.ENTERPRISE, index, self, where),
                _end(m.team, ParticipantKind.TEAM, index, self, where),
            )
            if pair in seen:
                raise InvalidEventProblem(f"{where}重复")
            if not (isinstance(m.score, int | float) and math.isfinite(m.score) and m.score >= 0):
                raise InvalidEventProblem(f"{where}的分数应为 ≥ 0 的有限数，收到 {m.score!r}")
            if not isinstance(m.priority, Priority):
                raise InvalidEventProblem(f"{where}的优先级「{m.priority}」无效")
            seen.add(pair)
            ends.append(pair)
        every = frozenset(range(1, self.slots + 1))
        free = [p.available if p.available is not None else every for p in self.participants]
        common = [tuple(sorted(s - 1 for s in free[a] & free[b])) for a, b in ends]
        limit = [
            self.slots if p.max_meetings is None else p.max_meetings for p in self.participants
        ]
        order = sorted(range(len(self.meetings)), key=lambda m: _rank_key(self.meetings[m]))
        return _Plan(order, ends, common, limit, _units(self.meetings))

    def slot_label(self, slot: int) -> str:
        """The time of slot number ``slot`` (1-based), e.g. "09:00–09:20"."""
        begin = _minutes(self.start) + (slot - 1) * self.slot_minutes
        return f"{_clock(begin)}–{_clock(begin + self.slot_minutes)}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _minutes(start: str) -> int:
    parts = start.split(":") if isinstance(start, str) else []
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise InvalidEventProblem(f"「start」应为 HH:MM 形式的时间，收到 {start!r}")
    hours, minutes = int(parts[0]), int(parts[1])
    if hours > 23 or minutes > 59:
        raise InvalidEventProblem(f"「start」应为 HH:MM 形式的时间，收到 {start!r}")
    return hours * 60 + minutes


def _clock(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def _check_participant(p: Participant, slots: int) -> None:
    if not (isinstance(p.id, str) and p.id):
        raise InvalidEventProblem(f"参会方编号应为非空字符串，收到 {p.id!r}")
    if p.max_meetings is not None and (not _is_int(p.max_meetings) or p.max_meetings < 0):
        raise InvalidEventProblem(f"{p.display}的最多会谈数应为 ≥ 0 的整数")
    bad = [s for s in p.available or () if not _is_int(s) or not 1 <= s <= slots]
    if bad:
        raise InvalidEventProblem(f"{p.display}的空闲时段「{bad[0]}」不在 1–{slots} 之内")


def _end(
    pid: str, kind: ParticipantKind, index: dict[str, int], problem: EventProblem, where: str
) -> int:
    side = "企业" if kind is ParticipantKind.ENTERPRISE else "团队"
    if pid not in index:
        raise InvalidEventProblem(f"{where}引用了未知的{side}「{pid}」")
    if problem.participants[index[pid]].kind is not kind:
        raise InvalidEventProblem(f"{where}中的「{pid}」不是{side}")
    return index[pid]


def _rank_key(m: Meeting) -> tuple[int, float, str, str]:
    return -m.priority.rank, -m.score, m.enterprise, m.team


def _units(meetings: Sequence[Meeting]) -> list[int]:
    top = max((m.score for m in meetings), default=0.0)
    return [round(m.score / top * SCORE_UNITS) if top > 0 else 0 for m in meetings]


class _Board:
    """Who is busy in which slot, loads and tables used, for a growing placement."""

    def __init__(self, problem: EventProblem, placement: Placement) -> None:
        self.problem, self.plan = problem, problem.plan
        self.busy: set[tuple[int, int]] = set()  # (participant, slot)
        self.load = [0] * len(problem.participants)
        self.used = [0] * problem.slots
        self.placement: Placement = {}
        for m, s in placement.items():
            self.place(m, s)

    def fits(self, m: int, s: int) -> bool:
        a, b = self.plan.ends[m]
        return (
            self.used[s] < self.problem.tables
            and (a, s) not in self.busy
            and (b, s) not in self.busy
        )

    def under_limit(self, m: int) -> bool:
        return all(self.load[p] < self.plan.limit[p] for p in self.plan.ends[m])

    def place(self, m: int, s: int) -> None:
        for p in self.plan.ends[m]:
            self.busy.add((p, s))
            self.load[p] += 1
        self.used[s] += 1
        self.placement[m] = s

    def fill(self, first: Sequence[int] = ()) -> Placement:
        """First-fit: each unplaced meeting (``first`` ones first, then in priority order) into
        its earliest slot that fits."""
        for m in [*first, *self.plan.order]:
            if m not in self.placement and self.under_limit(m):
                slot = next((s for s in self.plan.common[m] if self.fits(m, s)), None)
                if slot is not None:
                    self.place(m, slot)
        return self.placement


class PlacedMeeting(TypedDict):
    """A held meeting: slot and table numbers are 1-based; ``time`` is "09:00–09:20"."""

    enterprise: str
    team: str
    slot: int
    time: str
    table: int
    score: float
    priority: str


class UnplacedMeeting(TypedDict):
    """A meeting not held, with a machine ``code`` and a Chinese ``reason`` (see module doc)."""

    enterprise: str
    team: str
    score: float
    priority: str
    code: str
    reason: str


@dataclass(frozen=True)
class EventSchedule:
    """Placed meetings by slot then table, unplaced ones in priority order with reasons.

    ``optimal``: the lexicographic optimum is proven (all counts and the score, up to score
    rounding); ``counts_optimal``: the counts per priority are (what the reasons rely on).
    ``status`` is CP-SAT's status name ("NOT_RUN" for plain greedy, "OPTIMAL" when proven);
    ``total_score`` sums the placed scores; ``wall_s`` is seconds, model building included.
    """

    meetings: list[PlacedMeeting]
    unplaced: list[UnplacedMeeting]
    placed_count: int
    placed_by_priority: dict[str, int]
    total_score: float
    solver: str
    status: str
    counts_optimal: bool
    optimal: bool
    wall_s: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "meetings": self.meetings,
            "unplaced": self.unplaced,
            "placed_count": self.placed_count,
            "placed_by_priority": self.placed_by_priority,
            "total_score": self.total_score,
            "solver": self.solver,
            "status": self.status,
            "counts_optimal": self.counts_optimal,
            "optimal": self.optimal,
            "wall_s": self.wall_s,
        }

    def summary(self) -> str:
        """A Chinese summary for people: the figures, every unplaced meeting, then the slots."""
        total = self.placed_count + len(self.unplaced)
        proof = "已证明最优" if self.optimal else "未证明最优"
        lines = [
            f"会谈排期（{self.solver}，{proof}，用时 {self.wall_s:.3f} 秒）："
            f"安排 {self.placed_count} / {total} 场，总分 {self.total_score:.4f}",
            "，".join(f"{Priority(p).label} {n} 场" for p, n in self.placed_by_priority.items()),
        ]
        if self.unplaced:
            lines.append(f"未安排 {len(self.unplaced)} 场：")
        lines += [
            f"  {u['enterprise']}–{u['team']}（{Priority(u['priority']).label}，"
            f"{u['score']:.3f}）：{u['reason']}"
            for u in self.unplaced
        ]
        slot = 0
        for m in self.meetings:
            if m["slot"] != slot:
                slot = m["slot"]
                lines.append(f"第 {slot} 时段 {m['time']}")
            lines.append(
                f"  桌 {m['table']}：{m['enterprise']}–{m['team']}"
                f"（{Priority(m['priority']).label}，{m['score']:.3f}）"
            )
        return "\n".join(lines)


def greedy(problem: EventProblem) -> EventSchedule:
    """Baseline and fallback: first-fit in priority order (see ``_Board.fill``)."""
    started = time.perf_counter()
    placement = _Board(problem, {}).fill()
    return _schedule(problem, placement, started, GREEDY, "NOT_RUN", False, False)


def solve(
    problem: EventProblem, *, time_limit_s: float = 20.0, workers: int = 2, seed: int = 0
) -> EventSchedule:
    """The lexicographic optimum within ``time_limit_s`` seconds (wall clock, the whole call),
    CP-SAT's full search on ``workers`` threads; never worse than greedy, and greedy's schedule
    when CP-SAT finds none in time. Levels settled by the relaxation are deterministic; a full
    search is too with ``workers=1`` when it ends before the limit, for a given ``seed``."""
    if not (time_limit_s > 0 and _is_int(workers) and workers >= 1):
        raise InvalidEventProblem("「time_limit_s」应 > 0，「workers」应为正整数")
    started = time.perf_counter()
    hint = _Board(problem, {}).fill()
    outcome = _cp_sat(problem, hint, time_limit_s, workers, seed)
    placement, solver = hint, GREEDY
    if outcome.placement is not None:
        filled = _Board(problem, outcome.placement).fill()
        if _value(problem, filled) >= _value(problem, hint):
            placement, solver = filled, CP_SAT
    # A greedy schedule kept here has the proven counts if CP-SAT had them (it cannot beat them).
    return _schedule(
        problem, placement, started, solver, outcome.status, outcome.counts_optimal, outcome.optimal
    )


def _value(problem: EventProblem, placement: Placement) -> tuple[int, ...]:
    """The lexicographic objective: counts of mutual, one-sided, proposed, then score units."""
    ranks = [problem.meetings[m].priority.rank for m in placement]
    units = sum(problem.plan.units[m] for m in placement)
    return (*(ranks.count(r) for r in (3, 2, 1)), units)


@dataclass(frozen=True)
class _Outcome:
    placement: Placement | None  # None: CP-SAT found no solution in time
    status: str
    counts_optimal: bool
    optimal: bool


def _model(
    problem: EventProblem,
) -> tuple[cp_model.CpModel, dict[tuple[int, int], cp_model.IntVar]]:
    """One boolean per (meeting, common slot); the limits as constraints, no objective."""
    plan, model = problem.plan, cp_model.CpModel()
    chosen: dict[tuple[int, int], cp_model.IntVar] = {}
    cells: dict[tuple[int, int], list[cp_model.IntVar]] = {}
    per_slot: list[list[cp_model.IntVar]] = [[] for _ in range(problem.slots)]
    per_person: list[list[cp_model.IntVar]] = [[] for _ in problem.participants]
    for m in plan.order:
        if not all(plan.limit[p] for p in plan.ends[m]):
            continue
        options = []
        for s in plan.common[m]:
            var = chosen[m, s] = model.new_bool_var(f"m{m}s{s}")
            options.append(var)
            per_slot[s].append(var)
            for p in plan.ends[m]:
                cells.setdefault((p, s), []).append(var)
                per_person[p].append(var)
        model.add_at_most_one(options)
    for group in cells.values():
        model.add_at_most_one(group)
    for group in per_slot:
        if len(group) > problem.tables:
            model.add(sum(group) <= problem.tables)
    for p, group in enumerate(per_person):
        if len(group) > plan.limit[p]:
            model.add(sum(group) <= plan.limit[p])
    return model, chosen


class _Relaxation:
    """The schedule without slots: each meeting held or not, each participant in at most
    min(most meetings, available slots), at most slots × tables in all, settled levels kept at
    their values. An integer programme (HiGHS) whose optimum bounds the level's objective."""

    def __init__(self, problem: EventProblem, meetings: list[int]) -> None:
        plan, people = problem.plan, problem.participants
        rows = [p for m in meetings for p in plan.ends[m]]
        columns = [k for k in range(len(meetings)) for _ in range(2)]
        free = [problem.slots if p.available is None else len(p.available) for p in people]
        degree = coo_matrix((np.ones(len(rows)), (rows, columns)), (len(people), len(meetings)))
        self.meetings = meetings
        self.counted = np.zeros(len(meetings), dtype=bool)  # in some level's objective so far
        self.constraints = [
            LinearConstraint(degree, -np.inf, np.minimum(plan.limit, free)),
            LinearConstraint(np.ones((1, len(meetings))), -np.inf, problem.slots * problem.tables),
        ]

    def fix(self, coefficients: list[int], value: int) -> None:
        """Keep a settled level at ``value``."""
        row = np.array([[coefficients[m] for m in self.meetings]], dtype=np.float64)
        self.constraints.append(LinearConstraint(row, value, np.inf))

    def solve(self, coefficients: list[int], seconds: float) -> tuple[int | None, list[int] | None]:
        """An upper bound on the level's objective (``None`` if unknown) and, when it is the
        integer optimum, the meetings that reach it while keeping the settled levels (meetings
        that count in no level so far are left to first-fit)."""
        weights = np.array([coefficients[m] for m in self.meetings], dtype=np.float64)
        self.counted |= weights > 0
        result = milp(
            -weights,
            integrality=np.ones(len(self.meetings)),
            bounds=Bounds(0, 1),
            constraints=self.constraints,
            options={"time_limit": max(seconds, 0.01)},
        )
        if result.status == 0:
            held = np.flatnonzero((result.x > 0.5) & self.counted)
            return round(-result.fun), [self.meetings[k] for k in held]
        dual = getattr(result, "mip_dual_bound", None)
        return (None if dual is None else math.floor(-dual + 1e-6)), None


def _fit(
    problem: EventProblem, held: list[int], hint: Placement, seconds: float, seed: int
) -> Placement | None:
    """Slots for exactly the ``held`` meetings, or ``None``: CP-SAT on one worker without LP
    (a pure satisfaction problem; deterministic)."""
    plan, model = problem.plan, cp_model.CpModel()
    cells: dict[tuple[int, int], list[cp_model.IntVar]] = {}
    per_slot: list[list[cp_model.IntVar]] = [[] for _ in range(problem.slots)]
    chosen = {}
    for m in held:
        options = []
        for s in plan.common[m]:
            var = chosen[m, s] = model.new_bool_var(f"m{m}s{s}")
            model.add_hint(var, hint.get(m) == s)
            options.append(var)
            per_slot[s].append(var)
            for p in plan.ends[m]:
                cells.setdefault((p, s), []).append(var)
        model.add_exactly_one(options)
    for group in cells.values():
        model.add_at_most_one(group)
    for group in per_slot:
        if len(group) > problem.tables:
            model.add(sum(group) <= problem.tables)
    solver = _solver(seconds, 1, seed)
    solver.parameters.linearization_level = 0
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return {m: s for (m, s), var in chosen.items() if solver.boolean_value(var)}


def _solver(seconds: float, workers: int, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(seconds, 0.01)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    return solver


def _levels(problem: EventProblem) -> tuple[list[list[int]], int]:
    """Per-meeting objective coefficients, level by level; how many levels count meetings."""
    ranks = [m.priority.rank for m in problem.meetings]
    counts = [[int(r == rank) for r in ranks] for rank in (3, 2, 1)]
    counts = [c for c in counts if any(c)]
    return counts + ([problem.plan.units] if any(problem.plan.units) else []), len(counts)


def _cp_sat(
    problem: EventProblem, hint: Placement, time_limit_s: float, workers: int, seed: int
) -> _Outcome:
    """The levels in turn (see the module doc). One weighted objective instead would leave a
    fractional LP bound worth a whole top-tier meeting that CP-SAT cannot close."""
    deadline = time.perf_counter() + time_limit_s
    model, chosen = _model(problem)
    relaxation = _Relaxation(problem, sorted({m for m, _ in chosen}))
    levels, counted = _levels(problem)
    best: Placement | None = None if chosen else {}
    status, settled = "OPTIMAL", 0
    for coefficients in levels:
        terms = [(v, coefficients[m]) for (m, _), v in chosen.items() if coefficients[m]]
        if not terms:
            settled += 1
            continue
        objective = cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms])
        current = best if best and _value(problem, best) > _value(problem, hint) else hint
        bound, held = relaxation.solve(coefficients, deadline - time.perf_counter())
        fitted = None
        if bound is not None and held is not None:
            fitted = _fit(problem, held, current, deadline - time.perf_counter(), seed)
        if fitted is not None and bound is not None:
            best, value = _Board(problem, fitted).fill(), bound
        else:
            if held:  # the relaxation's meetings first, as far as they fit
                nearly = _Board(problem, {}).fill(sorted(held, key=problem.plan.order.index))
                current = max(current, nearly, key=lambda placed: _value(problem, placed))
            found, status, value = _search(
                model, chosen, objective, bound, current, deadline, workers, seed
            )
            if found is None:
                break
            best = _Board(problem, found).fill()
            if status != "OPTIMAL":
                break
        model.add(objective >= value)
        relaxation.fix(coefficients, value)
        settled += 1
    return _Outcome(best, status, settled >= counted, settled == len(levels))


def _search(
    model: cp_model.CpModel,
    chosen: dict[tuple[int, int], cp_model.IntVar],
    objective: cp_model.LinearExpr,
    bound: int | None,
    hint: Placement,
    deadline: float,
    workers: int,
    seed: int,
) -> tuple[Placement | None, str, int]:
    """CP-SAT on the full model for one level: a placement (``None`` if none was found in
    time), the status name and the objective value."""
    model.maximize(objective)
    if bound is not None:
        model.add(objective <= bound)  # a valid cut: CP-SAT stops once a schedule reaches it
    model.clear_hints()  # type: ignore[no-untyped-call]
    for (m, s), var in chosen.items():
        model.add_hint(var, hint.get(m) == s)
    solver = _solver(deadline - time.perf_counter(), workers, seed)
    code = solver.solve(model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.status_name(code), 0
    found = {m: s for (m, s), var in chosen.items() if solver.boolean_value(var)}
    return found, solver.status_name(code), round(solver.objective_value)


def _tables(problem: EventProblem, placement: Placement) -> dict[int, int]:
    """Table per placed meeting (1-based): an enterprise keeps its last table when it is free."""
    last: dict[int, int] = {}
    tables: dict[int, int] = {}
    for s in range(problem.slots):
        here = sorted((m for m, slot in placement.items() if slot == s), key=_by_ids(problem))
        taken: set[int] = set()
        for m in here:
            enterprise = problem.plan.ends[m][0]
            if enterprise in last and last[enterprise] not in taken:
                tables[m] = last[enterprise]
                taken.add(tables[m])
        free = (t for t in range(1, problem.tables + 1) if t not in taken)
        for m in here:
            if m not in tables:
                tables[m] = next(free)
            last[problem.plan.ends[m][0]] = tables[m]
    return tables


def _by_ids(problem: EventProblem) -> Any:
    return lambda m: problem.meetings[m].pair


def _schedule(
    problem: EventProblem,
    placement: Placement,
    started: float,
    solver: str,
    status: str,
    counts_optimal: bool,
    optimal: bool,
) -> EventSchedule:
    tables = _tables(problem, placement)
    placed = sorted(placement, key=lambda m: (placement[m], tables[m]))
    meetings = [problem.meetings[m] for m in placed]
    by_priority = {p.value: sum(1 for m in meetings if m.priority is p) for p in Priority}
    return EventSchedule(
        meetings=[
            PlacedMeeting(
                enterprise=m.enterprise,
                team=m.team,
                slot=placement[i] + 1,
                time=problem.slot_label(placement[i] + 1),
                table=tables[i],
                score=m.score,
                priority=m.priority.value,
            )
            for i, m in zip(placed, meetings, strict=True)
        ],
        unplaced=_unplaced(problem, placement, counts_optimal),
        placed_count=len(placed),
        placed_by_priority=by_priority,
        total_score=float(math.fsum(m.score for m in meetings)),
        solver=solver,
        status=status,
        counts_optimal=counts_optimal,
        optimal=optimal,
        wall_s=time.perf_counter() - started,
    )


def _unplaced(
    problem: EventProblem, placement: Placement, counts_optimal: bool
) -> list[UnplacedMeeting]:
    board = _Board(problem, placement)
    suffix = (
        "；即使调整其他会谈的时段、取消优先级更低的会谈也无法安排（已证明最优）"
        if counts_optimal
        else "（排期未证明最优：调整其他会谈后或可安排）"
    )
    result = []
    for m in problem.plan.order:
        if m in placement:
            continue
        code, reason = _reason(problem, board, m)
        if code in ("limit_reached", "slots_taken"):
            reason += suffix
        meeting = problem.meetings[m]
        result.append(
            UnplacedMeeting(
                enterprise=meeting.enterprise,
                team=meeting.team,
                score=meeting.score,
                priority=meeting.priority.value,
                code=code,
                reason=reason,
            )
        )
    return result


def _reason(problem: EventProblem, board: _Board, m: int) -> tuple[str, str]:
    plan, people = problem.plan, problem.participants
    ends = plan.ends[m]
    if not plan.common[m]:
        lonely = [people[p].display for p in ends if people[p].available == set()]
        return "no_common_slot", f"{lonely[0]}没有空闲时段" if lonely else "双方无共同空闲时段"
    zero = [people[p].display for p in ends if plan.limit[p] == 0]
    if zero:
        return "no_quota", f"{zero[0]}的最多会谈数为 0"
    # Without max_meetings a participant is never full before every common slot is taken.
    full = [
        p for p in ends if people[p].max_meetings is not None and board.load[p] >= plan.limit[p]
    ]
    if full:
        rank = problem.meetings[m].priority.rank
        parts = []
        for p in full:
            mine = [k for k in board.placement if p in plan.ends[k]]
            lower = sum(1 for k in mine if problem.meetings[k].priority.rank <= rank)
            detail = f"其中 {lower} 场优先级不高于本场" if lower else "均为优先级更高的会谈"
            parts.append(f"{people[p].display}已达最多会谈数 {plan.limit[p]}（{detail}）")
        return "limit_reached", "；".join(parts)
    counts = [0, 0, 0]  # first side busy, second side busy, tables full
    for s in plan.common[m]:
        if (ends[0], s) in board.busy:
            counts[0] += 1
        elif (ends[1], s) in board.busy:
            counts[1] += 1
        elif board.used[s] >= problem.tables:
            counts[2] += 1
        else:
            raise RuntimeError(f"meeting {m} still fits slot {s + 1}: the schedule is not maximal")
    labels = [
        f"{people[ends[0]].display}已有会谈",
        f"{people[ends[1]].display}已有会谈",
        "桌位已满",
    ]
    parts = [f"{n} 个时段{label}" for n, label in zip(counts, labels, strict=True) if n]
    return (
        "slots_taken",
        f"双方共同空闲的 {len(plan.common[m])} 个时段均已排满：" + "，".join(parts),
    )


def load_instance(path: Path | str) -> EventProblem:
    """Read a JSON instance (see ``parse_instance``)."""
    return parse_instance(read_json_file(path, InvalidEventProblem))


_FIELDS = {
    "event": ("slots", "tables", "enterprises", "teams", "meetings", "max_meetings"),
    "slots": ("count", "start", "minutes"),
    "enterprises": ("id", "name", "available", "unavailable", "max_meetings", "needs"),
    "teams": ("id", "name", "available", "unavailable", "max_meetings", "results"),
    "meetings": ("enterprise", "team", "score", "priority"),
}


def _object(value: object, where: str, kind: str, required: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidEventProblem(f"{where}应为 JSON 对象")
    missing = [name for name in required if name not in value]
    if missing:
        raise InvalidEventProblem(f"{where}缺少字段「{'」「'.join(missing)}」")
    unknown = [name for name in value if name not in _FIELDS[kind]]
    if unknown:
        raise InvalidEventProblem(
            f"{where}含有未知字段「{unknown[0]}」（可用字段：{'、'.join(_FIELDS[kind])}）"
        )
    return value


def _count(value: object, where: str, minimum: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return value
    raise InvalidEventProblem(f"{where}应为 ≥ {minimum} 的整数，收到 {value!r}")


def parse_instance(data: object) -> EventProblem:
    """A problem from a JSON object: ``slots`` ({"count", optional "start" "HH:MM" and
    "minutes"}), ``tables``, ``enterprises`` and ``teams`` (ids, or objects with ``id``,
    optional ``name``, ``available`` or ``unavailable`` slot numbers from 1, ``max_meetings``),
    optional ``max_meetings`` for everyone, and ``meetings`` (objects with ``enterprise``,
    ``team``, optional ``score`` ≥ 0 and ``priority``: mutual, one_sided or proposed)."""
    data = _object(data, "实例", "event", ("slots", "tables", "enterprises", "teams", "meetings"))
    slots = _object(data["slots"], "「slots」", "slots", ("count",))
    count = _count(slots["count"], "「slots.count」", 1)
    default = data.get("max_meetings")
    default = None if default is None else _count(default, "「max_meetings」", 0)
    participants = [
        _participant(entry, f"「{name}」第 {number} 项", name, count, default)
        for name in ("enterprises", "teams")
        for number, entry in enumerate(_list(data[name], f"「{name}」"), start=1)
    ]
    meetings = [
        _meeting(_object(entry, f"「meetings」第 {number} 项", "meetings", ("enterprise", "team")))
        for number, entry in enumerate(_list(data["meetings"], "「meetings」"), start=1)
    ]
    start = slots.get("start", "09:00")
    if not isinstance(start, str):
        raise InvalidEventProblem(f"「slots.start」应为 HH:MM 形式的时间，收到 {start!r}")
    return EventProblem(
        slots=count,
        tables=_count(data["tables"], "「tables」", 1),
        participants=participants,
        meetings=meetings,
        start=start,
        slot_minutes=_count(slots.get("minutes", 20), "「slots.minutes」", 1),
    )


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidEventProblem(f"{where}应为列表")
    return value


def _participant(
    entry: object, where: str, name: str, slots: int, default: int | None
) -> Participant:
    kind = ParticipantKind.ENTERPRISE if name == "enterprises" else ParticipantKind.TEAM
    if isinstance(entry, str):
        entry = {"id": entry}
    entry = _object(entry, where, name, ("id",))
    if not (isinstance(entry["id"], str) and entry["id"]):
        raise InvalidEventProblem(f"{where}的「id」应为非空字符串")
    if "available" in entry and "unavailable" in entry:
        raise InvalidEventProblem(f"{where}不能同时给出「available」和「unavailable」")
    available = None
    for key in ("available", "unavailable"):
        if key in entry:
            numbers = _list(entry[key], f"{where}的「{key}」")
            bad = [s for s in numbers if not _is_int(s) or not 1 <= s <= slots]
            if bad:
                raise InvalidEventProblem(f"{where}的「{key}」中的「{bad[0]}」不在 1–{slots} 之内")
            available = (
                set(numbers) if key == "available" else set(range(1, slots + 1)) - set(numbers)
            )
    display = entry.get("name", "")
    if not isinstance(display, str):
        raise InvalidEventProblem(f"{where}的「name」应为字符串")
    limit = entry.get("max_meetings", default)
    return Participant(
        id=entry["id"],
        kind=kind,
        name=display,
        available=None if available is None else frozenset(available),
        max_meetings=None if limit is None else _count(limit, f"{where}的「max_meetings」", 0),
    )


def _meeting(entry: Mapping[str, Any]) -> Meeting:
    where = f"会谈 {entry['enterprise']}–{entry['team']}"
    if not (isinstance(entry["enterprise"], str) and isinstance(entry["team"], str)):
        raise InvalidEventProblem(f"{where}：「enterprise」和「team」应为编号字符串")
    score = entry.get("score", 0.0)
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise InvalidEventProblem(f"{where}：「score」应为数，收到 {score!r}")
    priority = entry.get("priority", Priority.PROPOSED.value)
    if priority not in {p.value for p in Priority}:
        raise InvalidEventProblem(
            f"{where}：「priority」应为 mutual、one_sided 或 proposed，收到 {priority!r}"
        )
    return Meeting(entry["enterprise"], entry["team"], float(score), Priority(priority))
