"""``GET /api/v1/audit``: the change log (admins only), newest first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement, func, select

from matching.store.history import TRACKED
from matching.store.models import ChangeRecord
from service.deps import DatabaseDep
from service.problems import Problem
from service.schemas import Page
from service.schemas.audit import ChangePublic
from service.security import Principal, require_roles

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["变更记录"])

AdminDep = Annotated[Principal, Depends(require_roles())]


def _utc(moment: dt.datetime) -> dt.datetime:
    """Times without a zone are read as UTC, the store's clock."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


@router.get("/audit", response_model=Page[ChangePublic])
def audit_log(
    principal: AdminDep,
    database: DatabaseDep,
    entity_type: Annotated[
        str | None, Query(description="need、result、expert、organization…")
    ] = None,
    entity_id: Annotated[int | None, Query(ge=1, lt=2**31, description="记录 ID")] = None,
    actor: Annotated[str | None, Query(description="操作人，如 user:wang")] = None,
    since: Annotated[
        dt.datetime | None, Query(description="此时刻及以后（ISO 8601，无时区按 UTC）")
    ] = None,
    until: Annotated[dt.datetime | None, Query(description="此时刻以前（不含）")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """Who changed what and when, with every changed field's value before and after."""
    conditions: list[ColumnElement[bool]] = []
    if entity_type and entity_type not in TRACKED.values():
        reason = "应为以下之一：" + "、".join(TRACKED.values())
        raise Problem(
            422,
            detail=f"entity_type：{reason}",
            errors=[{"field": "entity_type", "reason": reason}],
        )
    if entity_type:
        conditions.append(ChangeRecord.entity_type == entity_type)
    if entity_id is not None:
        conditions.append(ChangeRecord.entity_id == entity_id)
    if actor:
        conditions.append(ChangeRecord.actor == actor)
    if since is not None:
        conditions.append(ChangeRecord.at >= _utc(since))
    if until is not None:
        conditions.append(ChangeRecord.at < _utc(until))
    with database.session(principal.actor) as session:
        total = session.scalar(select(func.count()).select_from(ChangeRecord).where(*conditions))
        rows = session.scalars(
            select(ChangeRecord)
            .where(*conditions)
            .order_by(ChangeRecord.at.desc(), ChangeRecord.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        items = [ChangePublic.of(row) for row in rows]
    return Page[ChangePublic](items=items, total=total or 0, page=page, page_size=page_size)
