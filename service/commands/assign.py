"""``techmatch assign``: reviewer assignment for an evaluation round from a neutral JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from matching.assign import load_instance, solve
from matching.errors import TechMatchError

__all__ = ["assign"]


def assign(
    instance: Annotated[
        Path, typer.Option("--instance", help="实例 JSON 文件（格式见 docs/cli.md）")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """Assign experts to items: the optimal total affinity under conflicts and load limits."""
    try:
        result = solve(load_instance(instance))
    except TechMatchError as error:
        typer.echo(f"分配失败：{error}", err=True)
        raise typer.Exit(2) from error
    if json_output:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        typer.echo(result.summary())
