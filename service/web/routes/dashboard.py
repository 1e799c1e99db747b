"""The dashboard page (staff, organisers): needs and results by field and region, and the
funnel from needs to matches, meetings and signed contracts (``matching.dashboard``), drawn as
inline SVG."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from matching.dashboard import FIGURES, Dashboard, DashboardFilters, dashboard
from matching.fields import field_code_list
from matching.regions import PROVINCES
from matching.vocab import Role
from service.deps import DatabaseDep
from service.security import Principal
from service.web.charts import bar_chart, funnel
from service.web.routing import WebRoute
from service.web.session import page_roles
from service.web.templating import render

__all__ = ["router"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Reader = Annotated[Principal, Depends(page_roles(Role.STAFF, Role.ORGANISER))]
Text = Annotated[str, Query(max_length=100)]
SERIES = ("需求", "成果")
FUNNEL_STEPS = ("needs_collected", "matches_proposed", "meetings_held", "contracts_signed")


def _by(figures: Dashboard, title: str) -> Any:
    rows = [
        (str(group["label"]), (group["needs_collected"], group["results_published"]))
        for group in figures.groups
    ]
    return bar_chart(title, SERIES, rows)


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    principal: Reader,
    database: DatabaseDep,
    province: Text = "",
    field: Text = "",
) -> Response:
    filters = DashboardFilters(province=province or None, field=field or None)
    with database.session(principal.actor) as session:
        totals = dashboard(session, filters)
        by_field = dashboard(session, filters, "field")
        by_province = dashboard(session, filters, "province")
    steps = [(FIGURES[key].split("（")[0], float(totals.totals[key])) for key in FUNNEL_STEPS]
    context = {
        "totals": totals.totals,
        "labels": FIGURES,
        "funnel": funnel("对接漏斗", steps),
        "by_field": _by(by_field, "按领域：需求与成果数量"),
        "by_province": _by(by_province, "按地区：需求与成果数量"),
        "params": {"province": province, "field": field},
        "fields": field_code_list().fields,
        "provinces": PROVINCES,
    }
    return render(request, "dashboard.html", context)
