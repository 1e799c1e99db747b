"""``/api/v1/dashboard`` through the real app: figures with filters and grouping, the XLSX
export, and who may see them."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from matching.feedback import record_feedback
from matching.store.database import Database
from tests.matching.event_world import seed
from tests.service.conftest import UserFactory

API = "/api/v1/dashboard"


@pytest.fixture
def store(database: Database) -> Database:
    seed(database)
    with database.session() as session:
        record_feedback(session, "XQ-0-0", "shown", result="CG-0-0")
        record_feedback(session, "XQ-0-0", "signed", result="CG-0-0", amount=88.5)
    return database


def test_figures_filters_and_export(
    client: TestClient, make_user: UserFactory, store: Database
) -> None:
    headers = make_user("organiser")
    totals = client.get(API, headers=headers).json()["totals"]
    assert totals["needs_collected"] == 6 and totals["signed_amount"] == 88.5
    grouped = client.get(API, params={"group_by": "province"}, headers=headers).json()
    assert [g["key"] for g in grouped["groups"]] == ["安徽省", "四川省", "宁夏回族自治区"]
    assert grouped["labels"]["signed_amount"] == "签约金额（万元）"
    sichuan = client.get(API, params={"province": "四川省", "field": "450"}, headers=headers)
    assert sichuan.json()["filters"] == {"province": "四川省", "field": "450"}
    assert sichuan.json()["totals"]["needs_collected"] == 1
    export = client.get(f"{API}/export.xlsx", params={"field": "材料科学"}, headers=headers)
    assert (
        export.status_code == 200 and "filename*=UTF-8''" in export.headers["content-disposition"]
    )
    book = load_workbook(io.BytesIO(export.content))
    assert book.sheetnames == ["总览", "按地区", "按领域", "按月份", "说明"]


def test_bad_parameters_are_named(client: TestClient, make_user: UserFactory) -> None:
    headers = make_user("staff")
    month = client.get(API, params={"period_from": "2026-5"}, headers=headers)
    assert month.status_code == 422 and month.json()["errors"][0]["field"] == "period_from"
    order = client.get(
        API, params={"period_from": "2026-06", "period_to": "2026-01"}, headers=headers
    )
    assert order.status_code == 422 and "不能晚于" in order.json()["detail"]
    field = client.get(f"{API}/export.xlsx", params={"field": "炼丹"}, headers=headers)
    assert field.status_code == 422 and "field" in field.json()["detail"]
    grouping = client.get(API, params={"group_by": "city"}, headers=headers)
    assert grouping.status_code == 422


def test_who_may_see_the_dashboard(client: TestClient, make_user: UserFactory) -> None:
    for role, expected in (
        ("admin", 200),
        ("staff", 200),
        ("organiser", 200),
        ("expert", 403),
        ("enterprise", 403),
        ("university", 403),
    ):
        headers = make_user(role)
        for path in (API, f"{API}/export.xlsx"):
            assert client.get(path, headers=headers).status_code == expected, (role, path)
    assert client.get(API).status_code == 401
    assert client.get(f"{API}/export.xlsx").status_code == 401
