"""Feedback over HTTP: recording (every role, own records only for organization users),
listing with filters and pages, the summary; invalid input is a 422 problem naming the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from matching.store.database import Database
from matching.store.models import Expert, Need, Organization, Result
from tests.service.conftest import UserFactory


@dataclass
class World:
    enterprise: int
    other_enterprise: int
    university: int
    other_university: int


@pytest.fixture
def world(database: Database) -> World:
    """Needs XQ-1 (ours) and XQ-2 (another enterprise's); results CG-1 (our university's) and
    CG-2 (another's); expert ZJ-1."""
    with database.session("test") as session:
        orgs = [
            Organization(name=name, kind=kind)
            for name, kind in (
                ("甲企业", "enterprise"),
                ("乙企业", "enterprise"),
                ("甲大学", "university"),
                ("乙研究所", "institute"),
            )
        ]
        session.add_all(orgs)
        session.flush()
        session.add_all(
            [
                Need(external_ref="XQ-1", title="需求一", description="…", enterprise=orgs[0]),
                Need(external_ref="XQ-2", title="需求二", description="…", enterprise=orgs[1]),
                Result(external_ref="CG-1", title="成果一", abstract="…", institution=orgs[2]),
                Result(external_ref="CG-2", title="成果二", abstract="…", institution=orgs[3]),
                Expert(external_ref="ZJ-1", name="专家甲"),
            ]
        )
        return World(*(org.id for org in orgs))


def _post(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/feedback", json=body, headers=headers)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_staff_records_feedback_with_labels(
    client: TestClient, make_user: UserFactory, world: World
) -> None:
    staff = make_user("staff", username="wang")
    response = _post(
        client, staff, need="XQ-1", result="CG-2", action="不合适", reason="价格不合适", rank=2
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["action"] == "rejected" and body["action_label"] == "不合适"
    assert body["reason"] == "price" and body["reason_label"] == "价格不合适"
    assert body["actor"] == "user:wang" and body["rank"] == 2
    assert body["direction"] == "need→results" and body["at"].endswith(("Z", "+00:00"))
    signed = _post(client, staff, need=1, result=1, action="signed", amount=300)
    assert signed.status_code == 201 and signed.json()["amount"] == 300
    expert = _post(client, staff, need="XQ-2", expert="ZJ-1", action="contacted")
    assert expert.status_code == 201 and expert.json()["direction"] == "need→experts"


@pytest.mark.parametrize(
    ("role", "body", "status"),
    [
        ("admin", {"need": "XQ-2", "result": "CG-2"}, 201),
        ("organiser", {"need": "XQ-2", "expert": "ZJ-1"}, 201),
        ("expert", {"need": "XQ-1", "result": "CG-1"}, 403),
        ("enterprise", {"need": "XQ-1", "result": "CG-2"}, 201),
        ("enterprise", {"need": "XQ-1", "expert": "ZJ-1"}, 201),
        ("enterprise", {"need": "XQ-2", "result": "CG-1"}, 404),
        ("university", {"need": "XQ-2", "result": "CG-1"}, 201),
        ("university", {"need": "XQ-1", "result": "CG-2"}, 404),
        ("university", {"need": "XQ-1", "expert": "ZJ-1"}, 403),
    ],
)
def test_who_may_record_feedback(
    client: TestClient,
    make_user: UserFactory,
    world: World,
    role: str,
    body: dict[str, str],
    status: int,
) -> None:
    organization = {"enterprise": world.enterprise, "university": world.university}.get(role)
    headers = make_user(role, organization=organization)
    response = _post(client, headers, action="opened", **body)
    assert response.status_code == status, response.text
    if status == 404:
        assert "找不到" in _problem(response, 404)["detail"]


def test_anonymous_callers_are_refused(client: TestClient, world: World) -> None:
    _problem(_post(client, {}, need="XQ-1", result="CG-1", action="opened"), 401)
    _problem(client.get("/api/v1/feedback"), 401)
    _problem(client.get("/api/v1/feedback/summary"), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"need": "XQ-1", "result": "CG-1", "action": "点赞"}, "action"),
        ({"need": "XQ-1", "result": "CG-1"}, "action"),
        ({"need": "XQ-1", "action": "opened"}, "result"),
        ({"need": "XQ-1", "result": "CG-1", "action": "rejected"}, "reason"),
        ({"need": "XQ-1", "result": "CG-1", "action": "signed"}, "amount"),
        ({"need": "XQ-1", "result": "CG-1", "action": "signed", "amount": "很多"}, "amount"),
        ({"need": "XQ-1", "result": "CG-1", "action": "opened", "rank": 0}, "rank"),
        ({"need": "XQ-1", "result": "CG-1", "action": "opened", "note": "长" * 2001}, "note"),
        ({"need": "XQ-1", "result": "CG-1", "action": "opened", "colour": "red"}, "colour"),
        ({"need": None, "result": "CG-1", "action": "opened"}, "need"),
    ],
)
def test_invalid_feedback_is_a_problem_naming_the_field(
    client: TestClient, make_user: UserFactory, world: World, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/feedback", json=body, headers=make_user("staff"))
    problem = _problem(response, 422)
    assert field in {error["field"] for error in problem["errors"]}, problem
    assert problem["detail"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"need": "XQ-404", "result": "CG-1"}, "找不到需求「XQ-404」"),
        ({"need": "XQ-1", "result": 404}, "找不到成果「404」"),
        ({"need": "XQ-1", "expert": "ZJ-404"}, "找不到专家「ZJ-404」"),
        ({"need": 10**30, "result": "CG-1"}, "找不到需求"),
    ],
)
def test_unknown_records_are_404(
    client: TestClient, make_user: UserFactory, world: World, body: dict[str, Any], words: str
) -> None:
    response = _post(client, make_user("staff"), action="opened", **body)
    assert words in _problem(response, 404)["detail"]


