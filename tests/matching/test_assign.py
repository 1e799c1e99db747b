"""Expert assignment: limits always hold, the optimum matches brute force, shortfalls explained."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.assign import (
    Assignment,
    AssignmentProblem,
    InvalidAssignmentProblem,
    greedy,
    load_instance,
    reassign_after_withdrawal,
    solve,
)


@st.composite
def problems(draw: st.DrawFn, max_items: int = 5, max_experts: int = 6) -> AssignmentProblem:
    n_items = draw(st.integers(1, max_items))
    n_experts = draw(st.integers(1, max_experts))
    shape = (n_items, n_experts)
    cells = [(i, e) for i in range(n_items) for e in range(n_experts)]
    grid = draw(st.lists(st.integers(-20, 100), min_size=len(cells), max_size=len(cells)))
    conflicts = {c for c in cells if draw(st.integers(0, 4)) == 0}
    forbidden = {c for c in cells if draw(st.integers(0, 7)) == 0}
    required = draw(st.lists(st.integers(0, 3), min_size=n_items, max_size=n_items))
    upper = draw(st.lists(st.integers(0, 4), min_size=n_experts, max_size=n_experts))
    lower = [draw(st.integers(0, u)) for u in upper]
    institutions = draw(
        st.none()
        | st.lists(st.sampled_from(["甲", "乙", None]), min_size=n_experts, max_size=n_experts)
    )
    forced: set[tuple[int, int]] = set()
    for i, e in cells:  # keep each drawn forced pair only while it fits the limits
        on_panel = [f for j, f in forced if j == i]
        same = (
            institutions is not None
            and institutions[e] is not None
            and any(institutions[f] == institutions[e] for f in on_panel)
        )
        if (
            draw(st.integers(0, 9)) == 0
            and (i, e) not in conflicts | forbidden
            and len(on_panel) < required[i]
            and sum(1 for _, f in forced if f == e) < upper[e]
            and not same
        ):
            forced.add((i, e))
    return AssignmentProblem(
        items=[f"N{i}" for i in range(n_items)],
        experts=[f"E{e}" for e in range(n_experts)],
        affinity=np.array(grid, dtype=np.float64).reshape(shape) / 100,
        reviewers_per_item=required,
        max_load=upper,
        min_load=lower,
        conflicts=conflicts,
        forbidden=forbidden,
        forced=forced,
        institutions=institutions,
    )


def _indexes(problem: AssignmentProblem, result: Assignment) -> list[tuple[int, int]]:
    return [(problem.items.index(i), problem.experts.index(e)) for i, e in result.pairs]


def _check_limits(problem: AssignmentProblem, result: Assignment) -> None:
    pairs = _indexes(problem, result)
    assert len(set(pairs)) == len(pairs)
    assert not set(pairs) & (set(problem.conflicts) | set(problem.forbidden))
    assert set(problem.forced) <= set(pairs)
    items = np.bincount([i for i, _ in pairs], minlength=len(problem.items))
    loads = np.bincount([e for _, e in pairs], minlength=len(problem.experts))
    assert (items <= problem.required).all() and (loads <= problem.upper).all()
    if problem.institutions is not None:
        seats = [(i, problem.institutions[e]) for i, e in pairs if problem.institutions[e]]
        assert len(seats) == len(set(seats))
    assert result.conflict_violations == 0 and result.limit_violations == 0
    assert len(result.items_understaffed) == int((items < problem.required).sum())


def _lexicographic(problem: AssignmentProblem, pairs: list[tuple[int, int]]) -> tuple[int, int]:
    loads = np.bincount([e for _, e in pairs], minlength=len(problem.experts))
    return len(pairs), int(np.minimum(loads, problem.lower).sum())


def _brute_force(problem: AssignmentProblem) -> tuple[int, int, float]:
    """(filled slots, reviews towards min loads, total affinity) of the best of all subsets."""
    n_items, n_experts = problem.shape
    cells = [
        (i, e)
        for i in range(n_items)
        for e in range(n_experts)
        if (i, e) not in problem.conflicts and (i, e) not in problem.forbidden
    ]
    chosen = (np.arange(2 ** len(cells))[:, None] >> np.arange(len(cells))) & 1
    by_item = np.array([[i == j for j in range(n_items)] for i, _ in cells], dtype=np.int64)
    by_expert = np.array([[e == f for f in range(n_experts)] for _, e in cells], dtype=np.int64)
    by_item, by_expert = by_item.reshape(-1, n_items), by_expert.reshape(-1, n_experts)
    counts, loads = chosen @ by_item, chosen @ by_expert
    ok = (counts <= problem.required).all(axis=1) & (loads <= problem.upper).all(axis=1)
    for pair in problem.forced:
        ok &= chosen[:, cells.index(pair)] == 1
    names = problem.institutions or [None] * n_experts
    for i in range(n_items):
        for name in {n for n in names if n is not None}:
            seats = [k for k, (j, e) in enumerate(cells) if j == i and names[e] == name]
            ok &= chosen[:, seats].sum(axis=1) <= 1
    weights = np.array([problem.affinity[c] for c in cells]).reshape(-1)
    scores = zip(
        counts.sum(axis=1)[ok].tolist(),
        np.minimum(loads, problem.lower).sum(axis=1)[ok].tolist(),
        (chosen @ weights)[ok].tolist(),
        strict=True,
    )
    return max(scores)


@settings(max_examples=150, deadline=None)
@given(problems())
def test_solver_and_greedy_never_break_a_conflict_or_a_limit(problem: AssignmentProblem) -> None:
    _check_limits(problem, solve(problem))
    _check_limits(problem, greedy(problem))


@settings(max_examples=150, deadline=None)
@given(problems(max_items=3, max_experts=4))
def test_solver_matches_brute_force(problem: AssignmentProblem) -> None:
    result = solve(problem)
    filled, toward_min, best = _brute_force(problem)
    assert _lexicographic(problem, _indexes(problem, result)) == (filled, toward_min)
    assert result.gap_bound is not None
    assert result.total_affinity == pytest.approx(best, abs=max(result.gap_bound, 1e-9))
    assert len(greedy(problem).pairs) <= filled


def _problem(**changes: Any) -> AssignmentProblem:
    fields: dict[str, Any] = {
        "items": ["A", "B"],
        "experts": ["e1", "e2"],
        "affinity": np.array([[0.9, 0.8], [0.85, 0.1]]),
        "reviewers_per_item": 1,
        "max_load": 1,
    }
    return AssignmentProblem(**(fields | changes))


def test_optimum_beats_greedy_where_greedy_takes_the_first_best() -> None:
    problem = _problem()
    assert greedy(problem).pairs == [("A", "e1"), ("B", "e2")]
    result = solve(problem)
    assert result.pairs == [("A", "e2"), ("B", "e1")]
    assert result.total_affinity == pytest.approx(1.65)
    assert (result.min_item_affinity, result.min_pair_affinity) == (0.8, 0.8)


def test_min_loads_are_met_when_feasible_and_reported_when_not() -> None:
    affinity = np.array([[0.9, 0.1, 0.5], [0.9, 0.1, 0.5], [0.9, 0.1, 0.5]])
    problem = _problem(
        items=["A", "B", "C"], experts=["e1", "e2", "e3"], affinity=affinity, max_load=3
    )
    assert [p[1] for p in solve(problem).pairs] == ["e1", "e1", "e1"]
    balanced = solve(replace(problem, min_load=1))
    assert sorted(p[1] for p in balanced.pairs) == ["e1", "e2", "e3"]
    assert balanced.experts_below_min_load == []
    short = solve(replace(problem, min_load=[0, 2, 2]))
    assert sorted(p[1] for p in short.pairs) == ["e2", "e3", "e3"]
    (report,) = short.experts_below_min_load
    assert (report["expert"], report["load"], report["min_load"]) == ("e2", 1, 2)
    assert "评审组已满员" in report["reason"]


def test_understaffed_items_say_why_in_chinese() -> None:
    experts = [f"e{k}" for k in range(1, 7)]
    problem = AssignmentProblem(
        items=["A", "B"],
        experts=experts,
        affinity=np.full((2, 6), 0.5),
        reviewers_per_item=[5, 2],
        max_load=1,
        conflicts={(0, 0), (0, 1), (0, 2)},
        forced={(1, 3), (1, 4)},
    )
    result = solve(problem)
    (short,) = result.items_understaffed
    assert (short["item"], short["assigned"], short["required"]) == ("A", 1, 5)
    assert short["reason"] == (
        "可分配专家不足：需 5 位、已分配 1 位；3 位专家因利益冲突回避，2 位已达评审上限"
    )
    assert (short["conflicts"], short["at_max_load"]) == (3, 2)
    assert "人员不足的项目 1 个" in result.summary()


def test_one_expert_per_institution_on_a_panel() -> None:
    problem = _problem(
        experts=["e1", "e2", "e3"],
        affinity=np.array([[0.9, 0.8, 0.1], [0.9, 0.8, 0.1]]),
        reviewers_per_item=2,
        max_load=2,
        institutions=["甲大学", "甲大学", None],
    )
    result = solve(problem)
    assert result.pairs == [("A", "e1"), ("A", "e3"), ("B", "e1"), ("B", "e3")]
    with pytest.raises(InvalidAssignmentProblem, match="甲大学"):
        replace(problem, forced={(0, 0), (0, 1)})


def test_solving_is_deterministic() -> None:
    rng = np.random.default_rng(7)
    problem = AssignmentProblem(
        items=[f"N{i}" for i in range(40)],
        experts=[f"E{e}" for e in range(15)],
        affinity=np.round(rng.random((40, 15)), 1),  # many ties
        reviewers_per_item=3,
        max_load=9,
        min_load=6,
    )
    assert solve(problem).pairs == solve(problem).pairs


def test_reassignment_keeps_submitted_pairs_and_never_uses_the_withdrawn_expert() -> None:
    rng = np.random.default_rng(3)
    problem = AssignmentProblem(
        items=[f"N{i}" for i in range(12)],
        experts=[f"E{e}" for e in range(8)],
        affinity=rng.random((12, 8)),
        reviewers_per_item=3,
        max_load=6,
        conflicts={(0, 1), (5, 2)},
    )
    first = solve(problem)
    gone = max(problem.experts, key=lambda e: sum(p[1] == e for p in first.pairs))
    own = [p for p in first.pairs if p[1] == gone]
    submitted = {own[0], *first.pairs[:5]}
    for keep_open in (True, False):
        again = reassign_after_withdrawal(problem, first, gone, submitted, keep_open=keep_open)
        assert submitted <= set(again.pairs)
        assert {p for p in again.pairs if p[1] == gone} == {p for p in submitted if p[1] == gone}
        assert again.items_understaffed == [] and again.conflict_violations == 0
        if keep_open:
            assert {p for p in first.pairs if p[1] != gone} <= set(again.pairs)
    with pytest.raises(InvalidAssignmentProblem, match="submitted"):
        reassign_after_withdrawal(problem, first, gone, {("N0", "E1")})


def _instance(path: Path, **changes: Any) -> Path:
    data: dict[str, Any] = {
        "items": ["N1", "N2"],
        "experts": ["E1", "E2", "E3"],
        "affinity": [[0.9, 0.2, 0.4], [0.3, 0.8, 0.5]],
        "conflicts": [["N1", "E1"]],
        "reviewers_per_item": 2,
        "max_load": 2,
        "min_load": 0,
    }
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def test_load_instance_reads_the_neutral_format(tmp_path: Path) -> None:
    problem = load_instance(_instance(tmp_path / "round.json", institutions=["甲", None, "甲"]))
    assert problem.shape == (2, 3) and problem.conflicts == {(0, 0)}
    result = solve(problem)
    assert ("N1", "E1") not in result.pairs and len(result.pairs) == 4


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"affinity": None}, "缺少字段「affinity」"),
        (
            {"affinity": [[0.9, 0.2], [0.3, 0.8, 0.5]]},
            "「affinity」第 1 行（项目「N1」）有 2 个数，应有 3 个",
        ),
        ({"affinity": [[0.9, 0.2, 0.4]]}, "「affinity」有 1 行，应有 2 行"),
        ({"affinity": [[0.9, "高", 0.4], [0.3, 0.8, 0.5]]}, "值「高」不是数"),
        ({"conflicts": [["N1", "E9"]]}, "「conflicts」第 1 项引用了未知的专家「E9」"),
        ({"conflicts": [["N7", "E1"]]}, "「conflicts」第 1 项引用了未知的项目「N7」"),
        ({"max_load": [2, 2]}, "「max_load」有 2 个数，应有 3 个"),
        ({"min_load": 3}, "「min_load」3 大于「max_load」2"),
        ({"reviewers_per_item": -1}, "「reviewers_per_item」不能为负数"),
        ({"items": ["N1", "N1"]}, "「items」中编号「N1」重复"),
        ({"forced": [["N1", "E1"]]}, "既被指定"),
    ],
)
def test_load_instance_errors_name_the_field(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidAssignmentProblem, match=message):
        load_instance(_instance(tmp_path / "round.json", **changes))


def test_load_instance_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidAssignmentProblem, match="找不到实例文件"):
        load_instance(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"items": [', "utf-8")
    with pytest.raises(InvalidAssignmentProblem, match="不是有效的 JSON：第 1 行"):
        load_instance(broken)
