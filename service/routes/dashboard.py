"""``/api/v1/dashboard``: the figures a centre reports (see ``matching.dashboard``), as JSON and
as XLSX. For staff, organisers and admins."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel

from matching.dashboard import DashboardFilters, dashboard, dashboard_xlsx
from matching.vocab import Role
from service.deps import DatabaseDep
from service.security import Principal, require_roles

router = APIRouter(prefix="/api/v1/dashboard", tags=["统计"])

Reader = Annotated[Principal, Depends(require_roles(Role.STAFF, Role.ORGANISER))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONTH = r"^\d{4}-\d{2}$"


class Figures(BaseModel):
    needs_collected: int
    results_published: int
    matches_proposed: int
    meetings_held: int
    contracts_signed: int
    signed_amount: float


class Group(Figures):
    key: str
    label: str


class DashboardPublic(BaseModel):
    filters: dict[str, str]
    group_by: str | None
    labels: dict[str, str]
    totals: Figures
    groups: list[Group]


def _filters(
    province: Annotated[str | None, Query(description="省级地区，如 安徽省")] = None,
    field: Annotated[str | None, Query(description="学科代码或名称（按第一个领域）")] = None,
    period_from: Annotated[str | None, Query(pattern=MONTH, description="起始月份 YYYY-MM")] = None,
    period_to: Annotated[str | None, Query(pattern=MONTH, description="截止月份 YYYY-MM")] = None,
) -> DashboardFilters:
    return DashboardFilters(
        province=province, field=field, period_from=period_from, period_to=period_to
    )


FiltersDep = Annotated[DashboardFilters, Depends(_filters)]


@router.get("", response_model=DashboardPublic, summary="成效统计")
def figures(
    filters: FiltersDep,
    database: DatabaseDep,
    principal: Reader,
    group_by: Annotated[
        Literal["province", "field", "month"] | None,
        Query(description="按地区、领域或月份分组"),
    ] = None,
) -> Any:
    """Needs collected, results published, matches proposed, meetings held, contracts signed
    and their amount (万元); totals and, with ``group_by``, per group."""
    with database.session(principal.actor) as session:
        return dashboard(session, filters, group_by).to_dict()


@router.get(
    "/export.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "统计表（XLSX）"}},
    summary="导出成效统计（XLSX）",
)
def export(filters: FiltersDep, database: DatabaseDep, principal: Reader) -> Response:
    with database.session(principal.actor) as session:
        data = dashboard_xlsx(session, filters)
    disposition = f"attachment; filename*=UTF-8''{quote('成效统计.xlsx')}"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": disposition})
