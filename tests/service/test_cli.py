"""The ``techmatch`` command line, run in-process with typer's runner on a temp store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matching.config import Settings
from matching.encode import Encoder
from matching.engine import MatchingEngine
from matching.store.database import Database
from service.cli import app
from tests.factories import need_row, write_csv

runner = CliRunner()


@pytest.fixture(autouse=True)
def temp_store(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mini_demo_dir: Path,
    encoder_settings: Settings,
) -> Path:
    monkeypatch.setenv("TECHMATCH_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TECHMATCH_DEMO_DIR", str(mini_demo_dir))
    monkeypatch.setenv("TECHMATCH_MODELS_DIR", str(encoder_settings.resolved_models_dir))
    return tmp_path


def test_gbk_csv_with_errors_is_reported_by_row_and_nothing_imported(tmp_path: Path) -> None:
    rows = [need_row(1), need_row(2, **{"截止日期": "2027-02-30"}), need_row(3, **{"企业名称": ""})]
    path = write_csv(tmp_path / "需求.csv", rows, encoding="gbk")
    result = runner.invoke(app, ["import", "needs", str(path)])
    assert result.exit_code == 1
    assert "第 3 行，「截止日期」列，值「2027-02-30」：日期不存在" in result.output
    assert "第 4 行，「企业名称」列：必填项为空" in result.output
    assert "未导入任何数据" in result.output
    stats = runner.invoke(app, ["stats"])
    assert json.loads(stats.output)["needs"] == 0

    skipped = runner.invoke(app, ["import", "needs", str(path), "--skip-invalid", "--json"])
    assert skipped.exit_code == 0
    report = json.loads(skipped.output)
    assert (report["created"], report["skipped"], report["encoding"]) == (1, 2, "gb18030")


def test_unreadable_file_exits_2_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = runner.invoke(app, ["import", "needs", str(path)])
    assert result.exit_code == 2
    assert "导入失败：文件是空的" in result.output


def test_setup_loads_demo_once_then_export_and_template(tmp_path: Path, encoder: Encoder) -> None:
    first = runner.invoke(app, ["setup"])
    assert first.exit_code == 0, first.output
    assert "索引 results：rebuilt" in first.output
    counts = json.loads(runner.invoke(app, ["stats"]).output)
    second = runner.invoke(app, ["setup"])
    assert "索引 results：loaded（up to date），新嵌入 0" in second.output
    assert json.loads(runner.invoke(app, ["stats"]).output) == counts
    exported = runner.invoke(app, ["export", "experts", str(tmp_path / "experts.xlsx")])
    assert exported.exit_code == 0 and f"已导出 {counts['experts']} 条" in exported.output
    templated = runner.invoke(app, ["template", "results", str(tmp_path / "t.xlsx")])
    assert templated.exit_code == 0 and (tmp_path / "t.xlsx").exists()


def test_db_commands(tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    current = runner.invoke(app, ["db", "current"]).output
    head = current.split()[0]
    assert head.isdigit() and current.startswith(f"{head} (head {head})")
    assert runner.invoke(app, ["db", "downgrade", "base"]).exit_code == 0
    assert runner.invoke(app, ["db", "current"]).output.startswith("None")


def test_match_command_json_is_the_library_list(tmp_path: Path, encoder: Encoder) -> None:
    assert runner.invoke(app, ["setup"]).exit_code == 0
    settings = Settings()
    need_ref = _first_need_ref(settings)
    result = runner.invoke(app, ["match", "need", need_ref, "--top", "5", "--json"])
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.output)
    database = Database(settings.resolved_database_url)
    engine = MatchingEngine(database, settings)
    engine.open()
    from_library = engine.need_to_results(need_ref, top=5).to_dict()
    database.dispose()
    assert from_cli["query"]["ref"] == need_ref
    assert [m["ref"] for m in from_cli["items"]] == [m["ref"] for m in from_library["items"]]
    assert [m["score"] for m in from_cli["items"]] == [m["score"] for m in from_library["items"]]
    assert from_cli["model_id"] == from_library["model_id"]
    text = runner.invoke(app, ["match", "need", need_ref, "--top", "3"])
    assert "得分" in text.output and "依据：" in text.output
    missing = runner.invoke(app, ["match", "need", "NO-SUCH-NEED"])
    assert missing.exit_code == 2 and "找不到" in missing.output


def _first_need_ref(settings: Settings) -> str:
    import csv

    with open(settings.demo_dir / "needs.csv", encoding="utf-8") as handle:
        return next(csv.DictReader(handle))["需求编号"]


def test_first_setup_in_development_creates_an_admin_once(tmp_path: Path) -> None:
    from matching.accounts import authenticate
    from matching.store.models import User
    from service.cli import setup_store

    settings = Settings(data_dir=tmp_path / "dev", load_demo=False)
    database = setup_store(settings)
    path = settings.data_dir / "initial-admin-password.txt"
    username, password = path.read_text("utf-8").split()
    assert username == "admin" and path.stat().st_mode & 0o777 == 0o600
    with database.session() as session:
        assert authenticate(session, "admin", password) is not None
    setup_store(settings)
    assert path.read_text("utf-8").split() == [username, password]
    with database.session() as session:
        assert session.query(User).count() == 1
    production = Settings(
        data_dir=tmp_path / "prod", load_demo=False, environment="production", secret_key="k" * 40
    )
    quiet = setup_store(production)
    with quiet.session() as session:
        assert session.query(User).count() == 0
    assert not (production.data_dir / "initial-admin-password.txt").exists()
