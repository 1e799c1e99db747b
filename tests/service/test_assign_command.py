"""``techmatch assign``: the command registered on a bare typer app, run with typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from service.commands.assign import assign

runner = CliRunner()
app = typer.Typer()
app.command("assign")(assign)


@app.callback()
def _group() -> None:
    """Keeps ``assign`` a subcommand, as under ``techmatch``."""


def _instance(tmp_path: Path) -> Path:
    path = tmp_path / "评审轮次.json"
    data = {
        "items": ["N1", "N2", "N3"],
        "experts": ["E1", "E2", "E3"],
        "affinity": [[0.9, 0.6, 0.2], [0.8, 0.1, 0.7], [0.3, 0.5, 0.4]],
        "conflicts": [["N1", "E1"], ["N3", "E3"]],
        "reviewers_per_item": 2,
        "max_load": 2,
        "min_load": 1,
    }
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def test_json_output_has_the_pairs_and_figures(tmp_path: Path) -> None:
    result = runner.invoke(app, ["assign", "--instance", str(_instance(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "pairs",
        "total_affinity",
        "min_item_affinity",
        "conflict_violations",
        "items_understaffed",
        "wall_s",
    ):
        assert key in data
    assert ["N1", "E1"] not in data["pairs"] and ["N3", "E3"] not in data["pairs"]
    assert len(data["pairs"]) == 6 and data["conflict_violations"] == 0
    assert data["total_affinity"] == pytest.approx(3.1)


def test_human_output_is_chinese_with_the_figures(tmp_path: Path) -> None:
    result = runner.invoke(app, ["assign", "--instance", str(_instance(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "总匹配度 3.1000" in result.stdout and "利益冲突违规 0" in result.stdout
    assert "N2：E1（0.800）、E3（0.700）" in result.stdout


def test_a_bad_instance_exits_2_and_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"items": ["N1"], "experts": ["E1"], "affinity": [[0.5]]}', "utf-8")
    result = runner.invoke(app, ["assign", "--instance", str(path)])
    assert result.exit_code == 2
    assert "分配失败：实例缺少字段「reviewers_per_item」「max_load」" in result.output
