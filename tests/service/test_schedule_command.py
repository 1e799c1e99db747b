"""``techmatch schedule``: the command registered on a bare typer app, run with typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from service.commands.schedule import schedule

runner = CliRunner()
app = typer.Typer()
app.command("schedule")(schedule)


@app.callback()
def _group() -> None:
    """Keeps ``schedule`` a subcommand, as under ``techmatch``."""


def _instance(tmp_path: Path) -> Path:
    path = tmp_path / "对接会.json"
    data = {
        "slots": {"count": 2, "start": "14:00", "minutes": 15},
        "tables": 1,
        "enterprises": [{"id": "E1", "name": "华光新材"}, "E2"],
        "teams": [{"id": "T1", "max_meetings": 1}, {"id": "T2", "available": [1]}],
        "meetings": [
            {"enterprise": "E1", "team": "T1", "score": 0.9, "priority": "mutual"},
            {"enterprise": "E2", "team": "T1", "score": 0.8, "priority": "one_sided"},
            {"enterprise": "E2", "team": "T2", "score": 0.4, "priority": "proposed"},
        ],
    }
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def test_json_output_has_the_meetings_reasons_and_figures(tmp_path: Path) -> None:
    arguments = ["schedule", "--instance", str(_instance(tmp_path)), "--json", "--time-limit", "5"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "meetings",
        "unplaced",
        "placed_count",
        "total_score",
        "solver",
        "optimal",
        "wall_s",
    ):
        assert key in data
    assert data["solver"] == "ortools-cp-sat" and data["optimal"] is True
    assert data["placed_count"] == 2 and abs(data["total_score"] - 1.3) < 1e-9
    held = {
        (m["enterprise"], m["team"]): (m["slot"], m["table"], m["time"]) for m in data["meetings"]
    }
    assert held == {("E2", "T2"): (1, 1, "14:00–14:15"), ("E1", "T1"): (2, 1, "14:15–14:30")}
    (unplaced,) = data["unplaced"]
    assert (unplaced["enterprise"], unplaced["team"], unplaced["code"]) == (
        "E2",
        "T1",
        "limit_reached",
    )
    assert unplaced["reason"].startswith("团队「T1」已达最多会谈数 1（均为优先级更高的会谈）")


def test_human_output_is_chinese_with_the_figures(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schedule", "--instance", str(_instance(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "安排 2 / 3 场，总分 1.3000" in result.stdout and "已证明最优" in result.stdout
    assert "第 1 时段 14:00–14:15" in result.stdout
    assert "桌 1：E1–T1（双向申请，0.900）" in result.stdout
    assert "E2–T1（单向申请，0.800）：团队「T1」已达最多会谈数 1" in result.stdout


def test_a_bad_instance_exits_2_and_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"slots": {"count": 2}, "tables": 1, "enterprises": [], "teams": []}', "utf-8")
    result = runner.invoke(app, ["schedule", "--instance", str(path)])
    assert result.exit_code == 2
    assert "排期失败：实例缺少字段「meetings」" in result.output


def test_a_meeting_with_an_unknown_team_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    data = {
        "slots": {"count": 2},
        "tables": 1,
        "enterprises": ["E1"],
        "teams": [],
        "meetings": [{"enterprise": "E1", "team": "T7"}],
    }
    path.write_text(json.dumps(data), "utf-8")
    result = runner.invoke(app, ["schedule", "--instance", str(path), "--json"])
    assert result.exit_code == 2
    assert "排期失败：第 1 场会谈（E1–T7）引用了未知的团队「T7」" in result.output
