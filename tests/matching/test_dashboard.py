"""Dashboard figures: each counted once, in its month (Beijing time), by region and field."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from matching.dashboard import DashboardError, DashboardFilters, dashboard, dashboard_xlsx
from matching.events import add_request
from matching.feedback import record_feedback
from matching.store.database import Database
from matching.store.models import Need, Result
from tests.matching.event_world import enroll, new_event, seed

UTC = dt.UTC


def _at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
def store(database: Database) -> Database:
    """Needs in 安徽省 and 四川省, results, feedback over four months and one event meeting."""
    world = seed(database)
    with database.session() as session:
        session.execute(update(Need).values(created_at=_at(2026, 3, 15)))
        session.execute(update(Result).values(created_at=_at(2026, 3, 15)))
        # 20:00 UTC on 30 April is 1 May in Beijing.
        late = select(Need).where(Need.external_ref == "XQ-2-1")
        session.scalars(late).one().created_at = _at(2026, 4, 30, 20)
        session.scalars(select(Need).where(Need.external_ref == "XQ-1-1")).one().status = "draft"
        draft = select(Result).where(Result.external_ref == "CG-2-1")
        session.scalars(draft).one().status = "draft"
        history = [
            ("XQ-0-0", "CG-0-0", "shown", None, _at(2026, 4, 2)),
            ("XQ-0-0", "CG-0-0", "shown", None, _at(2026, 5, 1)),
            ("XQ-0-0", "CG-0-0", "meeting", None, _at(2026, 5, 20)),
            ("XQ-0-0", "CG-0-0", "signed", 100.0, _at(2026, 6, 1)),
            ("XQ-0-0", "CG-0-0", "signed", 120.0, _at(2026, 6, 10)),  # corrected: latest counts
            ("XQ-1-0", "CG-1-0", "shown", None, _at(2026, 4, 5)),
        ]
        for need, result, action, amount, at in history:
            record_feedback(session, need, action, result=result, amount=amount).at = at
        event = new_event(session)  # on 2026-05-20
        (_, _, e2), (_, _, t2) = enroll(session, event.id, world)
        add_request(session, event.id, e2, t2)  # XQ-2-0 with CG-2-0
    return database


def test_totals_count_each_pair_once(store: Database) -> None:
    with store.session() as session:
        totals = dashboard(session).totals
    assert totals == {
        "needs_collected": 5,
        "results_published": 5,
        "matches_proposed": 3,
        "meetings_held": 1,
        "contracts_signed": 1,
        "signed_amount": 120.0,
    }


def test_grouped_by_region_field_and_month(store: Database) -> None:
    with store.session() as session:
        regions = {g["key"]: g for g in dashboard(session, group_by="province").groups}
        fields = {g["key"]: g for g in dashboard(session, group_by="field").groups}
        months = {g["key"]: g for g in dashboard(session, group_by="month").groups}
    assert list(regions) == ["安徽省", "四川省", "宁夏回族自治区"]  # the official order
    assert (regions["安徽省"]["needs_collected"], regions["安徽省"]["matches_proposed"]) == (4, 2)
    assert regions["宁夏回族自治区"]["results_published"] == 1
    assert fields["430"]["label"] == "430 材料科学"
    assert sum(g["needs_collected"] for g in fields.values()) == 5
    assert {k: g["matches_proposed"] for k, g in months.items() if g["matches_proposed"]} == {
        "2026-04": 2,
        "2026-05": 1,
    }
    assert months["2026-05"]["needs_collected"] == 1  # Beijing time
    assert (months["2026-06"]["contracts_signed"], months["2026-06"]["signed_amount"]) == (1, 120)


def test_filters(store: Database) -> None:
    with store.session() as session:
        spring = dashboard(session, DashboardFilters(period_from="2026-04", period_to="2026-05"))
        metal = dashboard(session, DashboardFilters(field="冶金工程技术"))
        sichuan = dashboard(session, DashboardFilters(province="四川省"))
    assert spring.totals["needs_collected"] == 1 and spring.totals["matches_proposed"] == 3
    assert spring.totals["contracts_signed"] == 0
    assert metal.filters == {"field": "450"}
    assert (metal.totals["needs_collected"], metal.totals["matches_proposed"]) == (2, 1)
    assert (sichuan.totals["needs_collected"], sichuan.totals["results_published"]) == (1, 2)


@pytest.mark.parametrize(
    ("filters", "group_by", "message"),
    [
        (DashboardFilters(period_from="2026-13"), None, "period_from"),
        (DashboardFilters(period_from="2026-05", period_to="2026-04"), None, "不能晚于"),
        (DashboardFilters(field="不存在的学科"), None, "field"),
        (DashboardFilters(), "city", "group_by"),
    ],
)
def test_bad_filters_are_named(
    database: Database, filters: DashboardFilters, group_by: str | None, message: str
) -> None:
    with database.session() as session, pytest.raises(DashboardError, match=message):
        dashboard(session, filters, group_by)


def test_the_xlsx_export_reads_back(store: Database) -> None:
    with store.session() as session:
        data = dashboard_xlsx(session, DashboardFilters(province="安徽省"))
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["总览", "按地区", "按领域", "按月份", "说明"]
    overview = {row[0]: row[1] for row in book["总览"].iter_rows(min_row=2, values_only=True)}
    assert overview["征集需求（项）"] == 4 and overview["签约金额（万元）"] == 120
    assert overview["筛选条件"] == "province=安徽省"
    regions = list(book["按地区"].iter_rows(values_only=True))
    assert regions[0][0] == "地区" and [row[0] for row in regions[1:]] == ["安徽省"]
