"""Event scheduling: every schedule is valid and maximal; on tiny events brute force confirms the
lexicographic optimum and each reported reason's claim (see the ``matching.event_schedule`` doc).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from matching import event_schedule
from matching.event_schedule import (
    EventProblem,
    EventSchedule,
    InvalidEventProblem,
    Participant,
    ParticipantKind,
    greedy,
    load_instance,
    parse_instance,
    solve,
)
from matching.meeting_proposals import Meeting, Priority

ENTERPRISE, TEAM = ParticipantKind.ENTERPRISE, ParticipantKind.TEAM
Schedule = dict[int, int]  # meeting index → slot number (1-based)
TINY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def events(draw: st.DrawFn) -> EventProblem:
    """Tiny events: 1-3 slots, 1-2 tables, 1-3 enterprises and teams, up to 6 meetings."""
    slots = draw(st.integers(1, 3))
    every = list(range(1, slots + 1))

    def people(kind: ParticipantKind, prefix: str) -> list[Participant]:
        return [
            Participant(
                id=f"{prefix}{i}",
                kind=kind,
                available=draw(st.none() | st.frozensets(st.sampled_from(every))),
                max_meetings=draw(st.none() | st.integers(0, 3)),
            )
            for i in range(draw(st.integers(1, 3)))
        ]

    enterprises, teams = people(ENTERPRISE, "E"), people(TEAM, "T")
    pairs = [(e.id, t.id) for e in enterprises for t in teams]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=6, unique=True))
    meetings = [
        Meeting(e, t, draw(st.integers(0, 10)) / 10, draw(st.sampled_from(list(Priority))))
        for e, t in chosen
    ]
    return EventProblem(
        slots=slots,
        tables=draw(st.integers(1, 2)),
        participants=[*enterprises, *teams],
        meetings=meetings,
    )


def _index(problem: EventProblem) -> dict[tuple[str, str], int]:
    return {m.pair: i for i, m in enumerate(problem.meetings)}


def _placed(problem: EventProblem, result: EventSchedule) -> Schedule:
    index = _index(problem)
    return {index[m["enterprise"], m["team"]]: m["slot"] for m in result.meetings}


def _free(problem: EventProblem, pid: str) -> set[int]:
    person = next(p for p in problem.participants if p.id == pid)
    return set(range(1, problem.slots + 1)) if person.available is None else set(person.available)


def _limit(problem: EventProblem, pid: str) -> int:
    person = next(p for p in problem.participants if p.id == pid)
    return problem.slots if person.max_meetings is None else person.max_meetings


def _valid(problem: EventProblem, schedule: Schedule) -> bool:
    """Nobody twice in a slot, both sides free, limits and tables respected."""
    seen: set[tuple[str, int]] = set()
    load: dict[str, int] = {}
    per_slot: dict[int, int] = {}
    for m, slot in schedule.items():
        meeting = problem.meetings[m]
        for pid in meeting.pair:
            if (pid, slot) in seen or slot not in _free(problem, pid):
                return False
            seen.add((pid, slot))
            load[pid] = load.get(pid, 0) + 1
        per_slot[slot] = per_slot.get(slot, 0) + 1
    return all(n <= _limit(problem, pid) for pid, n in load.items()) and all(
        n <= problem.tables for n in per_slot.values()
    )


def _all_schedules(problem: EventProblem) -> Iterator[Schedule]:
    """Every valid schedule, by brute force (each meeting: not held, or one common slot)."""
    options = [
        [None, *sorted(_free(problem, m.enterprise) & _free(problem, m.team))]
        for m in problem.meetings
    ]
    for choice in itertools.product(*options):
        schedule = {m: slot for m, slot in enumerate(choice) if slot is not None}
        if _valid(problem, schedule):
            yield schedule


def _tiers(problem: EventProblem, schedule: Schedule) -> tuple[int, int, int]:
    ranks = [problem.meetings[m].priority.rank for m in schedule]
    return ranks.count(3), ranks.count(2), ranks.count(1)


def _score(problem: EventProblem, schedule: Schedule) -> float:
    return sum(problem.meetings[m].score for m in schedule)


def _check_valid_and_maximal(problem: EventProblem, result: EventSchedule) -> None:
    placed = _placed(problem, result)
    assert _valid(problem, placed)
    tables = [(m["slot"], m["table"]) for m in result.meetings]
    assert len(set(tables)) == len(tables)
    assert all(1 <= table <= problem.tables for _, table in tables)
    assert result.placed_count == len(placed)
    assert result.total_score == pytest.approx(_score(problem, placed))
    counts = {p.value: 0 for p in Priority}
    for m in placed:
        counts[problem.meetings[m].priority.value] += 1
    assert result.placed_by_priority == counts
    unplaced = [(u["enterprise"], u["team"]) for u in result.unplaced]
    assert len(unplaced) + len(placed) == len(problem.meetings)
    assert set(unplaced) | {problem.meetings[m].pair for m in placed} == set(_index(problem))
    for pair in unplaced:  # maximal: no unplaced meeting can be added as the schedule stands
        m = _index(problem)[pair]
        for slot in range(1, problem.slots + 1):
            assert not _valid(problem, {**placed, m: slot})


def _check_structural_codes(problem: EventProblem, result: EventSchedule) -> None:
    structural = {
        _index(problem)[u["enterprise"], u["team"]]
        for u in result.unplaced
        if u["code"] in ("no_common_slot", "no_quota")
    }
    assert all(not structural & set(s) for s in _all_schedules(problem))


@TINY
@given(events())
def test_greedy_is_valid_maximal_and_its_structural_reasons_hold(problem: EventProblem) -> None:
    result = greedy(problem)
    _check_valid_and_maximal(problem, result)
    _check_structural_codes(problem, result)
    assert result.solver == "greedy-first-fit" and not result.optimal
    assert all("未证明最优" in u["reason"] for u in result.unplaced if u["code"] == "slots_taken")


def _solve(problem: EventProblem, relaxation: bool) -> EventSchedule:
    """``solve``; without ``relaxation`` no level is settled by fitting the relaxation's
    meetings, so CP-SAT's full search settles every level (tiny events rarely need it)."""
    if relaxation:
        return solve(problem, time_limit_s=5.0, workers=1)
    with patch("matching.event_schedule._fit", return_value=None):
        result = solve(problem, time_limit_s=5.0, workers=1)
    return result


