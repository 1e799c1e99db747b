"""Assigning reviewers (experts) to items for an evaluation round, exactly, as a min-cost flow.

Network: source → expert (one arc for the first ``min_load`` reviews, one for the rest up to
``max_load``) → item (capacity 1 per allowed pair, through an (item, institution) node of
capacity 1 when several experts of one institution could join the panel) → sink (capacity =
reviewers still needed). Its constraint matrix is totally unimodular, so the flow optimum is the
integer optimum. Objective, lexicographic: the most filled reviewer slots, then the most reviews
counting towards min loads, then the highest total affinity. Affinities are scaled to integers;
``Assignment.gap_bound`` is what that rounding can cost at most (about 1e-9 of the total).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python.max_flow import SimpleMaxFlow  # type: ignore[import-untyped]
from ortools.graph.python.min_cost_flow import (  # type: ignore[import-untyped]
    SimpleMinCostFlow,
)

from matching.errors import TechMatchError
from matching.json_file import read_json_file

__all__ = [
    "Assignment",
    "AssignmentProblem",
    "ExpertBelowMinLoad",
    "InvalidAssignmentProblem",
    "ItemUnderstaffed",
    "greedy",
    "load_instance",
    "parse_instance",
    "reassign_after_withdrawal",
    "solve",
]

Pair = tuple[int, int]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

COST_UNITS = 1e9  # integer cost units of the largest |affinity|
SOLVER = "ortools-min-cost-flow"


class InvalidAssignmentProblem(TechMatchError):
    """An assignment problem or instance file is inconsistent; the message names the field."""


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _counts(value: object, n: int, name: str, per: str) -> IntArray:
    """An ``int`` for everyone or one ``int`` each, as a length-``n`` array of counts ≥ 0."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        counts = np.full(n, int(value), dtype=np.int64)
    elif isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
        if len(value) != n:
            raise InvalidAssignmentProblem(f"「{name}」有 {len(value)} 个数，应有 {n} 个（{per}）")
        if not all(_is_int(v) for v in value):
            raise InvalidAssignmentProblem(f"「{name}」应全为整数")
        counts = np.array([int(v) for v in value], dtype=np.int64)
    else:
        raise InvalidAssignmentProblem(f"「{name}」应为整数，或{per}的整数列表")
    if (counts < 0).any():
        raise InvalidAssignmentProblem(f"「{name}」不能为负数")
    return counts


def _pair_set(value: AbstractSet[Pair], shape: tuple[int, int], name: str) -> frozenset[Pair]:
    pairs = frozenset((int(i), int(e)) for i, e in value)
    for i, e in sorted(pairs):
        if not (0 <= i < shape[0] and 0 <= e < shape[1]):
            raise InvalidAssignmentProblem(f"「{name}」中的（{i}，{e}）超出项目或专家的范围")
    return pairs


def _mask(pairs: AbstractSet[Pair], shape: tuple[int, int]) -> BoolArray:
    mask = np.zeros(shape, dtype=bool)
    if pairs:
        index = np.array(list(pairs), dtype=np.int64)
        mask[index[:, 0], index[:, 1]] = True
    return mask


