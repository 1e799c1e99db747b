"""``techmatch backup``, ``techmatch restore`` and ``techmatch reindex`` on temp stores."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matching.encode import Encoder
from service.cli import app

runner = CliRunner()


@pytest.fixture
def tiny_demo_dir(tmp_path: Path, mini_demo_dir: Path) -> Path:
    """A few rows of each demo file, so that reindexing embeds a dozen texts."""
    folder = tmp_path / "demo"
    folder.mkdir()
    for name, count in (("needs.csv", 4), ("results.csv", 6), ("experts.csv", 2)):
        with open(mini_demo_dir / name, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))[:count]
        with open(folder / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    (folder / "pairs.csv").write_text("need_ref,result_ref,why\n", encoding="utf-8")
    return folder


def _use(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("TECHMATCH_DATA_DIR", str(data_dir))


def test_backup_restore_refuse_force_and_reindex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_demo_dir: Path, encoder: Encoder
) -> None:
    monkeypatch.setattr("matching.engine.load_encoder", lambda settings: encoder)
    monkeypatch.setenv("TECHMATCH_DEMO_DIR", str(tiny_demo_dir))
    _use(monkeypatch, tmp_path / "origin")
    assert runner.invoke(app, ["demo", "load"]).exit_code == 0
    counts = json.loads(runner.invoke(app, ["stats"]).output)

    backup_file = tmp_path / "备份.tar"
    made = runner.invoke(app, ["backup", str(backup_file)])
    assert made.exit_code == 0, made.output
    assert made.output.startswith(f"已备份到 {backup_file}：sqlite 数据库")
    assert f"needs {counts['needs']}" in made.output

    _use(monkeypatch, tmp_path / "fresh")
    restored = runner.invoke(app, ["restore", str(backup_file)])
    assert restored.exit_code == 0, restored.output
    assert "请运行 techmatch reindex" in restored.output
    assert json.loads(runner.invoke(app, ["stats"]).output) == counts

    refused = runner.invoke(app, ["restore", str(backup_file)])
    assert refused.exit_code == 1
    assert "恢复失败：目标数据库不是空的" in refused.output and "--force" in refused.output
    forced = runner.invoke(app, ["restore", str(backup_file), "--force"])
    assert forced.exit_code == 0, forced.output

    rebuilt = runner.invoke(app, ["reindex"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.output.count("rebuilt") == 3
    assert f"新嵌入 {counts['needs']}" in rebuilt.output
    assert (tmp_path / "fresh" / "indexes" / "needs").is_dir()
    again = runner.invoke(app, ["reindex"])
    assert again.exit_code == 0 and again.output.startswith("已删除旧索引文件")
    assert again.output.count("rebuilt") == 3


def test_damaged_backup_and_missing_file_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, tmp_path / "var")
    missing = runner.invoke(app, ["restore", str(tmp_path / "nothing.tar")])
    assert missing.exit_code == 1
    assert "恢复失败：找不到备份文件" in missing.output
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(b"\0" * 10 + b"x" * 1000)
    result = runner.invoke(app, ["restore", str(damaged)])
    assert result.exit_code == 1
    assert "恢复失败：" in result.output
    assert not (tmp_path / "var" / "techmatch.db").exists()