@TINY
@given(events(), st.booleans())
def test_solve_is_the_lexicographic_optimum_and_its_reasons_hold(
    problem: EventProblem, relaxation: bool
) -> None:
    result = _solve(problem, relaxation)
    _check_valid_and_maximal(problem, result)
    _check_structural_codes(problem, result)
    assert result.optimal and result.counts_optimal and result.solver == "ortools-cp-sat"
    placed = _placed(problem, result)
    every = list(_all_schedules(problem))
    best = max(_tiers(problem, s) for s in every)
    assert _tiers(problem, placed) == best
    # Scores are optimised rounded to 1/1000 of the largest: at most 0.5 unit lost per meeting.
    top = max((m.score for m in problem.meetings), default=0.0)
    best_score = max(_score(problem, s) for s in every if _tiers(problem, s) == best)
    assert result.total_score >= best_score - len(placed) * top / 1000 - 1e-9
    for u in result.unplaced:
        if u["code"] not in ("limit_reached", "slots_taken"):
            continue
        assert "已证明最优" in u["reason"]
        m = _index(problem)[u["enterprise"], u["team"]]
        rank = problem.meetings[m].priority.rank
        keep = {k for k in placed if problem.meetings[k].priority.rank >= rank}
        assert not any(m in s and keep <= set(s) for s in every)


