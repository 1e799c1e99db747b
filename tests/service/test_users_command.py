"""``techmatch user ...`` and ``techmatch apikey ...`` round trips on a temp store."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from matching.accounts import authenticate, verify_api_key
from matching.config import Settings
from matching.record_edits import create_record
from matching.store.database import Database
from matching.store.models import ChangeRecord, User
from service.cli import app

runner = CliRunner()
PASSWORD = "secret-pass-42"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The store the commands open (``TECHMATCH_DATA_DIR``), with an enterprise and an expert."""
    monkeypatch.setenv("TECHMATCH_DATA_DIR", str(tmp_path / "var"))
    database = Database(Settings().resolved_database_url)
    database.upgrade()
    with database.session("test") as session:
        create_record(session, "organizations", {"name": "铜陵甲铜业有限公司"})
        create_record(session, "experts", {"name": "赵明", "external_ref": "ZJ-1"})
    return database


def _create(*args: str, password: str = PASSWORD) -> Result:
    return runner.invoke(app, ["user", "create", *args, "--password-stdin"], input=password + "\n")


def _login(database: Database, username: str, password: str = PASSWORD) -> bool:
    with database.session("test") as session:
        return authenticate(session, username, password) is not None


def test_create_with_password_on_stdin_then_list(store: Database) -> None:
    created = _create("wang", "--role", "staff", "--display-name", "王工")
    assert created.exit_code == 0, created.output
    assert "已创建账号「wang」（转移中心工作人员）" in created.output
    assert PASSWORD not in created.output
    enterprise = _create("tongling", "--role", "企业用户", "--organization", "铜陵甲铜业有限公司")
    assert enterprise.exit_code == 0, enterprise.output
    expert = _create("zhao", "--role", "expert", "--expert", "ZJ-1")
    assert expert.exit_code == 0, expert.output
    listed = runner.invoke(app, ["user", "list"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].startswith("tongling\t企业用户\ttongling\t铜陵甲铜业有限公司\t启用")
    assert lines[1].startswith("wang\t转移中心工作人员\t王工\t-\t启用\t最近登录 -")
    assert _login(store, "wang") and _login(store, "tongling")
    with store.session() as session:
        logged = [str(record.changes) for record in session.scalars(select(ChangeRecord))]
        actors = set(
            session.scalars(select(ChangeRecord.actor).where(ChangeRecord.entity_type == "user"))
        )
    assert actors == {"cli"} and all(PASSWORD not in text for text in logged)


def test_hidden_prompt_asks_twice_and_never_echoes(store: Database) -> None:
    mismatch = f"{PASSWORD}\nsomething-else-1\n{PASSWORD}\n{PASSWORD}\n"
    result = runner.invoke(app, ["user", "create", "liu", "--role", "organiser"], input=mismatch)
    assert result.exit_code == 0, result.output
    assert "再次输入密码" in result.output
    assert PASSWORD not in result.output and "something-else-1" not in result.output
    assert _login(store, "liu")


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["x", "--role", "staff"], PASSWORD, "用户名须为"),
        (["liu", "--role", "staff"], "short1", "密码至少 10 个字符"),
        (["liu", "--role", "boss"], PASSWORD, "角色「boss」无效"),
        (["liu", "--role", "enterprise"], PASSWORD, "须指定所属单位"),
        (["liu", "--role", "enterprise", "--organization", "不存在公司"], PASSWORD, "找不到单位"),
        (["liu", "--role", "expert", "--expert", "ZJ-404"], PASSWORD, "找不到专家「ZJ-404」"),
    ],
)
def test_bad_input_exits_1_with_a_message(
    store: Database, args: list[str], password: str, message: str
) -> None:
    result = _create(*args, password=password)
    assert result.exit_code == 1
    assert message in result.output and "失败：" in result.output
    with store.session() as session:
        assert session.scalars(select(User)).first() is None


def test_duplicate_user_is_refused(store: Database) -> None:
    assert _create("wang", "--role", "staff").exit_code == 0
    again = _create("wang", "--role", "admin")
    assert again.exit_code == 1 and "用户名「wang」已存在" in again.output


def test_disable_enable_and_change_password(store: Database) -> None:
    assert _create("wang", "--role", "staff").exit_code == 0
    disabled = runner.invoke(app, ["user", "disable", "wang"])
    assert disabled.exit_code == 0 and "已停用账号「wang」" in disabled.output
    assert not _login(store, "wang")
    assert "已停用" in runner.invoke(app, ["user", "list"]).output
    assert runner.invoke(app, ["user", "enable", "wang"]).exit_code == 0
    assert _login(store, "wang")
    new_password = "another-pass-7"
    changed = runner.invoke(
        app, ["user", "passwd", "wang"], input=f"{new_password}\n{new_password}\n"
    )
    assert changed.exit_code == 0 and new_password not in changed.output
    assert _login(store, "wang", new_password) and not _login(store, "wang")
    weak = runner.invoke(app, ["user", "passwd", "wang", "--password-stdin"], input="12345678901\n")
    assert weak.exit_code == 1 and "字母和数字" in weak.output
    for command in (
        ["user", "disable", "nobody"],
        ["user", "passwd", "nobody", "--password-stdin"],
    ):
        missing = runner.invoke(app, command, input=PASSWORD + "\n")
        assert missing.exit_code == 1 and "找不到用户「nobody」" in missing.output


def test_api_key_create_list_revoke(store: Database) -> None:
    assert _create("robot", "--role", "staff").exit_code == 0
    created = runner.invoke(app, ["apikey", "create", "robot", "--name", "夜间同步"])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("tm_") and "请立即保存" in created.output
    prefix = key.split("_")[1]
    with store.session() as session:
        user = verify_api_key(session, key)
        assert user is not None and user.username == "robot"
    listed = runner.invoke(app, ["apikey", "list"]).output
    assert f"{prefix}\t夜间同步\trobot" in listed and "有效" in listed and key not in listed
    revoked = runner.invoke(app, ["apikey", "revoke", prefix])
    assert revoked.exit_code == 0 and prefix in revoked.output
    with store.session() as session:
        assert verify_api_key(session, key) is None
    assert "已吊销" in runner.invoke(app, ["apikey", "list"]).output
    unknown = runner.invoke(app, ["apikey", "revoke", "ffffffff"])
    assert unknown.exit_code == 1 and "找不到前缀为「ffffffff」的密钥" in unknown.output
    nobody = runner.invoke(app, ["apikey", "create", "nobody", "--name", "x"])
    assert nobody.exit_code == 1 and "找不到用户「nobody」" in nobody.output


def test_empty_lists_say_so(store: Database) -> None:
    assert "还没有账号" in runner.invoke(app, ["user", "list"]).output
    assert "还没有密钥" in runner.invoke(app, ["apikey", "list"]).output
