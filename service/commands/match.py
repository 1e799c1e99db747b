"""``techmatch match ...``: match lists from the command line (the same lists as the library)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from matching.config import Settings

__all__ = ["match_app"]

match_app = typer.Typer(help="匹配：需求→成果/专家/相似需求，成果→需求。", no_args_is_help=True)


class NeedTarget(StrEnum):
    results = "results"
    experts = "experts"
    needs = "needs"


def _engine(settings: Settings) -> Any:
    from matching.engine import MatchingEngine
    from service.cli import setup_store

    engine = MatchingEngine(setup_store(settings), settings)
    engine.open()
    return engine


def _filters(
    fields: list[str] | None,
    province: list[str] | None,
    maturity: list[str] | None,
    min_trl: int | None,
) -> Any:
    from matching.filters import FilterError, parse_filters

    try:
        return parse_filters(
            fields=fields or [],
            provinces=province or [],
            maturities=maturity or [],
            min_trl=min_trl,
        )
    except FilterError as error:  # a field or maturity nobody knows: say which, no traceback
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error


def _print_match_list(match_list: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(match_list.to_dict(), ensure_ascii=False, indent=1))
        return
    query = match_list.query
    title = query.get("title") or query.get("text", "")
    typer.echo(f"{match_list.direction}：{query.get('ref', '')} {title}")
    typer.echo(f"模型 {match_list.model_id}；排序 {match_list.ranker}")
    for match in match_list.items:
        typer.echo(
            f"{match.rank:>2}. [{match.ref}] {match.title}（{match.organization}，{match.region}）"
            f" 得分 {match.score:.4f}"
        )
        if match.shared_terms:
            typer.echo(f"    共同关键词：{'、'.join(match.shared_terms)}")
        if match.evidence:
            typer.echo(f"    依据：{match.evidence.marked}")


@match_app.command("need")
def match_need(
    need: Annotated[str, typer.Argument(help="需求 ID 或编号")],
    to: Annotated[
        NeedTarget, typer.Option(help="results、experts 或 needs（相似需求）")
    ] = NeedTarget.results,
    top: Annotated[int, typer.Option(help="返回条数")] = 10,
    field: Annotated[
        list[str] | None, typer.Option(help="只要这些领域（代码或名称，可重复）")
    ] = None,
    province: Annotated[list[str] | None, typer.Option(help="只要这些省份（可重复）")] = None,
    maturity: Annotated[
        list[str] | None, typer.Option(help="成果成熟度：研发/小试/中试/产业化")
    ] = None,
    min_trl: Annotated[int | None, typer.Option(help="成果技术就绪度下限 1-9")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """Match a need to results (default), experts or similar needs."""
    from matching.errors import NotFound

    filters = _filters(field, province, maturity, min_trl)
    engine = _engine(Settings())
    method = {
        "results": engine.need_to_results,
        "experts": engine.need_to_experts,
        "needs": engine.similar_needs,
    }[to.value]
    try:
        _print_match_list(method(need, top=top, filters=filters), as_json)
    except NotFound as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error


@match_app.command("result")
def match_result(
    result: Annotated[str, typer.Argument(help="成果 ID 或编号")],
    top: Annotated[int, typer.Option(help="返回条数")] = 10,
    province: Annotated[list[str] | None, typer.Option(help="只要这些省份的需求（可重复）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """Match a result to the enterprises' needs it fits."""
    from matching.errors import NotFound

    filters = _filters(None, province, None, None)
    engine = _engine(Settings())
    try:
        _print_match_list(engine.result_to_needs(result, top=top, filters=filters), as_json)
    except NotFound as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error


@match_app.command("text")
def match_text(
    text: Annotated[str, typer.Argument(help="问题描述")],
    top: Annotated[int, typer.Option(help="返回条数")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """Search results with free text."""
    _print_match_list(_engine(Settings()).search_results(text, top=top), as_json)