@TINY
@given(events())
def test_with_one_priority_no_schedule_holds_more_meetings(problem: EventProblem) -> None:
    same = [Meeting(m.enterprise, m.team, m.score, Priority.ONE_SIDED) for m in problem.meetings]
    problem = EventProblem(
        slots=problem.slots,
        tables=problem.tables,
        participants=problem.participants,
        meetings=same,
    )
    result = solve(problem, time_limit_s=5.0, workers=1)
    assert result.placed_count == max(len(s) for s in _all_schedules(problem))


def _event(
    meetings: list[tuple[str, str, float, Priority]],
    *,
    slots: int = 2,
    tables: int = 5,
    available: dict[str, set[int]] | None = None,
    limits: dict[str, int] | None = None,
) -> EventProblem:
    ids = sorted({m[0] for m in meetings} | {m[1] for m in meetings})
    available, limits = available or {}, limits or {}
    return EventProblem(
        slots=slots,
        tables=tables,
        participants=[
            Participant(
                id=pid,
                kind=ENTERPRISE if pid.startswith("E") else TEAM,
                available=frozenset(available[pid]) if pid in available else None,
                max_meetings=limits.get(pid),
            )
            for pid in ids
        ],
        meetings=[Meeting(*m) for m in meetings],
    )


MUTUAL, ONE_SIDED, PROPOSED = Priority.MUTUAL, Priority.ONE_SIDED, Priority.PROPOSED


def test_a_mutual_request_is_not_traded_for_two_proposals() -> None:
    # E1–T1 (mutual) blocks E1–T2 and E2–T1 (proposals) in the only slot: 1 meeting, not 2.
    problem = _event(
        [("E1", "T1", 0.1, MUTUAL), ("E1", "T2", 0.9, PROPOSED), ("E2", "T1", 0.9, PROPOSED)],
        slots=1,
    )
    result = solve(problem, time_limit_s=5.0, workers=1)
    assert [(m["enterprise"], m["team"]) for m in result.meetings] == [("E1", "T1")]
    assert {u["code"] for u in result.unplaced} == {"slots_taken"}


def test_reasons_name_the_cause_in_chinese() -> None:
    problem = _event(
        [
            ("E1", "T1", 0.9, MUTUAL),
            ("E1", "T2", 0.8, MUTUAL),
            ("E1", "T3", 0.7, ONE_SIDED),
            ("E2", "T4", 0.6, MUTUAL),
            ("E3", "T1", 0.5, PROPOSED),
            ("E4", "T1", 0.5, PROPOSED),
        ],
        slots=3,
        available={"E2": {1}, "T4": {2, 3}, "E4": set()},
        limits={"E1": 2, "E3": 0},
    )
    result = solve(problem, time_limit_s=5.0, workers=1)
    reasons = {(u["enterprise"], u["team"]): (u["code"], u["reason"]) for u in result.unplaced}
    assert reasons["E2", "T4"] == ("no_common_slot", "双方无共同空闲时段")
    assert reasons["E4", "T1"] == ("no_common_slot", "企业「E4」没有空闲时段")
    assert reasons["E3", "T1"] == ("no_quota", "企业「E3」的最多会谈数为 0")
    code, reason = reasons["E1", "T3"]
    assert code == "limit_reached"
    assert reason.startswith("企业「E1」已达最多会谈数 2（均为优先级更高的会谈）")
    assert reason.endswith("即使调整其他会谈的时段、取消优先级更低的会谈也无法安排（已证明最优）")


def test_a_full_room_is_reported_as_capacity_bound() -> None:
    problem = _event(
        [("E1", "T1", 0.9, MUTUAL), ("E2", "T2", 0.8, MUTUAL), ("E3", "T3", 0.7, ONE_SIDED)],
        slots=1,
        tables=2,
    )
    result = solve(problem, time_limit_s=5.0, workers=1)
    (unplaced,) = result.unplaced
    assert unplaced["code"] == "slots_taken" and unplaced["enterprise"] == "E3"
    assert unplaced["reason"].startswith("双方共同空闲的 1 个时段均已排满：1 个时段桌位已满；")