def test_list_filters_pages_and_summary(
    client: TestClient, make_user: UserFactory, world: World
) -> None:
    staff = make_user("staff")
    for need, result, action in (
        ("XQ-1", "CG-1", "shown"),
        ("XQ-1", "CG-2", "shown"),
        ("XQ-2", "CG-1", "shown"),
        ("XQ-1", "CG-1", "contacted"),
    ):
        assert _post(client, staff, need=need, result=result, action=action).status_code == 201
    _post(client, staff, need="XQ-1", result="CG-1", action="signed", amount=88.5)

    page = client.get("/api/v1/feedback", params={"page_size": 2}, headers=staff).json()
    assert (page["total"], page["page"], page["page_size"], len(page["items"])) == (5, 1, 2, 2)
    assert page["items"][0]["action"] == "signed"  # newest first
    rest = client.get("/api/v1/feedback", params={"page_size": 2, "page": 3}, headers=staff)
    assert [item["action"] for item in rest.json()["items"]] == ["shown"]
    mine = client.get(
        "/api/v1/feedback", params={"need": "XQ-1", "action": "已展示"}, headers=staff
    )
    assert mine.json()["total"] == 2
    by_result = client.get("/api/v1/feedback", params={"result": "CG-1"}, headers=staff)
    assert by_result.json()["total"] == 4

    bad = client.get("/api/v1/feedback", params={"action": "点赞"}, headers=staff)
    assert _problem(bad, 422)["errors"][0]["field"] == "action"
    _problem(client.get("/api/v1/feedback", params={"page": 0}, headers=staff), 422)
    _problem(client.get("/api/v1/feedback", params={"need": "XQ-404"}, headers=staff), 404)

    summary = client.get("/api/v1/feedback/summary", headers=staff).json()
    assert summary == {
        "events": 5,
        "pairs": 3,
        "by_action": {"contacted": 1, "shown": 3, "signed": 1},
        "signed_amount": 88.5,
    }


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("staff", 200),
        ("organiser", 403),
        ("expert", 403),
        ("enterprise", 403),
        ("university", 403),
    ],
)
def test_only_staff_read_feedback(
    client: TestClient, make_user: UserFactory, world: World, role: str, status: int
) -> None:
    headers = make_user(role)
    assert client.get("/api/v1/feedback", headers=headers).status_code == status
    assert client.get("/api/v1/feedback/summary", headers=headers).status_code == status


def test_feedback_is_in_the_change_history(
    client: TestClient, make_user: UserFactory, world: World, database: Database
) -> None:
    from sqlalchemy import select

    from matching.store.models import ChangeRecord

    _post(client, make_user("staff", username="zhou"), need="XQ-1", result="CG-1", action="opened")
    with database.session() as session:
        record = session.scalar(select(ChangeRecord).where(ChangeRecord.entity_type == "feedback"))
        assert record is not None and record.actor == "user:zhou"
        assert record.changes["action"] == [None, "opened"]
