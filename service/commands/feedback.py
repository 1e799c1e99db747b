"""``techmatch feedback ...``: record what happened to a proposed pair, and read the events."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.config import Settings
from matching.errors import TechMatchError
from matching.feedback import feedback_summary, list_feedback, record_feedback
from matching.store.database import Database
from matching.store.models import Feedback, Need, Result
from matching.vocab import FeedbackAction, RejectReason, labels_of

__all__ = ["feedback_app"]

feedback_app = typer.Typer(help="匹配反馈：记录与查看。", no_args_is_help=True)


def _database() -> Database:
    database = Database(Settings().resolved_database_url)
    database.upgrade()
    return database


def _fail(error: Exception) -> typer.Exit:
    typer.echo(str(error), err=True)
    return typer.Exit(2)


def _as_dict(event: Feedback, refs: dict[tuple[str, int], str]) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "need": refs.get(("need", event.need_id), str(event.need_id)),
        "result": refs.get(("result", event.result_id or 0)),
        "expert_id": event.expert_id,
        "action": event.action,
        "action_label": FeedbackAction.labels().get(event.action, event.action),
        "reason": event.reason,
        "amount": event.amount,
        "note": event.note,
        "actor": event.actor,
    }


@feedback_app.command("record")
def feedback_record(
    need: Annotated[str, typer.Argument(help="需求 ID 或编号")],
    action: Annotated[str, typer.Option(help="、".join(labels_of(FeedbackAction)))],
    result: Annotated[str | None, typer.Option(help="成果 ID 或编号")] = None,
    expert: Annotated[str | None, typer.Option(help="专家 ID 或编号")] = None,
    reason: Annotated[
        str | None, typer.Option(help="不合适的原因：" + "、".join(labels_of(RejectReason)))
    ] = None,
    amount: Annotated[float | None, typer.Option(help="合同金额（万元），签约时填写")] = None,
    note: Annotated[str, typer.Option(help="备注")] = "",
    actor: Annotated[str, typer.Option(help="记入变更历史的操作人")] = "cli",
) -> None:
    """Record one event for a need and a result (or an expert)."""
    try:
        with _database().session(actor) as session:
            event = record_feedback(
                session, need, action, result, expert, reason, amount, note=note
            )
            label = FeedbackAction.labels()[event.action]
            typer.echo(f"已记录反馈 #{event.id}：需求 {need} × {result or expert}，{label}")
    except TechMatchError as error:
        raise _fail(error) from error


@feedback_app.command("list")
def feedback_list(
    need: Annotated[str | None, typer.Option(help="只看这个需求（ID 或编号）")] = None,
    result: Annotated[str | None, typer.Option(help="只看这个成果（ID 或编号）")] = None,
    action: Annotated[str | None, typer.Option(help="只看这种反馈")] = None,
    limit: Annotated[int, typer.Option(min=1, help="最多条数")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """List events, newest first."""
    try:
        with _database().session() as session:
            events = list_feedback(session, need, result, action, limit=limit)
            refs = _refs(session, events)
            rows = [_as_dict(event, refs) for event in events]
    except TechMatchError as error:
        raise _fail(error) from error
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for row in rows:
        other = row["result"] or f"专家#{row['expert_id']}"
        extra = "，".join(
            str(value)
            for value in (row["reason"], row["amount"] and f"{row['amount']:g} 万元", row["note"])
            if value
        )
        typer.echo(
            f"#{row['id']} {row['at'][:19]} {row['need']} × {other} {row['action_label']}"
            f"{'（' + extra + '）' if extra else ''} {row['actor']}"
        )
    typer.echo(f"共 {len(rows)} 条")


@feedback_app.command("summary")
def feedback_summary_command() -> None:
    """Counts of events by action, distinct pairs and the signed amount, as JSON."""
    with _database().session() as session:
        summary = feedback_summary(session).to_dict()
    typer.echo(json.dumps(summary, ensure_ascii=False))


def _refs(session: Session, events: list[Feedback]) -> dict[tuple[str, int], str]:
    """编号 of the needs and results the events name, to print instead of ids."""
    need_ids = {event.need_id for event in events}
    result_ids = {event.result_id for event in events if event.result_id}
    needs = session.execute(select(Need.id, Need.external_ref).where(Need.id.in_(need_ids)))
    results = session.execute(
        select(Result.id, Result.external_ref).where(Result.id.in_(result_ids))
    )
    refs = {("need", row_id): ref for row_id, ref in needs}
    refs.update({("result", row_id): ref for row_id, ref in results})
    return refs