def test_solve_beats_first_fit_when_the_earliest_slot_is_the_wrong_one() -> None:
    # First-fit puts E1–T1 into slot 1, the only slot of E1–T2: CP-SAT moves it to slot 2.
    problem = _event([("E1", "T1", 0.9, MUTUAL), ("E1", "T2", 0.8, MUTUAL)], available={"T2": {1}})
    assert greedy(problem).placed_count == 1
    result = solve(problem, time_limit_s=5.0, workers=1)
    assert result.placed_count == 2 and result.optimal
    assert {(m["team"], m["slot"]) for m in result.meetings} == {("T1", 2), ("T2", 1)}


def test_a_later_level_never_undoes_an_earlier_one() -> None:
    # Two one-sided requests could fill both of E1's slots; the two mutual ones come first.
    problem = _event(
        [
            ("E1", "T1", 0.1, MUTUAL),
            ("E1", "T2", 0.1, MUTUAL),
            ("E1", "T3", 0.9, ONE_SIDED),
            ("E1", "T4", 0.9, ONE_SIDED),
        ],
        available={"T2": {1}},
    )
    # Here the relaxation is loose (it would hold E3–T2 too), so only the level's constraint
    # in the full model keeps both mutual meetings.
    loose = _event(
        [
            ("E1", "T1", 0.5, MUTUAL),
            ("E1", "T2", 0.5, MUTUAL),
            ("E2", "T1", 0.5, MUTUAL),
            ("E3", "T2", 0.5, ONE_SIDED),
        ],
        slots=3,
        available={"E1": {1, 2}, "T1": {1, 3}, "T2": {1}, "E2": {1}},
    )
    for event, relaxation in itertools.product((problem, loose), (True, False)):
        result = _solve(event, relaxation)
        assert result.placed_by_priority == {"mutual": 2, "one_sided": 0, "proposed": 0}


def test_when_the_relaxation_does_not_fit_the_full_search_settles_it() -> None:
    # Each participant may meet twice, but E1–T1 shares only slot 1 with E1 and T1, where E1
    # must meet T2 and T1 must meet E2: the relaxation holds all three, the slots allow two.
    problem = _event(
        [("E1", "T1", 0.5, MUTUAL), ("E1", "T2", 0.5, MUTUAL), ("E2", "T1", 0.5, MUTUAL)],
        slots=3,
        available={"E1": {1, 2}, "T1": {1, 3}, "T2": {1}, "E2": {1}},
    )
    with patch("matching.event_schedule._search", wraps=event_schedule._search) as search:
        result = solve(problem, time_limit_s=5.0, workers=1)
    assert result.placed_count == 2 and result.optimal
    assert search.call_count == 2  # the mutual level and the score level


def test_an_enterprise_keeps_its_table() -> None:
    problem = _event(
        [("E1", "T1", 0.9, MUTUAL), ("E2", "T2", 0.9, MUTUAL), ("E2", "T1", 0.8, MUTUAL)],
        available={"E1": {1}, "T2": {1}},
    )
    result = solve(problem, time_limit_s=5.0, workers=1)
    tables = {(m["enterprise"], m["slot"]): m["table"] for m in result.meetings}
    assert tables["E2", 1] == tables["E2", 2]


def test_greedy_is_the_fallback_when_cp_sat_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = _event([("E1", "T1", 0.9, MUTUAL), ("E1", "T2", 0.8, MUTUAL)], available={"T2": {1}})
    monkeypatch.setattr(cp_model.CpSolver, "solve", lambda *_: cp_model.UNKNOWN)
    result = solve(problem, time_limit_s=1.0, workers=1)
    assert result.solver == "greedy-first-fit" and result.status == "UNKNOWN"
    assert not result.optimal and result.meetings == greedy(problem).meetings


