"""``techmatch schedule``: meetings of a matchmaking event into slots and tables, from JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from matching.errors import TechMatchError
from matching.event_schedule import load_instance, solve

__all__ = ["schedule"]


def schedule(
    instance: Annotated[
        Path, typer.Option("--instance", help="对接会实例 JSON 文件（格式见 docs/cli.md）")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="CP-SAT 求解时限（秒）")
    ] = 20.0,
) -> None:
    """Schedule an event's meetings: most mutual, then one-sided requests, then proposals, then
    score; every unplaced meeting with its reason."""
    try:
        result = solve(load_instance(instance), time_limit_s=time_limit)
    except TechMatchError as error:
        typer.echo(f"排期失败：{error}", err=True)
        raise typer.Exit(2) from error
    if json_output:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        typer.echo(result.summary())
