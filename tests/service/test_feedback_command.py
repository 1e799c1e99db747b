"""``techmatch feedback record|list|summary`` on a temp store holding the mini demo data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def temp_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mini_demo_dir: Path) -> None:
    monkeypatch.setenv("TECHMATCH_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TECHMATCH_DEMO_DIR", str(mini_demo_dir))
    assert runner.invoke(app, ["demo", "load"]).exit_code == 0


def test_record_list_and_summary() -> None:
    steps = [
        ["XQ-A-001", "--result", "CG-A-001", "--action", "已联系"],
        [
            "XQ-A-001",
            "--result",
            "CG-A-001",
            "--action",
            "signed",
            "--amount",
            "260",
            "--note",
            "首期",
        ],
        ["XQ-A-001", "--result", "CG-A-011", "--action", "不合适", "--reason", "不相关"],
        ["XQ-A-012", "--expert", "ZJ-A-001", "--action", "meeting", "--actor", "wang"],
    ]
    for arguments in steps:
        result = runner.invoke(app, ["feedback", "record", *arguments])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("已记录反馈 #")

    listed = runner.invoke(app, ["feedback", "list", "--need", "XQ-A-001"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "XQ-A-001 × CG-A-011 不合适（irrelevant）" in lines[0]
    assert "XQ-A-001 × CG-A-001 已签约（260 万元，首期） cli" in lines[1]
    assert lines[-1] == "共 3 条"

    as_json = json.loads(runner.invoke(app, ["feedback", "list", "--json"]).output)
    assert [row["action"] for row in as_json] == ["meeting", "rejected", "signed", "contacted"]
    assert as_json[0]["actor"] == "wang" and as_json[0]["result"] is None
    only_signed = runner.invoke(app, ["feedback", "list", "--action", "已签约", "--json"])
    assert [row["amount"] for row in json.loads(only_signed.output)] == [260.0]

    summary = json.loads(runner.invoke(app, ["feedback", "summary"]).output)
    assert (summary["events"], summary["pairs"], summary["signed_amount"]) == (4, 3, 260.0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["record", "XQ-A-001", "--result", "CG-A-001", "--action", "点赞"], "字段「action」"),
        (["record", "XQ-A-001", "--action", "opened"], "字段「result」"),
        (["record", "XQ-A-001", "--result", "CG-A-001", "--action", "signed"], "字段「amount」"),
        (
            ["record", "XQ-404", "--result", "CG-A-001", "--action", "opened"],
            "找不到需求「XQ-404」",
        ),
        (["list", "--result", "CG-404"], "找不到成果「CG-404」"),
        (["list", "--action", "nope"], "字段「action」"),
    ],
)
def test_bad_input_exits_2_with_the_reason(arguments: list[str], message: str) -> None:
    result = runner.invoke(app, ["feedback", *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert json.loads(runner.invoke(app, ["feedback", "summary"]).output)["events"] == 0