def test_the_same_seed_gives_the_same_schedule() -> None:
    pairs = [(f"E{i}", f"T{j}") for i in range(6) for j in range(6) if (i * j + i) % 3 != 1]
    problem = _event(
        [(e, t, ((len(e) + 7 * int(t[1:])) % 10) / 10, MUTUAL) for e, t in pairs],
        slots=4,
        tables=3,
        limits={"E0": 2},
    )
    runs = [solve(problem, time_limit_s=10.0, workers=2, seed=7).to_dict() for _ in range(2)]
    for run in runs:
        run.pop("wall_s")
    assert runs[0] == runs[1]


def _instance() -> dict[str, Any]:
    return {
        "slots": {"count": 3, "start": "14:00", "minutes": 20},
        "tables": 2,
        "max_meetings": 2,
        "enterprises": [{"id": "E1", "name": "华光新材", "needs": ["N1"]}, "E2"],
        "teams": [{"id": "T1", "unavailable": [1]}, {"id": "T2", "available": [2, 3]}],
        "meetings": [
            {"enterprise": "E1", "team": "T1", "score": 0.8, "priority": "mutual"},
            {"enterprise": "E2", "team": "T2", "score": 0.5},
        ],
    }


def test_a_json_instance_is_read_with_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "对接会.json"
    path.write_text(json.dumps(_instance(), ensure_ascii=False), "utf-8")
    problem = load_instance(path)
    assert problem.slots == 3 and problem.tables == 2 and problem.slot_label(2) == "14:20–14:40"
    e1, _, t1, _ = problem.participants
    assert e1.name == "华光新材" and e1.max_meetings == 2 and e1.available is None
    assert t1.available == {2, 3}
    assert problem.meetings[1] == Meeting("E2", "T2", 0.5, Priority.PROPOSED)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("tables"), "实例缺少字段「tables」"),
        (lambda d: d.update(table=3), "实例含有未知字段「table」"),
        (lambda d: d.update(tables=0), "「tables」应为 ≥ 1 的整数，收到 0"),
        (lambda d: d["slots"].update(count="12"), "「slots.count」应为 ≥ 1 的整数"),
        (lambda d: d["slots"].update(start="9点"), "「start」应为 HH:MM 形式的时间"),
        (
            lambda d: d["teams"][0].update(unavailable=[4]),
            "「teams」第 1 项的「unavailable」中的「4」不在 1–3 之内",
        ),
        (
            lambda d: d["teams"][1].update(unavailable=[1]),
            "不能同时给出「available」和「unavailable」",
        ),
        (lambda d: d["enterprises"].append("T1"), "参会方编号「T1」重复"),
        (
            lambda d: d["enterprises"][0].update(max_meetings=-1),
            "「enterprises」第 1 项的「max_meetings」应为 ≥ 0 的整数",
        ),
        (lambda d: d["meetings"][0].update(enterprise="E9"), "引用了未知的企业「E9」"),
        (lambda d: d["meetings"][0].update(enterprise="T2"), "中的「T2」不是企业"),
        (lambda d: d["meetings"].append(d["meetings"][0]), "第 3 场会谈（E1–T1）重复"),
        (
            lambda d: d["meetings"][0].update(priority="urgent"),
            "「priority」应为 mutual、one_sided 或 proposed",
        ),
        (lambda d: d["meetings"][0].update(score=-0.1), "的分数应为 ≥ 0 的有限数"),
        (lambda d: d["meetings"][0].update(score="高"), "「score」应为数"),
        (lambda d: d["meetings"][0].pop("team"), "「meetings」第 1 项缺少字段「team」"),
    ],
)
def test_instance_errors_name_the_field(change: Any, message: str) -> None:
    data = _instance()
    change(data)
    with pytest.raises(InvalidEventProblem, match=message):
        parse_instance(data)


def test_unreadable_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidEventProblem, match="找不到实例文件"):
        load_instance(tmp_path / "missing.json")
    path = tmp_path / "bad.json"
    path.write_text('{"slots": ', "utf-8")
    with pytest.raises(InvalidEventProblem, match="不是有效的 JSON：第 1 行第 11 列"):
        load_instance(path)
    with pytest.raises(InvalidEventProblem, match="实例应为 JSON 对象"):
        parse_instance([1, 2])
