"""Match lists over HTTP, through the real app with a real engine (the real model, FAISS, BM25)
over the mini demo slice (20 needs, 40 results, 10 experts), built once for the module.

Every endpoint × role, allowed and forbidden; another organization's record is 404; unknown
ids 404; bad parameters 422; all as problem documents; never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from matching.access import HIDDEN_ORGANIZATION
from matching.accounts import create_user
from matching.config import Settings
from matching.demo import load_demo
from matching.encode import Encoder
from matching.engine import MatchingEngine
from matching.store.database import Database
from matching.store.models import Need, Result
from service.app import create_app
from tests.service.conftest import PASSWORD, login_headers

OWN_NEED = "XQ-A-001"  # 铜陵汇铜冶炼有限公司; experts ZJ-A-001 and ZJ-A-010 are in conflict
SECOND_OWN_NEED = "XQ-A-023"  # moved to the same enterprise by the fixture
OTHER_NEED = "XQ-A-012"  # made confidential by the fixture
OWN_RESULT = "CG-A-001"  # 中南大学
OTHER_RESULT = "CG-A-011"
ROLES = ("admin", "staff", "organiser", "expert", "enterprise", "university")


@dataclass
class World:
    client: TestClient
    database: Database
    headers: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, mini_demo_dir: Path, encoder: Encoder
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("matches-api")
    settings = Settings(data_dir=folder / "var", load_demo=False, demo_dir=mini_demo_dir)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    load_demo(database, mini_demo_dir, settings)
    with database.session("test") as session:
        need = session.scalar(select(Need).where(Need.external_ref == OTHER_NEED))
        assert need is not None
        need.confidential = True
        enterprise = session.scalar(select(Need).where(Need.external_ref == OWN_NEED))
        second = session.scalar(select(Need).where(Need.external_ref == SECOND_OWN_NEED))
        university = session.scalar(select(Result).where(Result.external_ref == OWN_RESULT))
        assert enterprise is not None and second is not None and university is not None
        second.enterprise_id = enterprise.enterprise_id
        organizations = {
            "enterprise": enterprise.enterprise_id,
            "university": university.institution_id,
        }
        for role in ROLES:
            create_user(
                session,
                role,
                PASSWORD,
                role,
                organization=organizations.get(role),
                expert="ZJ-A-001" if role == "expert" else None,
            )
    engine = MatchingEngine(database, settings, encoder)
    engine.open()
    with TestClient(create_app(settings, database, engine)) as client:
        headers = {role: login_headers(client, role) for role in ROLES}
        yield World(client, database, headers)
    database.dispose()


def _get(world: World, path: str, role: str | None, **params: Any) -> Any:
    headers = world.headers[role] if role else {}
    return world.client.get(path, params=params, headers=headers)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"]
    return body


NEED_LISTS = ["/api/v1/needs/{}/matches/results", "/api/v1/needs/{}/similar"]
EXPERT_LIST = "/api/v1/needs/{}/matches/experts"
RESULT_LIST = "/api/v1/results/{}/matches/needs"


@pytest.mark.parametrize("path", NEED_LISTS)
@pytest.mark.parametrize(
    ("role", "need", "status"),
    [
        ("admin", OTHER_NEED, 200),
        ("staff", OTHER_NEED, 200),
        ("organiser", OWN_NEED, 200),
        ("enterprise", OWN_NEED, 200),
        ("enterprise", OTHER_NEED, 404),
        ("university", OWN_NEED, 403),
        ("expert", OWN_NEED, 403),
        (None, OWN_NEED, 401),
    ],
)
def test_who_sees_a_need_s_lists(
    world: World, path: str, role: str | None, need: str, status: int
) -> None:
    response = _get(world, path.format(need), role, top=3)
    if status != 200:
        _problem(response, status)
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"]["ref"] == need and 1 <= len(body["items"]) <= 3


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("staff", 200),
        ("organiser", 200),
        ("enterprise", 403),
        ("university", 403),
        ("expert", 403),
        (None, 401),
    ],
)
def test_only_the_centre_sees_experts_for_a_need(
    world: World, role: str | None, status: int
) -> None:
    response = _get(world, EXPERT_LIST.format(OWN_NEED), role, top=3)
    if status != 200:
        _problem(response, status)
        return
    assert response.json()["direction"] == "need→experts" and len(response.json()["items"]) == 3


@pytest.mark.parametrize(
    ("role", "result", "status"),
    [
        ("admin", OTHER_RESULT, 200),
        ("staff", OWN_RESULT, 200),
        ("organiser", OTHER_RESULT, 200),
        ("university", OWN_RESULT, 200),
        ("university", OTHER_RESULT, 404),
        ("enterprise", OWN_RESULT, 403),
        ("expert", OWN_RESULT, 403),
        (None, OWN_RESULT, 401),
    ],
)
def test_who_sees_a_result_s_list(world: World, role: str | None, result: str, status: int) -> None:
    response = _get(world, RESULT_LIST.format(result), role, top=4)
    if status != 200:
        _problem(response, status)
        return
    assert response.status_code == 200, response.text
    assert response.json()["direction"] == "result→needs" and len(response.json()["items"]) == 4


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("staff", 200),
        ("organiser", 200),
        ("enterprise", 200),
        ("university", 200),
        ("expert", 403),
        (None, 401),
    ],
)
def test_who_may_search(world: World, role: str | None, status: int) -> None:
    response = _get(world, "/api/v1/search/results", role, q="冶炼烟气制酸转化率低")
    if status != 200:
        _problem(response, status)
        return
    body = response.json()
    assert body["direction"] == "text→results" and len(body["items"]) == 10


def test_need_to_results_carries_explanations_scores_and_model(world: World) -> None:
    body = _get(world, f"/api/v1/needs/{OWN_NEED}/matches/results", "staff", top=5).json()
    assert body["direction"] == "need→results" and body["model_id"] and body["ranker"]
    assert [item["rank"] for item in body["items"]] == [1, 2, 3, 4, 5]
    first = body["items"][0]
    assert {"fused", "cosine", "dense", "lexical"} <= set(first["components"])
    assert first["shared_terms"] and "【" in first["evidence"]["marked"]
    assert first["ref"].startswith("CG-") and first["organization"]
    by_id = _get(world, "/api/v1/needs/1/matches/results", "staff", top=5).json()
    assert by_id["query"]["id"] == 1


def test_filters_restrict_lists(world: World) -> None:
    body = _get(
        world,
        f"/api/v1/needs/{OWN_NEED}/matches/results",
        "staff",
        top=3,
        maturity=["中试", "industrial"],
        min_trl=6,
    ).json()
    assert body["filters"] == {"maturities": ["industrial", "pilot"], "min_trl": 6}
    assert all(item["details"]["trl"] >= 6 for item in body["items"])
    assert all(item["details"]["maturity"] in ("pilot", "industrial") for item in body["items"])
    anhui = _get(world, f"/api/v1/results/{OWN_RESULT}/matches/needs", "staff", province="安徽")
    assert anhui.json()["filters"] == {"provinces": ["安徽省"]}
    assert all(item["region"].startswith("安徽省") for item in anhui.json()["items"])
    fields = _get(world, "/api/v1/search/results", "staff", q="烟气", field="冶金工程技术")
    assert all("450" in item["details"]["fields"] for item in fields.json()["items"])


def test_conflicted_experts_are_left_out_unless_asked(world: World) -> None:
    path = EXPERT_LIST.format(OWN_NEED)
    default = {item["ref"] for item in _get(world, path, "staff", top=10).json()["items"]}
    assert default.isdisjoint({"ZJ-A-001", "ZJ-A-010"}) and len(default) == 8
    everyone = _get(world, path, "staff", top=10, exclude_conflicts=False).json()
    assert {"ZJ-A-001", "ZJ-A-010"} <= {item["ref"] for item in everyone["items"]}


def test_an_enterprise_s_similar_needs_are_its_own(world: World) -> None:
    path = f"/api/v1/needs/{OWN_NEED}/similar"
    own = _get(world, path, "enterprise", top=10).json()
    assert [item["ref"] for item in own["items"]] == [SECOND_OWN_NEED]
    assert len(_get(world, path, "staff", top=10).json()["items"]) == 10


def test_organization_users_see_no_contacts_nor_confidential_enterprises(world: World) -> None:
    path = RESULT_LIST.format(OWN_RESULT)
    university = _get(world, path, "university", top=19).json()["items"]
    hidden = [item for item in university if item["ref"] == OTHER_NEED]
    assert hidden and hidden[0]["organization"] == HIDDEN_ORGANIZATION
    staff = _get(world, path, "staff", top=19).json()["items"]
    assert [i["organization"] for i in staff if i["ref"] == OTHER_NEED] == [
        "铜陵天门山资源再生有限公司"
    ]
    search = _get(world, "/api/v1/search/results", "enterprise", q="冶炼烟气", top=20).json()
    for item in [*university, *search["items"]]:
        assert not any("contact" in key or "phone" in key for key in item["details"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/needs/XQ-404/matches/results",
        "/api/v1/needs/99999/matches/experts",
        "/api/v1/needs/99999999999999999999999999/similar",
        "/api/v1/needs/%C2%B2/similar",
        "/api/v1/results/CG-404/matches/needs",
    ],
)
def test_unknown_ids_are_404(world: World, path: str) -> None:
    assert "找不到" in _problem(_get(world, path, "admin"), 404)["detail"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (f"/api/v1/needs/{OWN_NEED}/matches/results", {"top": 0}, "top"),
        (f"/api/v1/needs/{OWN_NEED}/matches/results", {"top": 101}, "top"),
        (f"/api/v1/needs/{OWN_NEED}/matches/results", {"top": "ten"}, "top"),
        (f"/api/v1/needs/{OWN_NEED}/matches/results", {"min_trl": 10}, "min_trl"),
        (f"/api/v1/needs/{OWN_NEED}/matches/results", {"maturity": "成熟"}, "maturity"),
        (f"/api/v1/needs/{OWN_NEED}/matches/results", {"field": "炼金术"}, "field"),
        (EXPERT_LIST.format(OWN_NEED), {"province": "火星"}, "province"),
        (f"/api/v1/needs/{OWN_NEED}/similar", {"deadline_after": "2027-02-30"}, "deadline_after"),
        (RESULT_LIST.format(OWN_RESULT), {"cooperation_mode": "赠送"}, "cooperation_mode"),
        ("/api/v1/search/results", {}, "q"),
        ("/api/v1/search/results", {"q": "   "}, "q"),
        ("/api/v1/search/results", {"q": "x" * 2001}, "q"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    world: World, path: str, params: dict[str, Any], field: str
) -> None:
    problem = _problem(_get(world, path, "staff", **params), 422)
    assert field in {error["field"] for error in problem["errors"]}, problem


def test_without_engine_lists_are_503(client: TestClient, make_user: Any) -> None:
    headers = make_user("staff")
    response = client.get("/api/v1/search/results", params={"q": "烟气"}, headers=headers)
    assert _problem(response, 503)["title"] == "匹配引擎未就绪"
    _problem(client.get("/api/v1/search/results", params={"q": "烟气"}), 401)


def test_openapi_declares_the_lists_and_their_problems(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/needs/{need}/matches/results"]["get"]
    assert operation["tags"] == ["匹配"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MatchListOut"
    }
    assert "application/problem+json" in operation["responses"]["422"]["content"]
