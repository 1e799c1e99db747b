"""Progress bars of the CLI: drawn on a terminal (standard error), absent otherwise, so that
``--json`` and the result lines stay parseable."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from matching import engine as engine_module
from service.cli import app
from service.commands import progress
from tests.factories import need_row, write_csv
from tests.matching.test_embedding_cache import FakeCountingEncoder

runner = CliRunner()


@pytest.fixture(autouse=True)
def temp_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TECHMATCH_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TECHMATCH_LOAD_DEMO", "false")
    monkeypatch.setattr(engine_module, "load_encoder", lambda settings: FakeCountingEncoder())
    return tmp_path


def _terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(progress, "_terminal", lambda: console)
    return screen


def test_import_json_output_is_unchanged_off_a_terminal(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "needs.csv", [need_row(i) for i in range(1, 6)])
    result = runner.invoke(app, ["import", "needs", str(path), "--json", "--allow-duplicates"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    assert report["created"] == 5


def test_import_draws_a_bar_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    screen = _terminal(monkeypatch)
    path = write_csv(tmp_path / "needs.csv", [need_row(i) for i in range(1, 6)])
    result = runner.invoke(app, ["import", "needs", str(path), "--json", "--allow-duplicates"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["created"] == 5
    drawn = screen.getvalue()
    assert "检查并导入" in drawn and "10/10" in drawn


def test_reindex_draws_a_bar_per_corpus_and_keeps_its_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "needs.csv", [need_row(i) for i in range(1, 4)])
    assert runner.invoke(app, ["import", "needs", str(path), "--allow-duplicates"]).exit_code == 0
    plain = runner.invoke(app, ["reindex"])
    assert plain.exit_code == 0, plain.output
    assert "索引 needs：rebuilt" in plain.output and "嵌入" not in plain.output.replace(
        "新嵌入", ""
    )
    screen = _terminal(monkeypatch)
    drawn = runner.invoke(app, ["reindex"])
    assert drawn.exit_code == 0, drawn.output
    assert "索引已重建" in drawn.output
    assert "嵌入需求文本" in screen.getvalue() and "3/3" in screen.getvalue()