@dataclass(frozen=True, eq=False, kw_only=True)
class AssignmentProblem:
    """Who may review what. Pairs are (item index, expert index); counts and loads are reviews.

    ``forced`` pairs are manual choices and ``fixed`` pairs have submitted forms: both stay.
    ``conflicts`` and ``forbidden`` pairs never happen. With ``institutions`` (one entry per
    expert, ``None`` for none) a panel holds at most one expert of each institution. After
    validation ``required``, ``upper`` and ``lower`` hold the counts as arrays (reviews).
    """

    items: Sequence[str]
    experts: Sequence[str]
    affinity: NDArray[np.float64]
    reviewers_per_item: int | Sequence[int]
    max_load: int | Sequence[int]
    min_load: int | Sequence[int] = 0
    conflicts: AbstractSet[Pair] = frozenset()
    forced: AbstractSet[Pair] = frozenset()
    forbidden: AbstractSet[Pair] = frozenset()
    fixed: AbstractSet[Pair] = frozenset()
    institutions: Sequence[str | None] | None = None
    required: IntArray = field(init=False, repr=False)
    upper: IntArray = field(init=False, repr=False)
    lower: IntArray = field(init=False, repr=False)
    institution_codes: IntArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name, ids in (("items", self.items), ("experts", self.experts)):
            if len(set(ids)) != len(ids):
                duplicate = next(i for i in ids if list(ids).count(i) > 1)
                raise InvalidAssignmentProblem(f"「{name}」中编号「{duplicate}」重复")
        shape = (len(self.items), len(self.experts))
        affinity = np.asarray(self.affinity, dtype=np.float64)
        if affinity.shape != shape:
            raise InvalidAssignmentProblem(
                f"「affinity」的形状是 {affinity.shape}，应为 {shape}（项目数 × 专家数）"
            )
        if not np.isfinite(affinity).all():
            raise InvalidAssignmentProblem("「affinity」含有非有限数（NaN 或无穷）")
        set_ = object.__setattr__
        set_(self, "affinity", affinity)
        for name in ("conflicts", "forced", "forbidden", "fixed"):
            set_(self, name, _pair_set(getattr(self, name), shape, name))
        set_(
            self,
            "required",
            _counts(self.reviewers_per_item, shape[0], "reviewers_per_item", "每个项目一个"),
        )
        set_(self, "upper", _counts(self.max_load, shape[1], "max_load", "每位专家一个"))
        set_(self, "lower", _counts(self.min_load, shape[1], "min_load", "每位专家一个"))
        set_(self, "institution_codes", self._codes())
        self._check_consistent()

    def _codes(self) -> IntArray:
        if self.institutions is None:
            return np.full(len(self.experts), -1, dtype=np.int64)
        if len(self.institutions) != len(self.experts):
            raise InvalidAssignmentProblem(
                f"「institutions」有 {len(self.institutions)} 项，应有 {len(self.experts)} 项"
                "（每位专家一项）"
            )
        codes: dict[str, int] = {}
        return np.array(
            [
                -1 if name is None else codes.setdefault(name, len(codes))
                for name in self.institutions
            ],
            dtype=np.int64,
        )

    def _check_consistent(self) -> None:
        above = np.flatnonzero(self.lower > self.upper)
        if above.size:
            e = int(above[0])
            raise InvalidAssignmentProblem(
                f"专家「{self.experts[e]}」的「min_load」{self.lower[e]} "
                f"大于「max_load」{self.upper[e]}"
            )
        kept = self.kept
        clash = kept & (self.conflicts | self.forbidden)
        if clash:
            i, e = min(clash)
            raise InvalidAssignmentProblem(
                f"项目「{self.items[i]}」与专家「{self.experts[e]}」既被指定（forced/fixed），"
                "又有利益冲突或被排除（conflicts/forbidden）"
            )
        items, experts = _split(kept)
        over = np.flatnonzero(np.bincount(items, minlength=len(self.items)) > self.required)
        if over.size:
            raise InvalidAssignmentProblem(
                f"项目「{self.items[over[0]]}」指定的专家多于「reviewers_per_item」"
            )
        over = np.flatnonzero(np.bincount(experts, minlength=len(self.experts)) > self.upper)
        if over.size:
            raise InvalidAssignmentProblem(
                f"专家「{self.experts[over[0]]}」指定的项目多于「max_load」"
            )
        names = self.institutions or []
        seen: set[tuple[int, int]] = set()
        for i, e in sorted(kept):
            code = int(self.institution_codes[e])
            if code >= 0 and (i, code) in seen:
                raise InvalidAssignmentProblem(
                    f"项目「{self.items[i]}」指定的专家中有多位来自「{names[e]}」"
                    "（「institutions」：每个评审组每个单位至多一位）"
                )
            seen.add((i, code))

    @property
    def shape(self) -> tuple[int, int]:
        """(number of items, number of experts)."""
        return len(self.items), len(self.experts)

    @property
    def kept(self) -> frozenset[Pair]:
        """Pairs that must be in every assignment: ``forced`` and ``fixed``."""
        return frozenset(self.forced) | frozenset(self.fixed)

    def blocked(self) -> tuple[BoolArray, BoolArray]:
        """Masks (items × experts) of the ``conflicts`` and of the ``forbidden`` pairs."""
        return _mask(self.conflicts, self.shape), _mask(self.forbidden, self.shape)


def _split(pairs: AbstractSet[Pair]) -> tuple[IntArray, IntArray]:
    index = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    return index[:, 0], index[:, 1]


