"""``techmatch ranker ...``: train, inspect and roll back the ranking model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from matching.config import Settings

__all__ = ["ranker_app"]

ranker_app = typer.Typer(help="排序模型：训练、查看状态、回滚。", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


@ranker_app.command("train")
def ranker_train(
    from_feedback: Annotated[
        bool, typer.Option("--from-feedback", help="用匹配清单上记录的反馈训练")
    ] = False,
    from_qrels: Annotated[
        list[Path] | None,
        typer.Option(help="用 BEIR 目录（corpus.jsonl、queries.jsonl、qrels/*.tsv）的标注训练"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """Train a new model; it becomes active only if it beats the active one on held-out
    queries."""
    from matching.errors import TechMatchError
    from matching.ranker_sources import train_from_sources
    from service.cli import open_engine, setup_store

    if not from_feedback and not from_qrels:
        raise _fail("请指定训练数据：--from-feedback 和/或 --from-qrels 目录")
    for folder in from_qrels or []:
        if not folder.is_dir():
            raise _fail(f"找不到 BEIR 目录：{folder}")
    settings = Settings()
    try:
        engine = open_engine(settings, setup_store(settings))
        report = train_from_sources(
            engine, from_feedback, from_qrels or [], lambda m: typer.echo(m, err=True)
        )
    except TechMatchError as error:
        raise _fail(str(error)) from error
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
        return
    data = report.training_data
    typer.echo(
        f"训练数据：{data['source']}，{data['queries']} 个查询，{data['pairs']} 对，"
        f"标签分布 {data['labels']}"
    )
    typer.echo(f"版本 {report.version}：{report.reason}")


def _print_status(status: dict[str, Any]) -> None:
    active = status["active"]
    typer.echo(f"当前排序：{active or 'fusion（冷启动，按检索融合得分排序）'}")
    for version in status["versions"]:
        if "error" in version:
            typer.echo(f"  {version['version']}：无法读取（{version['error']}）")
            continue
        holdout = version.get("holdout") or {}
        mark = "*" if version["active"] else " "
        typer.echo(
            f"{mark} {version['version']}  {version['trained_at']}  "
            f"{'已启用过' if version['accepted'] else '未通过'}  "
            f"留出 NDCG@10 新 {holdout.get('ndcg@10_new')} / "
            f"{holdout.get('baseline')} {holdout.get('ndcg@10_' + str(holdout.get('baseline')))}"
        )


@ranker_app.command("status")
def ranker_status(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """The active model, its card, and every saved version."""
    from matching.ranker_registry import RankerRegistry

    status = RankerRegistry(Settings().data_dir / "ranker").status()
    if as_json:
        typer.echo(json.dumps(status, ensure_ascii=False, indent=1))
        return
    _print_status(status)


@ranker_app.command("rollback")
def ranker_rollback() -> None:
    """Re-activate the version that was active before the current one (or the fusion order)."""
    from matching.ranker_registry import RankerError, RankerRegistry

    try:
        active = RankerRegistry(Settings().data_dir / "ranker").rollback()
    except RankerError as error:
        raise _fail(str(error)) from error
    typer.echo(
        f"已回滚，当前排序：{active or 'fusion（冷启动）'}（运行中的服务在下一次请求时生效）"
    )
