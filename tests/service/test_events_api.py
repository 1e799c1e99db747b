"""``/api/v1/events`` through the real app: the whole flow, every endpoint × role, and
proposals with the real engine on a tiny store."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from matching.accounts import create_user
from matching.config import Settings
from matching.encode import Encoder
from matching.feedback import pair_labels
from matching.store.database import Database
from matching.store.models import Expert, Need, Organization, Result
from service.app import create_app
from tests.matching.event_world import World, engine_store, seed
from tests.service.conftest import PASSWORD, login_headers

API = "/api/v1/events"
ROOT = "(the collection)"  # a path meaning /api/v1/events itself
EVENT = {
    "name": "铜陵市科技成果推介对接会",
    "date": "2026-05-20",
    "venue": "铜陵市科技局三楼会议室",
    "slots": 3,
    "tables": 2,
    "max_meetings": 2,
}
Headers = dict[str, str]


def _enroll(client: TestClient, headers: Headers, event_id: int, world: World) -> list[int]:
    ids = []
    for needs in world.enterprises.values():
        body = {"kind": "enterprise", "needs": needs, "contact_phone": "0562-1234567"}
        response = client.post(f"{API}/{event_id}/participants", json=body, headers=headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    for results in world.institutions.values():
        body = {"kind": "team", "results": results}
        response = client.post(f"{API}/{event_id}/participants", json=body, headers=headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


@dataclass
class Shared:
    """One store and app for the module: the seeded world and a user of every role. The
    enterprise user belongs to the first enterprise, the university user to the first
    institution, the outsider to an enterprise that takes part in nothing."""

    client: TestClient
    database: Database
    world: World
    users: dict[str, Headers]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    folder = tmp_path_factory.mktemp("events-api")
    settings = Settings(data_dir=folder / "var", load_demo=False, demo_dir=folder)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    world = seed(database)
    firm, school = next(iter(world.enterprises)), next(iter(world.institutions))
    with database.session() as session:
        outsider = Organization(name="未参会企业有限公司", kind="enterprise")
        session.add(outsider)
        session.flush()
        person = Expert(external_ref="ZJ-EV-1", name="评审专家")
        session.add(person)
        session.flush()
        accounts: list[tuple[str, str, int | None, int | None]] = [
            ("admin", "admin", None, None),
            ("staff", "staff", None, None),
            ("organiser", "organiser", None, None),
            ("expert", "expert", None, person.id),
            ("enterprise", "enterprise", firm, None),
            ("university", "university", school, None),
            ("outsider", "enterprise", outsider.id, None),
        ]
        for name, role, organization, expert in accounts:
            create_user(session, name, PASSWORD, role, organization=organization, expert=expert)
    with TestClient(create_app(settings, database)) as client:
        users = {name: login_headers(client, name) for name, *_ in accounts}
        yield Shared(client, database, world, users | {"anonymous": {}})
    database.dispose()


class Scene:
    """A new event in the shared store with three enterprises and three teams."""

    def __init__(self, shared: Shared) -> None:
        self.client, self.users = shared.client, shared.users
        response = self.client.post(API, json=EVENT, headers=self.users["organiser"])
        assert response.status_code == 201, response.text
        self.event = response.json()["id"]
        ids = _enroll(self.client, self.users["organiser"], self.event, shared.world)
        self.firms, self.teams = ids[:3], ids[3:]

    def call(self, role: str, method: str, path: str, body: Any = None) -> Any:
        url = API if path == ROOT else f"{API}/{self.event}{path}"
        return self.client.request(method, url, json=body, headers=self.users[role])


@pytest.fixture
def scene(shared: Shared) -> Scene:
    return Scene(shared)


def test_the_whole_flow(scene: Scene, shared: Shared) -> None:
    organiser = "organiser"
    (e0, e1, e2), (t0, t1, t2) = scene.firms, scene.teams
    shown = scene.call(organiser, "GET", "")
    assert shown.status_code == 200 and shown.json()["enterprises"] == 3
    assert shown.json()["slot_times"][0] == "09:00–09:20"
    availability = {"available": [1, 2], "max_meetings": 1}
    response = scene.call(organiser, "PUT", f"/participants/{t2}/availability", availability)
    assert response.json()["effective_max_meetings"] == 1
    # The enterprise user asks for two teams; a team asks back, so one request is mutual.
    for target in (t0, t1):
        body = {"requester": e0, "target": target, "note": "希望了解中试条件"}
        assert scene.call("enterprise", "POST", "/requests", body).status_code == 201
    mutual = scene.call("university", "POST", "/requests", {"requester": t0, "target": e0})
    assert mutual.json()["meeting"]["priority"] == "mutual"
    decided = scene.call(
        organiser,
        "POST",
        "/decisions",
        {"add": [{"enterprise": e1, "team": t2}, {"enterprise": e2, "team": t2}]},
    )
    assert [m["source"] for m in decided.json()] == ["organiser", "organiser"]
    plan = scene.call(organiser, "POST", "/schedule", {"time_limit_s": 5}).json()
    assert plan["summary"]["placed_count"] == 3 and len(plan["placed"]) == 3
    # t2 meets at most once: one of the two added meetings is left out, with its reason.
    assert [u["unplaced_code"] for u in plan["unplaced"]] == ["limit_reached"]
    assert "最多会谈数 1" in plan["unplaced"][0]["unplaced_reason"]
    assert scene.call(organiser, "GET", "/schedule").json()["placed"] == plan["placed"]
    grid = scene.call(organiser, "GET", "/grid").json()
    assert sum(1 for s in grid["slots"] for t in s["tables"] if t["meeting"]) == 3
    mine = scene.call("enterprise", "GET", "/agendas").json()
    assert [a["participant_id"] for a in mine] == [e0] and len(mine[0]["items"]) == 2
    # After the event: e0 signed with t0 for 120 万元.
    meeting = next(m for m in plan["placed"] if m["team"]["id"] == t0)
    outcome = {"attendance": "held", "intention": "signed", "amount": 120, "follow_up": True}
    recorded = scene.call(organiser, "PUT", f"/meetings/{meeting['id']}/outcome", outcome)
    assert recorded.status_code == 200, recorded.text
    assert len(recorded.json()["feedback_ids"]) == 2
    assert recorded.json()["meeting"]["outcome"]["intention"] == "signed"
    summary = scene.call(organiser, "GET", "/outcomes").json()
    assert (summary["signed"], summary["amount"]) == (1, 120.0)
    with shared.database.session() as session:
        pair = (meeting["need"]["id"], meeting["result"]["id"])
        assert pair_labels(session)[pair] == 4
    figures = scene.client.get("/api/v1/dashboard", headers=scene.users["staff"]).json()
    assert figures["totals"]["contracts_signed"] == 1
    assert figures["totals"]["meetings_held"] == 1
    assert scene.call(organiser, "POST", "/schedule", {}).status_code == 422  # frozen now


def test_outputs_as_files(scene: Scene) -> None:
    (e0, *_), (t0, *_) = scene.firms, scene.teams
    scene.call("organiser", "POST", "/requests", {"requester": e0, "target": t0})
    scene.call("organiser", "POST", "/schedule", {"time_limit_s": 2})
    xlsx = scene.call("organiser", "GET", "/grid?format=xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in xlsx.headers["content-disposition"]
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "洽谈总表"
    pdf = scene.call("organiser", "GET", "/grid?format=pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    own = scene.call("enterprise", "GET", f"/agendas/{e0}?format=pdf")
    assert own.status_code == 200 and own.content.startswith(b"%PDF")
    sheet = scene.call("university", "GET", f"/agendas/{t0}?format=xlsx")
    rows = list(load_workbook(io.BytesIO(sheet.content))["会谈日程"].iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][5] == "测试企业0有限公司"
    single = scene.call("university", "GET", f"/agendas/{t0}").json()
    assert single["items"][0]["counterpart_kind"] == "企业"
    assert scene.call("organiser", "GET", "/agendas?format=xlsx").status_code == 200


# --- every endpoint × role --------------------------------------------------------------------

ORGANISER_ONLY = [
    ("POST", ROOT, EVENT),
    ("POST", "/participants", {"kind": "enterprise", "needs": ["XQ-0-0"], "name": "另一家"}),
    ("PUT", "/participants/{t0}/availability", {"available": [1, 2, 3]}),
    ("POST", "/proposals", {}),
    ("GET", "/meetings", None),
    ("POST", "/decisions", {}),
    ("POST", "/schedule", {"time_limit_s": 1}),
    ("GET", "/schedule", None),
    ("GET", "/grid", None),
    ("GET", "/grid?format=xlsx", None),
    ("GET", "/grid?format=pdf", None),
    ("GET", "/outcomes", None),
]
MEMBERS = [
    ("GET", ROOT, None),
    ("GET", "", None),
    ("GET", "/participants", None),
    ("POST", "/requests", {"requester": "{e0}", "target": "{t1}"}),
    ("GET", "/agendas", None),
    ("GET", "/agendas/{e0}", None),
]


def _fill(scene: Scene, path: str, body: Any) -> tuple[str, Any]:
    ids = {"e0": scene.firms[0], "t0": scene.teams[0], "t1": scene.teams[1]}
    path = path.format(**ids)
    if isinstance(body, dict):
        body = {k: int(v.format(**ids)) if str(v).startswith("{") else v for k, v in body.items()}
    return path, body


@pytest.mark.parametrize("role", ["admin", "staff"])
def test_admin_and_staff_may_do_everything(scene: Scene, role: str) -> None:
    for method, path, body in ORGANISER_ONLY + MEMBERS:
        response = scene.call(role, method, *_fill(scene, path, body))
        expected = 503 if path == "/proposals" else (201 if method == "POST" else 200)
        if path in ("/schedule", "/decisions") and method == "POST":
            expected = 200
        assert response.status_code == expected, (method, path, response.text)


def test_others_may_not_organise(scene: Scene) -> None:
    for role in ("expert", "enterprise", "university", "outsider", "anonymous"):
        for method, path, body in ORGANISER_ONLY:
            response = scene.call(role, method, *_fill(scene, path, body))
            expected = 401 if role == "anonymous" else 403
            assert response.status_code == expected, (role, method, path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
    reply = scene.call("enterprise", "GET", "/meetings").json()
    assert reply["detail"] == "此操作仅限：转移中心工作人员、活动组织者"


def test_participants_see_only_their_own(scene: Scene) -> None:
    (_, e1, _), (t0, t1, _) = scene.firms, scene.teams
    for role in ("expert", "outsider"):
        for method, path, body in MEMBERS:
            response = scene.call(role, method, *_fill(scene, path, body))
            expected = 200 if (role, path) == ("outsider", ROOT) else 403
            assert response.status_code == expected, (role, path, response.text)
    assert scene.call("outsider", "GET", ROOT).json() == []  # no event of theirs
    assert scene.event in [e["id"] for e in scene.call("enterprise", "GET", ROOT).json()]
    people = scene.call("enterprise", "GET", "/participants").json()
    assert len(people) == 6 and {p["contact_phone"] for p in people} == {""}
    staff_view = scene.call("staff", "GET", "/participants").json()
    assert staff_view[0]["contact_phone"] == "0562-1234567"
    foreign = scene.call("enterprise", "POST", "/requests", {"requester": e1, "target": t0})
    assert foreign.status_code == 403 and "本单位" in foreign.json()["detail"]
    assert scene.call("enterprise", "GET", f"/agendas/{t0}").status_code == 403
    assert scene.call("university", "GET", f"/agendas/{t0}").status_code == 200
    wrong_side = scene.call("university", "POST", "/requests", {"requester": t0, "target": t1})
    assert wrong_side.status_code == 422 and "另一方" in wrong_side.json()["detail"]


def test_errors_are_problems_in_chinese(scene: Scene) -> None:
    missing = scene.client.get(f"{API}/999", headers=scene.users["organiser"])
    assert missing.status_code == 404 and "找不到对接会" in missing.json()["detail"]
    bad = scene.call("organiser", "POST", ROOT, {**EVENT, "slots": 0})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "slots"
    late = scene.call("organiser", "POST", ROOT, {**EVENT, "start": "23:30"})
    assert late.status_code == 422 and "超出当天" in late.json()["detail"]
    foreign = scene.call(
        "organiser", "POST", "/participants", {"kind": "team", "results": ["XQ-0-0"]}
    )
    assert foreign.status_code == 404 and "成果" in foreign.json()["detail"]
    engine_off = scene.call("organiser", "POST", "/proposals", {})
    assert engine_off.status_code == 503 and "匹配引擎" in engine_off.json()["title"]
    unknown = scene.call("organiser", "PUT", "/meetings/99999/outcome", {"attendance": "held"})
    assert unknown.status_code == 404 and "没有会谈" in unknown.json()["detail"]


# --- proposals with the real engine -----------------------------------------------------------


@pytest.fixture(scope="module")
def engine_client(
    tmp_path_factory: pytest.TempPathFactory, encoder: Encoder
) -> Iterator[tuple[TestClient, Headers, Database]]:
    folder = tmp_path_factory.mktemp("events-engine")
    engine, database = engine_store(folder, encoder)
    settings = Settings(data_dir=folder / "var", load_demo=False, demo_dir=folder)
    with database.session() as session:
        create_user(session, "organiser-e", PASSWORD, "organiser")
    with TestClient(create_app(settings, database, engine)) as client:
        yield client, login_headers(client, "organiser-e"), database
    database.dispose()


def test_proposals_from_the_engine_put_the_known_pairs_first(
    engine_client: tuple[TestClient, Headers, Database],
) -> None:
    client, headers, database = engine_client

    event = client.post(API, json=EVENT, headers=headers).json()["id"]
    with database.session() as session:
        needs = {n.enterprise_id: [n.id] for n in session.scalars(select(Need)).unique()}
        results: dict[int, list[int]] = {}
        for r in session.scalars(select(Result)).unique():
            results.setdefault(r.institution_id, []).append(r.id)
    _enroll(client, headers, event, World(needs, results))
    body = {"depth": 20, "per_participant": 3}
    response = client.post(f"{API}/{event}/proposals", json=body, headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["added"] == report["candidates"] > 0
    top = report["meetings"]
    assert all(m["priority"] == "proposed" and m["decision"] == "pending" for m in top)
    assert all(m["enterprise_score"] > 0 and m["team_score"] > 0 for m in top)
    best = max(top, key=lambda m: m["score"])
    assert best["need"]["ref"].startswith("XQ-") and best["result"]["ref"].startswith("CG-")
    accepted = client.post(
        f"{API}/{event}/decisions", json={"accept_all_proposals": True}, headers=headers
    )
    assert {m["decision"] for m in accepted.json()} == {"accepted"}
    plan = client.post(f"{API}/{event}/schedule", json={"time_limit_s": 2}, headers=headers)
    assert plan.json()["summary"]["placed_count"] > 0