class ItemUnderstaffed(TypedDict):
    """An item whose panel could not be filled, with the reason and the counts behind it."""

    item: str
    assigned: int
    required: int
    reason: str
    conflicts: int
    forbidden: int
    same_institution: int
    at_max_load: int


class ExpertBelowMinLoad(TypedDict):
    """An expert with fewer reviews than ``min_load`` (filling panels comes first)."""

    expert: str
    load: int
    min_load: int
    reason: str


@dataclass(frozen=True)
class Assignment:
    """Pairs (item id, expert id) in item then expert order, and their figures.

    ``min_item_affinity`` is the lowest panel total over items that need reviewers (an empty
    panel counts 0), ``min_pair_affinity`` the lowest single pair (0 without pairs).
    ``conflict_violations`` counts conflicted or forbidden pairs; ``limit_violations`` counts
    items over their reviewer count, experts over max load, repeated institutions on a panel and
    missing forced or fixed pairs. ``wall_s`` is seconds; ``gap_bound`` bounds optimum − total
    (``None`` for the greedy baseline).
    """

    pairs: list[tuple[str, str]]
    affinities: list[float]
    total_affinity: float
    min_item_affinity: float
    min_pair_affinity: float
    conflict_violations: int
    limit_violations: int
    items_understaffed: list[ItemUnderstaffed]
    experts_below_min_load: list[ExpertBelowMinLoad]
    wall_s: float
    solver: str
    gap_bound: float | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``pairs`` are ``[item, expert]`` lists."""
        data = asdict(self)
        data["pairs"] = [list(pair) for pair in self.pairs]
        return data

    def summary(self) -> str:
        """A Chinese summary for people: the figures, the shortfalls, then every panel."""
        lines = [
            f"评审分配（{self.solver}，用时 {self.wall_s:.3f} 秒）：共 {len(self.pairs)} 对",
            f"总匹配度 {self.total_affinity:.4f}；评审组最低总匹配度 {self.min_item_affinity:.4f}；"
            f"单对最低匹配度 {self.min_pair_affinity:.4f}",
            f"利益冲突违规 {self.conflict_violations}；限额违规 {self.limit_violations}；"
            f"人员不足的项目 {len(self.items_understaffed)} 个",
        ]
        lines += [f"  项目「{u['item']}」：{u['reason']}" for u in self.items_understaffed]
        lines += [f"  专家「{b['expert']}」：{b['reason']}" for b in self.experts_below_min_load]
        panels: dict[str, list[str]] = {}
        for (item, expert), value in zip(self.pairs, self.affinities, strict=True):
            panels.setdefault(item, []).append(f"{expert}（{value:.3f}）")
        lines += [f"{item}：{'、'.join(experts)}" for item, experts in panels.items()]
        return "\n".join(lines)


def _candidates(problem: AssignmentProblem) -> tuple[IntArray, IntArray]:
    """Pairs the solver may still add, row-major: allowed, not kept, institution not on panel."""
    conflicts, forbidden = problem.blocked()
    blocked = conflicts | forbidden | _mask(problem.kept, problem.shape)
    codes = problem.institution_codes
    if (codes >= 0).any():
        present = np.zeros((problem.shape[0], int(codes.max()) + 2), dtype=bool)
        items, experts = _split(problem.kept)
        present[items, codes[experts]] = True
        present[:, -1] = False  # code -1 (no institution) reads the last column
        blocked |= present[:, codes]
    items, experts = np.nonzero(~blocked)
    return items.astype(np.int64), experts.astype(np.int64)


@dataclass
class _Network:
    tails: NDArray[np.int32]
    heads: NDArray[np.int32]
    capacities: IntArray
    pair_arcs: slice
    sink: int
    low: int  # reviews counting towards min loads, at most
    high: int  # other reviews, at most
    demand: int  # reviewer slots still open


def _network(problem: AssignmentProblem, items: IntArray, experts: IntArray) -> _Network:
    """Nodes: 0 feeds the min-load arcs, 1 the rest; then experts, items, institution nodes."""
    n_items, n_experts = problem.shape
    kept_items, kept_experts = _split(problem.kept)
    need = problem.required - np.bincount(kept_items, minlength=n_items)
    kept_load = np.bincount(kept_experts, minlength=n_experts)
    upper = problem.upper - kept_load
    lower = np.clip(problem.lower - kept_load, 0, upper)
    expert_node = 2 + np.arange(n_experts)
    item_node = 2 + n_experts + np.arange(n_items)
    heads = item_node[items]
    # Experts of one institution who could join one panel share an (item, institution) node.
    codes = problem.institution_codes[experts]
    width = int(codes.max(initial=-1)) + 1
    grouped = np.flatnonzero(codes >= 0)
    keys, inverse, counts = np.unique(
        items[grouped] * width + codes[grouped], return_inverse=True, return_counts=True
    )
    shared = counts >= 2
    group_node = 2 + n_experts + n_items + np.cumsum(shared) - 1
    through = shared[inverse]
    heads[grouped[through]] = group_node[inverse[through]]
    group_items = keys[shared] // max(width, 1)
    sink = 2 + n_experts + n_items + int(shared.sum())
    parts = [
        (np.zeros(n_experts), expert_node, lower),
        (np.ones(n_experts), expert_node, upper - lower),
        (expert_node[experts], heads, np.ones(items.size)),
        (group_node[shared], item_node[group_items], np.ones(int(shared.sum()))),
        (item_node, np.full(n_items, sink), need),
    ]
    start = 2 * n_experts
    return _Network(
        tails=np.concatenate([p[0] for p in parts]).astype(np.int32),
        heads=np.concatenate([p[1] for p in parts]).astype(np.int32),
        capacities=np.concatenate([p[2] for p in parts]).astype(np.int64),
        pair_arcs=slice(start, start + items.size),
        sink=sink,
        low=int(lower.sum()),
        high=int((upper - lower).sum()),
        demand=int(need.sum()),
    )


def _min_cost_flow(
    network: _Network, costs: IntArray, supplies: tuple[int, int, int], exact: bool
) -> tuple[IntArray, int]:
    """Arc flows and flow value: the cheapest flow routing exactly ``supplies`` (nodes 0, 1 and
    the sink) when ``exact``, else the cheapest of the maximum flows within them."""
    flow = SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        network.tails, network.heads, network.capacities, costs
    )
    flow.set_nodes_supplies(
        np.array([0, 1, network.sink], dtype=np.int32), np.array(supplies, dtype=np.int64)
    )
    status = flow.solve() if exact else flow.solve_max_flow_with_min_cost()
    if status != SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    arcs = np.arange(network.tails.size, dtype=np.int32)
    flows = np.asarray(flow.flows(arcs), dtype=np.int64)
    return flows, -supplies[2] if exact else int(flow.maximum_flow())


def _most_filled(network: _Network) -> tuple[int, int]:
    """The most reviews in all, and the most through min-load arcs. One flow has both: from a
    maximum flow out of node 0 alone, augmenting paths from node 1 never lower what leaves 0."""
    flow = SimpleMaxFlow()
    flow.add_arcs_with_capacity(
        np.append(network.tails, np.int32(1)),
        np.append(network.heads, np.int32(0)),
        np.append(network.capacities, np.int64(network.low)),
    )
    values = []
    for source in (1, 0):  # from 1 every arc is reachable, from 0 only the min-load arcs
        if flow.solve(source, network.sink) != SimpleMaxFlow.OPTIMAL:
            raise RuntimeError("max flow failed")
        values.append(int(flow.optimal_flow()))
    return values[0], values[1]


def _flow_pairs(problem: AssignmentProblem) -> tuple[IntArray, IntArray, float]:
    """The optimal added pairs and the bound on what rounding affinities can cost."""
    items, experts = _candidates(problem)
    network = _network(problem, items, experts)
    if items.size == 0 or network.demand == 0:
        return items[:0], experts[:0], 0.0
    weights = problem.affinity[items, experts]
    scale = COST_UNITS / (float(np.abs(weights).max()) or 1.0)
    affinity_costs = np.zeros(network.tails.size, dtype=np.int64)
    affinity_costs[network.pair_arcs] = -np.rint(weights * scale).astype(np.int64)
    supplies = (network.low, network.high, -network.demand)
    if network.low:
        filled, toward_min = _most_filled(network)
        flows, _ = _min_cost_flow(
            network, affinity_costs, (toward_min, filled - toward_min, -filled), exact=True
        )
    else:
        flows, filled = _min_cost_flow(network, affinity_costs, supplies, exact=False)
    chosen = flows[network.pair_arcs] > 0
    # Rounding moves each weight by at most 0.5 / scale, in this and in the true optimum.
    return items[chosen], experts[chosen], filled / scale


def solve(problem: AssignmentProblem) -> Assignment:
    """The optimum: most filled reviewer slots, then min loads met, then total affinity."""
    started = time.perf_counter()
    items, experts, gap = _flow_pairs(problem)
    kept_items, kept_experts = _split(problem.kept)
    return _assignment(
        problem,
        np.concatenate([kept_items, items]),
        np.concatenate([kept_experts, experts]),
        started,
        SOLVER,
        gap,
    )


def greedy(problem: AssignmentProblem) -> Assignment:
    """Baseline: kept pairs, then allowed pairs by falling affinity while they fit (min loads
    are not pursued)."""
    started = time.perf_counter()
    items, experts = _candidates(problem)
    kept_items, kept_experts = _split(problem.kept)
    need = (problem.required - np.bincount(kept_items, minlength=problem.shape[0])).tolist()
    room = (problem.upper - np.bincount(kept_experts, minlength=problem.shape[1])).tolist()
    codes = problem.institution_codes.tolist()
    taken = {(int(i), codes[e]) for i, e in zip(kept_items, kept_experts, strict=True)}
    chosen: list[int] = []
    order = np.argsort(-problem.affinity[items, experts], kind="stable")
    remaining = sum(need)
    for k, i, e in zip(order.tolist(), items[order].tolist(), experts[order].tolist(), strict=True):
        if remaining == 0:
            break
        if need[i] and room[e] and (codes[e] < 0 or (i, codes[e]) not in taken):
            need[i], room[e], remaining = need[i] - 1, room[e] - 1, remaining - 1
            taken.add((i, codes[e]))
            chosen.append(k)
    picked = np.array(chosen, dtype=np.int64)
    return _assignment(
        problem,
        np.concatenate([kept_items, items[picked]]),
        np.concatenate([kept_experts, experts[picked]]),
        started,
        "greedy",
        None,
    )


def _assignment(
    problem: AssignmentProblem,
    items: IntArray,
    experts: IntArray,
    started: float,
    solver: str,
    gap: float | None,
) -> Assignment:
    order = np.lexsort((experts, items))
    items, experts = items[order], experts[order]
    values = problem.affinity[items, experts]
    panels = _Panels(problem, items, experts)
    panel_totals = np.bincount(items, weights=values, minlength=len(problem.items))
    staffed = problem.required > 0
    kept_items, kept_experts = _split(problem.kept)
    codes = problem.institution_codes[experts]
    keys = items[codes >= 0] * len(problem.experts) + codes[codes >= 0]
    return Assignment(
        pairs=[(problem.items[i], problem.experts[e]) for i, e in zip(items, experts, strict=True)],
        affinities=values.tolist(),
        total_affinity=float(values.sum()),
        min_item_affinity=float(panel_totals[staffed].min()) if staffed.any() else 0.0,
        min_pair_affinity=float(values.min()) if values.size else 0.0,
        conflict_violations=int((panels.conflicts | panels.forbidden)[items, experts].sum()),
        limit_violations=int(
            (panels.assigned > problem.required).sum()
            + (panels.loads > problem.upper).sum()
            + (~panels.on_panel[kept_items, kept_experts]).sum()
            + keys.size
            - np.unique(keys).size
        ),
        items_understaffed=[panels.understaffed(i) for i in panels.short_items()],
        experts_below_min_load=[panels.below_min_load(e) for e in panels.short_experts()],
        wall_s=time.perf_counter() - started,
        solver=solver,
        gap_bound=gap,
    )


class _Panels:
    """Who sits on which panel, and what keeps the others off (items × experts masks)."""

    def __init__(self, problem: AssignmentProblem, items: IntArray, experts: IntArray) -> None:
        self.problem = problem
        self.on_panel = np.zeros(problem.shape, dtype=bool)
        self.on_panel[items, experts] = True
        self.assigned = self.on_panel.sum(axis=1)
        self.loads = self.on_panel.sum(axis=0)
        self.conflicts, self.forbidden = problem.blocked()
        codes = problem.institution_codes
        # same_institution[i, e]: someone of e's institution sits on i's panel.
        width = max(int(codes.max(initial=-1)) + 1, 1)
        one_hot = (codes[:, None] == np.arange(width)).astype(np.float32)
        present = (self.on_panel.astype(np.float32) @ one_hot) > 0
        self.same_institution = (codes >= 0) & present[:, np.maximum(codes, 0)]

    def short_items(self) -> list[int]:
        return [int(i) for i in np.flatnonzero(self.assigned < self.problem.required)]

    def short_experts(self) -> list[int]:
        return [int(e) for e in np.flatnonzero(self.loads < self.problem.lower)]

    def understaffed(self, i: int) -> ItemUnderstaffed:
        off = ~self.on_panel[i]
        conflict = off & self.conflicts[i]
        excluded = off & self.forbidden[i] & ~conflict
        open_ = off & ~self.conflicts[i] & ~self.forbidden[i]
        same = open_ & self.same_institution[i]
        full = open_ & ~same & (self.loads >= self.problem.upper)
        idle = open_ & ~same & ~full  # none in an optimal or greedy assignment
        counts = [int(mask.sum()) for mask in (conflict, excluded, same, full, idle)]
        labels = [
            "专家因利益冲突回避",
            "被手动排除",
            "与评审组成员同单位",
            "已达评审上限",
            "尚有余量",
        ]
        parts = [f"{n} 位{label}" for n, label in zip(counts, labels, strict=True) if n]
        need, got = int(self.problem.required[i]), int(self.assigned[i])
        return ItemUnderstaffed(
            item=self.problem.items[i],
            assigned=got,
            required=need,
            reason=f"可分配专家不足：需 {need} 位、已分配 {got} 位；"
            + ("，".join(parts) or "没有专家"),
            conflicts=counts[0],
            forbidden=counts[1],
            same_institution=counts[2],
            at_max_load=counts[3],
        )

    def below_min_load(self, e: int) -> ExpertBelowMinLoad:
        allowed = ~self.conflicts[:, e] & ~self.forbidden[:, e]
        minimum = int(self.problem.lower[e])
        if allowed.sum() < minimum:
            reason = f"可评审项目不足：仅 {int(allowed.sum())} 个项目无利益冲突且未被排除"
        else:
            open_ = allowed & ~self.on_panel[:, e]
            full = open_ & (self.assigned >= self.problem.required)
            same = open_ & ~full & self.same_institution[:, e]
            reason = f"其余可评审项目中 {int(full.sum())} 个评审组已满员"
            reason += f"，{int(same.sum())} 个已有同单位专家" if same.any() else ""
        return ExpertBelowMinLoad(
            expert=self.problem.experts[e],
            load=int(self.loads[e]),
            min_load=minimum,
            reason=f"未达最低评审量：{reason}",
        )


def reassign_after_withdrawal(
    problem: AssignmentProblem,
    previous: Assignment,
    expert: str,
    submitted: AbstractSet[tuple[str, str]],
    *,
    keep_open: bool = True,
) -> Assignment:
    """Re-staff after ``expert`` withdraws: ``submitted`` (item, expert) pairs stay, the expert
    gets nothing new. ``keep_open`` also keeps the others' unsubmitted pairs (fewest changes);
    without it every unsubmitted pair is chosen afresh."""
    item_index = {item: i for i, item in enumerate(problem.items)}
    expert_index = {name: e for e, name in enumerate(problem.experts)}
    if expert not in expert_index:
        raise InvalidAssignmentProblem(f"未知专家「{expert}」")
    gone = expert_index[expert]
    before = {(item_index.get(i, -1), expert_index.get(e, -1)) for i, e in previous.pairs}
    done = {(item_index.get(i, -1), expert_index.get(e, -1)) for i, e in submitted}
    if not done <= before:
        raise InvalidAssignmentProblem("「submitted」中有不在原分配中的评审")
    done |= {pair for pair in problem.fixed if pair[1] == gone}
    keep = (done | {pair for pair in before if pair[1] != gone}) if keep_open else done
    upper, lower = problem.upper.copy(), problem.lower.copy()
    upper[gone], lower[gone] = sum(1 for _, e in done if e == gone), 0
    return solve(
        replace(
            problem,
            forced={pair for pair in problem.forced if pair[1] != gone},
            fixed=frozenset(problem.fixed) | keep,
            forbidden=frozenset(problem.forbidden)
            | {(i, gone) for i in range(len(problem.items)) if (i, gone) not in done},
            max_load=upper.tolist(),
            min_load=lower.tolist(),
        )
    )


_REQUIRED_FIELDS = ("items", "experts", "affinity", "reviewers_per_item", "max_load")


def load_instance(path: Path | str) -> AssignmentProblem:
    """Read a neutral JSON instance (see ``parse_instance``)."""
    return parse_instance(read_json_file(path, InvalidAssignmentProblem))


def parse_instance(data: object) -> AssignmentProblem:
    """A problem from a JSON object: ``items`` and ``experts`` (id lists), ``affinity`` (one row
    per item, one number per expert), ``reviewers_per_item``, ``max_load``, optional
    ``min_load``, ``conflicts``, ``forced``, ``forbidden``, ``fixed`` ([item, expert] id pairs)
    and ``institutions`` (one per expert, null for none)."""
    if not isinstance(data, Mapping):
        raise InvalidAssignmentProblem("实例应为一个 JSON 对象")
    missing = [name for name in _REQUIRED_FIELDS if name not in data]
    if missing:
        raise InvalidAssignmentProblem(f"实例缺少字段「{'」「'.join(missing)}」")
    items, experts = _ids(data, "items"), _ids(data, "experts")
    item_index = {item: i for i, item in enumerate(items)}
    expert_index = {expert: e for e, expert in enumerate(experts)}

    def pairs(name: str) -> set[Pair]:
        return _id_pairs(data.get(name, []), name, item_index, expert_index)

    return AssignmentProblem(
        items=items,
        experts=experts,
        affinity=_affinity(data["affinity"], items, len(experts)),
        reviewers_per_item=data["reviewers_per_item"],
        max_load=data["max_load"],
        min_load=data.get("min_load", 0),
        conflicts=pairs("conflicts"),
        forced=pairs("forced"),
        forbidden=pairs("forbidden"),
        fixed=pairs("fixed"),
        institutions=_institutions(data.get("institutions")),
    )


def _ids(data: Mapping[str, Any], name: str) -> list[str]:
    ids = data[name]
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise InvalidAssignmentProblem(f"「{name}」应为非空字符串编号的列表")
    return ids


def _affinity(rows: object, items: list[str], n_experts: int) -> NDArray[np.float64]:
    if not isinstance(rows, list) or len(rows) != len(items):
        count = len(rows) if isinstance(rows, list) else 0
        raise InvalidAssignmentProblem(
            f"「affinity」有 {count} 行，应有 {len(items)} 行（每个项目一行）"
        )
    for number, (row, item) in enumerate(zip(rows, items, strict=True), start=1):
        if not isinstance(row, list) or len(row) != n_experts:
            count = len(row) if isinstance(row, list) else 0
            raise InvalidAssignmentProblem(
                f"「affinity」第 {number} 行（项目「{item}」）有 {count} 个数，"
                f"应有 {n_experts} 个（每位专家一个）"
            )
        bad = [v for v in row if isinstance(v, bool) or not isinstance(v, int | float)]
        if bad:
            raise InvalidAssignmentProblem(
                f"「affinity」第 {number} 行（项目「{item}」）的值「{bad[0]}」不是数"
            )
    return np.array(rows, dtype=np.float64).reshape(len(items), n_experts)


def _id_pairs(
    value: object, name: str, items: dict[str, int], experts: dict[str, int]
) -> set[Pair]:
    if not isinstance(value, list):
        raise InvalidAssignmentProblem(f"「{name}」应为 [项目, 专家] 编号对的列表")
    pairs: set[Pair] = set()
    for number, pair in enumerate(value, start=1):
        if not isinstance(pair, list) or len(pair) != 2:
            raise InvalidAssignmentProblem(f"「{name}」第 {number} 项应为 [项目, 专家] 编号对")
        item, expert = pair
        if item not in items:
            raise InvalidAssignmentProblem(f"「{name}」第 {number} 项引用了未知的项目「{item}」")
        if expert not in experts:
            raise InvalidAssignmentProblem(f"「{name}」第 {number} 项引用了未知的专家「{expert}」")
        pairs.add((items[item], experts[expert]))
    return pairs


def _institutions(value: object) -> list[str | None] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
        raise InvalidAssignmentProblem(
            "「institutions」应为每位专家一项的单位名称列表（无则为 null）"
        )
    return value
