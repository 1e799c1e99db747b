"""``GET /api/v1/audit``: the change log over HTTP, for admins only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from matching.config import Settings
from matching.record_edits import create_record
from matching.store.database import Database
from matching.store.models import utc_now
from tests.service.role_accounts import Headers, add_account

API = "/api/v1"


@pytest.fixture
def admin(database: Database, settings: Settings) -> Headers:
    return add_account(database, settings, "admin", "root1")


@pytest.fixture
def staff(database: Database, settings: Settings) -> Headers:
    return add_account(database, settings, "staff", "wang")


def _audit(client: TestClient, headers: Headers, **params: Any) -> Any:
    answer = client.get(f"{API}/audit", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _organization(client: TestClient, staff: Headers) -> int:
    body = {"name": "铜陵甲铜业有限公司", "contact_phone": "0562-1111111"}
    created = client.post(f"{API}/organizations", headers=staff, json=body)
    assert created.status_code == 201
    return int(created.json()["id"])


def test_changes_through_the_api_are_logged_with_actor_and_before_after(
    client: TestClient, admin: Headers, staff: Headers
) -> None:
    organization = _organization(client, staff)
    need = {
        "external_ref": "XQ-1",
        "title": "铜带退火氧化色差",
        "description": "退火炉出口铜带表面氧化色差。",
        "organization_id": organization,
    }
    created = client.post(f"{API}/needs", headers=staff, json=need).json()
    client.patch(f"{API}/needs/XQ-1", headers=staff, json={"status": "已发布", "title": "新名称"})
    client.post(f"{API}/needs/XQ-1/withdraw", headers=staff)

    log = _audit(client, admin, entity_type="need", entity_id=created["id"])
    assert log["total"] == 3
    withdrawn, updated, first = log["items"]  # newest first
    assert [first["action"], updated["action"], withdrawn["action"]] == [
        "create",
        "update",
        "update",
    ]
    assert {entry["actor"] for entry in log["items"]} == {"user:wang"}
    assert first["changes"]["title"] == {"before": None, "after": "铜带退火氧化色差"}
    assert updated["changes"] == {
        "status": {"before": "submitted", "after": "published"},
        "title": {"before": "铜带退火氧化色差", "after": "新名称"},
    }
    assert withdrawn["changes"]["status"] == {"before": "published", "after": "withdrawn"}

    everything = _audit(client, admin, actor="user:wang")
    assert {entry["entity_type"] for entry in everything["items"]} == {"need", "organization"}
    assert _audit(client, admin, actor="user:nobody")["total"] == 0
    paged = _audit(client, admin, actor="user:wang", page_size=2, page=2)
    assert (paged["total"], len(paged["items"]), paged["page"]) == (4, 2, 2)
    assert paged["items"][-1]["entity_type"] == "organization"  # the oldest change comes last


def test_since_and_until(client: TestClient, database: Database, admin: Headers) -> None:
    with database.session("import") as session:
        create_record(session, "organizations", {"name": "甲公司"})
    between = utc_now()
    with database.session("import") as session:
        create_record(session, "organizations", {"name": "乙公司"})
    later = _audit(client, admin, entity_type="organization", since=between.isoformat())
    assert [entry["changes"]["name"]["after"] for entry in later["items"]] == ["乙公司"]
    earlier = _audit(client, admin, entity_type="organization", until=between.isoformat())
    assert [entry["changes"]["name"]["after"] for entry in earlier["items"]] == ["甲公司"]
    # A time without zone is UTC; one with a zone is converted.
    naive = between.replace(tzinfo=None).isoformat()
    assert _audit(client, admin, entity_type="organization", since=naive)["total"] == 1
    beijing = between.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()
    assert _audit(client, admin, entity_type="organization", until=beijing)["total"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"entity_type": "needs"}, "entity_type"),
        ({"since": "昨天"}, "since"),
        ({"entity_id": "x"}, "entity_id"),
        ({"page_size": 1000}, "page_size"),
    ],
)
def test_bad_filters_are_422(
    client: TestClient, admin: Headers, params: dict[str, Any], field: str
) -> None:
    answer = client.get(f"{API}/audit", headers=admin, params=params)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("staff", 403),
        ("organiser", 403),
        ("expert", 403),
        ("enterprise", 403),
        ("university", 403),
        ("anonymous", 401),
    ],
)
def test_only_admins_read_the_change_log(
    client: TestClient, database: Database, settings: Settings, role: str, status: int
) -> None:
    headers: Headers = {}
    if role != "anonymous":
        with database.session("test") as session:
            organization = create_record(session, "organizations", {"name": "某单位"}).id
            expert = create_record(session, "experts", {"name": "赵明"}).id
        headers = add_account(database, settings, role, "user1", organization, expert)
    answer = client.get(f"{API}/audit", headers=headers)
    assert answer.status_code == status
    if status == 403:
        assert answer.json()["detail"] == "此操作仅限：系统管理员"
