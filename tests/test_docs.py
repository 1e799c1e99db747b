"""Docs cannot fall behind the code: every setting and every command is documented."""

from __future__ import annotations

from typing import Any

import typer.main

from matching.config import Settings
from service.cli import app
from tests.conftest import REPO


def _commands(group: Any, prefix: str = "techmatch") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            names += _commands(command, f"{prefix} {name}")
        else:
            names.append(f"{prefix} {name}")
    return names


def test_every_setting_is_documented() -> None:
    text = (REPO / "docs" / "configuration.md").read_text("utf-8")
    missing = [name for name in Settings.model_fields if f"TECHMATCH_{name.upper()}" not in text]
    assert missing == []


def test_every_command_is_documented() -> None:
    text = (REPO / "docs" / "cli.md").read_text("utf-8")
    group = typer.main.get_command(app)
    commands = _commands(group)
    assert len(commands) > 8
    missing = [command for command in commands if command not in text]
    assert missing == []


def test_readme_names_the_two_commands_and_has_a_chinese_quick_start() -> None:
    text = (REPO / "README.md").read_text("utf-8")
    assert "make run" in text and "make test" in text
    assert "## 中文快速上手" in text
