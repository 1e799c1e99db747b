"""Organizations, needs, results and experts over HTTP: every endpoint for every role, lists,
validation, contact data and enterprise isolation, through the real app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from matching.config import Settings
from matching.encode import Encoder
from matching.engine import MatchingEngine
from matching.record_edits import create_record
from matching.store.database import Database
from matching.store.models import ChangeRecord, Need
from service.app import create_app
from tests.conftest import DEMO_DIR
from tests.service.role_accounts import Headers, add_account

API = "/api/v1"
ROLES = ("admin", "staff", "organiser", "expert", "enterprise", "university")


@dataclass
class World:
    """Seeded records (``ids`` by name) and the auth headers of one account per role;
    ``enterprise`` acts for enterprise A, ``enterprise_b`` for B, ``university`` for U."""

    client: TestClient
    database: Database
    ids: dict[str, int]
    headers: dict[str, Headers]

    def get(self, role: str, path: str, **params: Any) -> Any:
        return self.client.get(API + path, headers=self.headers[role], params=params)

    def send(self, role: str, method: str, path: str, body: Any = None) -> Any:
        return self.client.request(method, API + path, headers=self.headers[role], json=body)


def _organization(name: str, kind: str, phone: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "region": "安徽省铜陵市义安区",
        "contact_name": "联系人" + name[:2],
        "contact_phone": phone,
        "contact_email": "office@example.com",
    }


def _need(ref: str, owner: int, status: str = "已发布", **extra: Any) -> dict[str, Any]:
    return {
        "external_ref": ref,
        "title": f"铜带退火氧化色差控制{ref}",
        "description": "退火炉出口铜带表面出现氧化色差，希望在线检测并控制保护气氛。",
        "organization_id": owner,
        "fields": ["430"],
        "region": "安徽省铜陵市义安区",
        "status": status,
        "contact_name": "王工",
        "contact_phone": "13800000001",
        **extra,
    }


def _result(ref: str, owner: int, status: str = "已发布") -> dict[str, Any]:
    return {
        "external_ref": ref,
        "title": f"铜合金带材在线表面缺陷检测{ref}",
        "abstract": "基于机器视觉的带材表面缺陷在线检测，已在两条产线应用。",
        "organization_id": owner,
        "fields": ["430"],
        "status": status,
        "contact_name": "张老师",
        "contact_phone": "0731-88800000",
    }


def _expert(ref: str, name: str) -> dict[str, Any]:
    return {
        "external_ref": ref,
        "name": name,
        "fields": ["450"],
        "contact_phone": "13900000000",
        "contact_email": "expert@example.edu.cn",
    }


def seed(database: Database, settings: Settings, client: TestClient) -> World:
    ids: dict[str, int] = {}
    with database.session("seed") as session:

        def add(name: str, entity: str, values: dict[str, Any]) -> int:
            ids[name] = create_record(session, entity, values).id
            return ids[name]

        org_a = add(
            "org_a", "organizations", _organization("铜陵甲铜业有限公司", "企业", "0562-1111111")
        )
        org_b = add(
            "org_b", "organizations", _organization("芜湖乙材料有限公司", "企业", "0553-2222222")
        )
        uni = add(
            "university", "organizations", _organization("中南测试大学", "高校", "0731-3333333")
        )
        inst = add(
            "institute", "organizations", _organization("合肥测试研究院", "科研院所", "0551-44444")
        )
        add("need_a", "needs", _need("XQ-A-1", org_a))
        add("need_w", "needs", _need("XQ-A-2", org_a))
        add("need_b", "needs", _need("XQ-B-1", org_b, confidential=True))
        add("need_b_draft", "needs", _need("XQ-B-2", org_b, status="草稿"))
        add("result_u", "results", _result("CG-U-1", uni))
        add("result_w", "results", _result("CG-U-2", uni))
        add("result_draft", "results", _result("CG-I-1", inst, status="草稿"))
        add("expert", "experts", _expert("ZJ-1", "赵明"))
        add("expert_w", "experts", _expert("ZJ-2", "钱亮"))
        add("expert_self", "experts", _expert("ZJ-3", "孙立"))
    headers = {
        "admin": add_account(database, settings, "admin", "admin1"),
        "staff": add_account(database, settings, "staff", "staff1"),
        "organiser": add_account(database, settings, "organiser", "organiser1"),
        "expert": add_account(
            database, settings, "expert", "expert1", expert_id=ids["expert_self"]
        ),
        "enterprise": add_account(database, settings, "enterprise", "ent_a", organization_id=org_a),
        "enterprise_b": add_account(
            database, settings, "enterprise", "ent_b", organization_id=org_b
        ),
        "university": add_account(database, settings, "university", "uni_u", organization_id=uni),
        "anonymous": {},
    }
    return World(client, database, ids, headers)


@pytest.fixture
def world(client: TestClient, database: Database, settings: Settings) -> World:
    return seed(database, settings, client)


# --- every endpoint × every role ----------------------------------------------------------

EVERYONE = dict.fromkeys(ROLES, 200)
STAFF_ONLY = {"admin": 200, "staff": 200}


def _expect(allowed: dict[str, int], default: int = 403) -> dict[str, int]:
    return {role: allowed.get(role, default) for role in ROLES} | {"anonymous": 401}


CASES: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
    ("GET", "/organizations", None, _expect(EVERYONE)),
    ("GET", "/organizations/{org_b}", None, _expect(EVERYONE)),
    (
        "POST",
        "/organizations",
        {"name": "新单位{role}有限公司"},
        _expect({"admin": 201, "staff": 201}),
    ),
    (
        "PATCH",
        "/organizations/{org_a}",
        {"group_name": "甲集团"},
        _expect(STAFF_ONLY | {"enterprise": 200}),
    ),
    ("GET", "/needs", None, _expect(EVERYONE)),
    ("GET", "/needs/{need_a}", None, _expect(EVERYONE)),
    (
        "GET",
        "/needs/{need_b_draft}",
        None,
        _expect(EVERYONE | {"enterprise": 404, "university": 404}),
    ),
    (
        "POST",
        "/needs",
        _need("XQ-N-{role}", 0, status="已提交") | {"organization_id": "{org_b}"},
        _expect({"admin": 201, "staff": 201, "enterprise": 201}),
    ),
    (
        "PATCH",
        "/needs/{need_a}",
        {"keywords": "退火；色差"},
        _expect(STAFF_ONLY | {"enterprise": 200}),
    ),
    ("PATCH", "/needs/{need_b}", {"keywords": "退火"}, _expect(STAFF_ONLY | {"enterprise": 404})),
    ("POST", "/needs/{need_w}/withdraw", None, _expect(STAFF_ONLY | {"enterprise": 200})),
    ("GET", "/results", None, _expect(EVERYONE)),
    ("GET", "/results/{result_u}", None, _expect(EVERYONE)),
    (
        "GET",
        "/results/{result_draft}",
        None,
        _expect(EVERYONE | {"enterprise": 404, "university": 404}),
    ),
    (
        "POST",
        "/results",
        _result("CG-N-{role}", 0) | {"organization_id": "{institute}"},
        _expect({"admin": 201, "staff": 201, "university": 201}),
    ),
    (
        "PATCH",
        "/results/{result_u}",
        {"team_lead": "张三"},
        _expect(STAFF_ONLY | {"university": 200}),
    ),
    ("POST", "/results/{result_w}/withdraw", None, _expect(STAFF_ONLY | {"university": 200})),
    (
        "GET",
        "/experts",
        None,
        _expect({"admin": 200, "staff": 200, "organiser": 200, "expert": 200}),
    ),
    (
        "GET",
        "/experts/ZJ-1",
        None,
        _expect({"admin": 200, "staff": 200, "organiser": 200, "expert": 200}),
    ),
    ("POST", "/experts", _expert("ZJ-N-{role}", "新专家"), _expect({"admin": 201, "staff": 201})),
    ("PATCH", "/experts/{expert}", {"title": "研究员"}, _expect(STAFF_ONLY)),
    ("POST", "/experts/{expert_w}/withdraw", None, _expect(STAFF_ONLY)),
]


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One store for the role matrix: its cases are written to not disturb each other."""
    folder: Path = tmp_path_factory.mktemp("records-matrix")
    settings = Settings(data_dir=folder / "var", load_demo=False, demo_dir=DEMO_DIR)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    with TestClient(create_app(settings, database)) as client:
        yield seed(database, settings, client)
    database.dispose()


def _fill(value: Any, ids: dict[str, int], role: str) -> Any:
    if isinstance(value, str):
        return value.format(role=role, **ids)
    if isinstance(value, dict):
        filled = {key: _fill(item, ids, role) for key, item in value.items()}
        if isinstance(filled.get("organization_id"), str):
            filled["organization_id"] = int(filled["organization_id"])
        return filled
    return value


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), CASES, ids=[f"{m} {p}" for m, p, _, _ in CASES]
)
def test_every_endpoint_for_every_role(
    shared_world: World,
    role: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    expected: dict[str, int],
) -> None:
    world = shared_world
    answer = world.send(role, method, _fill(path, world.ids, role), _fill(body, world.ids, role))
    assert answer.status_code == expected[role], answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/problem+json"


# --- reading: lists, filters, sorting, pages ----------------------------------------------


def test_pages_sorting_and_filters(world: World) -> None:
    with world.database.session("seed") as session:
        for number in range(1, 26):
            create_record(
                session,
                "needs",
                _need(f"P-{number:02d}", world.ids["org_b"])
                | {
                    "title": f"需求{number:02d}号",
                    "fields": ["450"] if number % 2 else ["610"],
                    "region": "江苏省南京市" if number <= 5 else "安徽省合肥市",
                    "need_type": "平台共建" if number == 7 else "技术研发",
                    "status": "已提交" if number % 5 == 0 else "published",
                },
            )
    first = world.get("staff", "/needs", q="需求", sort="title", page_size=10).json()
    assert (first["total"], first["page"], first["page_size"]) == (25, 1, 10)
    assert [item["title"] for item in first["items"]][:3] == ["需求01号", "需求02号", "需求03号"]
    last = world.get("staff", "/needs", q="需求", sort="title", page_size=10, page=3).json()
    assert [item["title"] for item in last["items"]] == [f"需求{n}号" for n in range(21, 26)]
    descending = world.get("staff", "/needs", q="P-", sort="-ref", page_size=2).json()
    assert [item["external_ref"] for item in descending["items"]] == ["P-25", "P-24"]

    def total(**params: Any) -> int:
        answer = world.get("staff", "/needs", q="需求", **params)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["total"])

    assert total(status="已提交") == total(status="submitted") == 5
    assert total(status=["已提交", "已发布"]) == 25
    assert total(field="冶金工程技术") == total(field="450") == 13
    assert total(province="江苏") == 5 and total(city="合肥市") == 20
    assert total(need_type="平台共建") == 1
    assert total(organization_id=world.ids["org_b"]) == 25
    assert total(organization_id=world.ids["org_a"]) == 0
    assert world.get("staff", "/organizations", q="测试", sort="name").json()["total"] == 2
    assert world.get("staff", "/organizations", kind="高校").json()["total"] == 1
    experts = world.get("staff", "/experts", status="在库", sort="-name").json()
    assert [item["name"] for item in experts["items"]] == ["钱亮", "赵明", "孙立"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "contact_phone"}, "sort"),
        ({"sort": "-password"}, "sort"),
        ({"page_size": 201}, "page_size"),
        ({"page": 0}, "page"),
        ({"status": "不存在的状态"}, "status"),
        ({"field": "烹饪"}, "field"),
        ({"need_type": "其他"}, "need_type"),
        ({"organization_id": "abc"}, "organization_id"),
    ],
)
def test_bad_list_parameters_are_422_naming_the_parameter(
    world: World, params: dict[str, Any], field: str
) -> None:
    answer = world.get("staff", "/needs", **params)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in answer.json()["errors"]]


def test_get_by_id_or_reference_and_404_problem(world: World) -> None:
    by_id = world.get("staff", f"/needs/{world.ids['need_a']}").json()
    by_ref = world.get("staff", "/needs/XQ-A-1").json()
    assert by_id == by_ref and by_ref["status_label"] == "已发布"
    assert world.get("staff", "/organizations/中南测试大学").json()["kind_label"] == "高校"
    for path in (
        "/needs/999999",
        "/needs/没有这个编号",
        "/results/0",
        "/experts/99999999999999999999",
    ):
        missing = world.get("staff", path)
        assert missing.status_code == 404, path
        body = missing.json()
        assert (
            body["status"] == 404 and body["instance"] == API + path and "找不到" in body["detail"]
        )
        assert missing.headers["content-type"] == "application/problem+json"


# --- writing ------------------------------------------------------------------------------


def test_staff_round_trip_with_labels_and_change_log(world: World) -> None:
    created = world.send(
        "staff",
        "POST",
        "/needs",
        {
            "title": "冶炼烟气制酸转化率偏低",
            "description": "两转两吸制酸系统转化率约 99.6%，尾气 SO2 波动。",
            "organization_id": world.ids["org_a"],
            "need_type": "成果引进转化",
            "fields": "450 冶金工程技术；化学工程",
            "cooperation_modes": ["合作开发", "license"],
            "budget_min": 50,
            "budget_max": "100",
            "deadline": "2027年6月30日",
            "region": "安徽 铜陵 义安区",
            "confidential": "否",
        },
    )
    assert created.status_code == 201, created.text
    need = created.json()
    assert need["external_ref"].startswith("XQ-") and need["status"] == "submitted"
    assert need["need_type"] == "adoption" and need["fields"] == ["450", "530"]
    assert need["cooperation_modes"] == ["joint_development", "license"]
    assert (need["budget_min"], need["budget_max"], need["deadline"]) == (50.0, 100.0, "2027-06-30")
    assert (need["province"], need["city"], need["district"]) == ("安徽省", "铜陵市", "义安区")

    changed = world.send("staff", "PATCH", f"/needs/{need['external_ref']}", {"status": "已发布"})
    assert changed.status_code == 200 and changed.json()["status_label"] == "已发布"
    assert changed.json()["title"] == need["title"]  # fields not sent stay
    withdrawn = world.send("staff", "POST", f"/needs/{need['id']}/withdraw")
    assert withdrawn.json()["status"] == "withdrawn"
    again = world.send("staff", "POST", f"/needs/{need['id']}/withdraw")
    assert again.status_code == 200
    with world.database.session() as session:
        assert session.get(Need, need["id"]) is not None  # withdrawn, never deleted
        log = session.scalars(
            select(ChangeRecord)
            .where(ChangeRecord.entity_type == "need", ChangeRecord.entity_id == need["id"])
            .order_by(ChangeRecord.id)
        ).all()
    assert [(entry.action, entry.actor) for entry in log] == [
        ("create", "user:staff1"),
        ("update", "user:staff1"),
        ("update", "user:staff1"),
    ]
    assert log[1].changes["status"] == ["submitted", "published"]
    assert log[2].changes["status"] == ["published", "withdrawn"]


def test_results_experts_and_organizations_are_written_and_withdrawn(world: World) -> None:
    result = world.send(
        "staff",
        "POST",
        "/results",
        _result("CG-NEW", world.ids["university"])
        | {
            "maturity": "中试",
            "trl": 6,
            "ip": [{"number": "ZL202110234567.8", "type": "发明专利"}],
        },
    ).json()
    assert result["maturity_label"] == "中试" and result["ip"][0]["status"] == "granted"
    withdrawn = world.send("staff", "POST", "/results/CG-NEW/withdraw").json()
    assert withdrawn["status_label"] == "已撤回"
    expert = world.send("staff", "POST", "/experts", _expert("ZJ-NEW", "周文") | {"status": "在库"})
    assert expert.status_code == 201
    inactive = world.send("staff", "POST", "/experts/ZJ-NEW/withdraw").json()
    assert inactive["status"] == "inactive" and inactive["status_label"] == "停用"
    organization = world.send("staff", "POST", "/organizations", {"name": "马鞍山示例钢铁有限公司"})
    assert organization.json()["kind"] == "enterprise"  # guessed from the name
    renamed = world.send(
        "staff", "PATCH", f"/organizations/{organization.json()['id']}", {"city": "马鞍山市"}
    )
    assert renamed.json()["city"] == "马鞍山市"


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        ("/needs", {"title": "缺描述"}, {"description", "organization_id"}),
        (
            "/needs",
            _need("XQ-V", 1)
            | {
                "status": "完成了",
                "fields": ["烹饪"],
                "budget_min": -1,
                "deadline": "2027-02-30",
                "contact_phone": "电话",
                "confidential": "也许",
                "organization_id": 99999,
            },
            {"status", "fields", "budget_min", "deadline", "contact_phone", "confidential"},
        ),
        ("/needs", _need("XQ-V", 1) | {"id": 5, "foo": "bar"}, {"id", "foo"}),
        ("/needs", _need("XQ-V", 1) | {"budget_min": 100, "budget_max": 50}, {"budget_max"}),
        ("/needs", _need("XQ-V", 1) | {"title": "", "need_type": None}, {"title", "need_type"}),
        ("/results", _result("CG-V", 1) | {"maturity": "中试", "trl": 9}, {"trl"}),
        ("/results", _result("CG-V", 1) | {"trl": "十", "ip": "ABC"}, {"trl", "ip"}),
        (
            "/experts",
            {"name": "赵", "contact_email": "not-an-email", "status": "退休"},
            {"contact_email", "status"},
        ),
        (
            "/organizations",
            {"name": "某公司", "kind": "协会", "credit_code": "123"},
            {"kind", "credit_code"},
        ),
    ],
)
def test_invalid_values_are_422_naming_each_field_in_chinese(
    world: World, path: str, body: dict[str, Any], fields: set[str]
) -> None:
    answer = world.send("staff", "POST", path, body)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert fields <= {error["field"] for error in errors}
    assert all(any("\u4e00" <= char <= "\u9fff" for char in e["reason"]) for e in errors)


def test_unknown_organization_is_422(world: World) -> None:
    answer = world.send("staff", "POST", "/needs", _need("XQ-X", 99999))
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "organization_id", "reason": "没有 ID 为 99999 的单位"}
    ]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'"text"', b"null", b'{"title": {"a": 1}, "fields": [1, {"x": 2}]}', b""],
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/needs"), ("PATCH", "/needs/XQ-A-1")])
def test_malformed_bodies_are_4xx_not_500(
    world: World, method: str, path: str, content: bytes
) -> None:
    headers = world.headers["staff"] | {"Content-Type": "application/json"}
    answer = world.client.request(method, API + path, headers=headers, content=content)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


def test_duplicate_reference_or_name_is_409(world: World) -> None:
    answer = world.send("staff", "POST", "/needs", _need("XQ-A-1", world.ids["org_a"]))
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["field"] == "external_ref"
    moved = world.send("staff", "PATCH", "/results/CG-U-1", {"external_ref": "CG-U-2"})
    assert moved.status_code == 409
    same_name = world.send("staff", "POST", "/organizations", {"name": "中南测试大学"})
    assert same_name.status_code == 409 and same_name.json()["errors"][0]["field"] == "name"


def test_need_lifecycle_is_enforced(world: World) -> None:
    signed = world.send("staff", "PATCH", "/needs/XQ-A-1", {"status": "已对接"})
    assert signed.status_code == 200
    assert world.send("staff", "PATCH", "/needs/XQ-A-1", {"status": "已签约"}).status_code == 200
    back = world.send("staff", "PATCH", "/needs/XQ-A-1", {"status": "草稿"})
    assert back.status_code == 409 and back.json()["errors"][0]["field"] == "status"
    assert "可改为：已关闭" in back.json()["detail"]
    withdraw = world.send("staff", "POST", "/needs/XQ-A-1/withdraw")
    assert withdraw.status_code == 409 and "已签约" in withdraw.json()["detail"]


# --- who sees what ------------------------------------------------------------------------


def _contacts(answer: Any) -> tuple[Any, ...]:
    body = answer.json()
    return body["contact_hidden"], body.get("contact_name"), body["contact_phone"]


def test_contact_data_is_hidden_from_outsiders(world: World) -> None:
    need = f"/needs/{world.ids['need_a']}"
    assert _contacts(world.get("staff", need)) == (False, "王工", "13800000001")
    assert _contacts(world.get("organiser", need)) == (False, "王工", "13800000001")
    assert _contacts(world.get("enterprise", need)) == (False, "王工", "13800000001")
    assert _contacts(world.get("expert", need)) == (True, None, None)
    assert _contacts(world.get("university", need)) == (True, None, None)
    result = f"/results/{world.ids['result_u']}"
    assert _contacts(world.get("university", result)) == (False, "张老师", "0731-88800000")
    assert _contacts(world.get("enterprise", result)) == (True, None, None)
    assert _contacts(world.get("expert", result)) == (True, None, None)
    listed = world.get("enterprise", "/results").json()["items"]
    assert listed and all(item["contact_phone"] is None for item in listed)
    own_expert = world.get("expert", "/experts/ZJ-3").json()
    other_expert = world.get("expert", "/experts/ZJ-1").json()
    assert own_expert["contact_email"] == "expert@example.edu.cn"
    assert other_expert["contact_email"] is None and other_expert["contact_hidden"]
    own_org = world.get("enterprise", f"/organizations/{world.ids['org_a']}").json()
    other_org = world.get("enterprise", f"/organizations/{world.ids['org_b']}").json()
    assert own_org["contact_phone"] == "0562-1111111"
    assert (other_org["contact_phone"], other_org["contact_email"]) == (None, None)


def test_enterprise_sees_and_changes_only_its_own_needs(world: World) -> None:
    listed = world.get("enterprise", "/needs").json()
    assert {item["external_ref"] for item in listed["items"]} == {"XQ-A-1", "XQ-A-2"}
    assert (
        world.get("enterprise", "/needs", organization_id=world.ids["org_b"]).json()["total"] == 0
    )
    for method, path in (
        ("GET", "/needs/XQ-B-1"),
        ("PATCH", "/needs/XQ-B-1"),
        ("POST", "/needs/XQ-B-1/withdraw"),
    ):
        answer = world.send(
            "enterprise", method, path, {"title": "改"} if method == "PATCH" else None
        )
        assert answer.status_code == 404, (method, path)
    created = world.send(
        "enterprise", "POST", "/needs", _need("XQ-A-3", world.ids["org_b"]) | {"status": None}
    )
    assert created.status_code == 422  # emptied status
    created = world.send(
        "enterprise", "POST", "/needs", _need("XQ-A-3", world.ids["org_b"], status="已提交")
    )
    assert created.status_code == 201
    assert created.json()["organization_id"] == world.ids["org_a"]  # whatever the body said
    moved = world.send(
        "enterprise", "PATCH", "/needs/XQ-A-3", {"organization_id": world.ids["org_b"]}
    )
    assert moved.json()["organization_id"] == world.ids["org_a"]
    published = world.send("enterprise", "PATCH", "/needs/XQ-A-3", {"status": "已发布"})
    assert published.status_code == 403 and published.json()["errors"][0]["field"] == "status"
    other_org = world.send(
        "enterprise", "PATCH", f"/organizations/{world.ids['org_b']}", {"city": "芜湖市"}
    )
    assert other_org.status_code == 403
    assert world.get("enterprise", "/results/CG-I-1").status_code == 404  # a draft result


def test_university_reads_active_needs_without_confidential_owners(world: World) -> None:
    listed = world.get("university", "/needs", sort="ref").json()
    assert [item["external_ref"] for item in listed["items"]] == ["XQ-A-1", "XQ-A-2", "XQ-B-1"]
    confidential = listed["items"][2]
    assert confidential["owner_hidden"] and confidential["organization_id"] is None
    assert confidential["organization_name"] is None
    by_owner = world.get("university", "/needs", organization_id=world.ids["org_b"]).json()
    assert by_owner["total"] == 0  # a confidential need cannot be found by its enterprise
    staff_view = world.get("staff", "/needs/XQ-B-1").json()
    assert staff_view["organization_name"] == "芜湖乙材料有限公司"
    own = world.get("university", "/results").json()
    assert {item["external_ref"] for item in own["items"]} == {"CG-U-1", "CG-U-2"}
    created = world.send(
        "university", "POST", "/results", _result("CG-U-3", world.ids["institute"])
    )
    assert created.json()["organization_id"] == world.ids["university"]


# --- index freshness, with the real model ----------------------------------------------------


def test_written_records_are_matchable_or_gone_at_once(tmp_path: Path, encoder: Encoder) -> None:
    settings = Settings(data_dir=tmp_path / "var", load_demo=False, demo_dir=DEMO_DIR)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    with database.session("seed") as session:
        org = create_record(session, "organizations", {"name": "铜陵甲铜业有限公司"}).id
        uni = create_record(session, "organizations", {"name": "中南测试大学", "kind": "高校"}).id
        create_record(session, "results", _result("CG-1", uni))
        create_record(
            session,
            "results",
            _result("CG-2", uni)
            | {"title": "农村生活污水生态处理", "abstract": "人工湿地与生物滤池组合处理农村污水。"},
        )
        create_record(session, "needs", _need("XQ-1", org))
        create_record(session, "experts", _expert("ZJ-1", "赵明") | {"profile": "长期从事铜加工。"})
    engine = MatchingEngine(database, settings, encoder)
    engine.open()
    staff = add_account(database, settings, "staff", "staff1")
    with TestClient(create_app(settings, database, engine)) as client:

        def send(method: str, path: str, body: Any = None) -> Any:
            answer = client.request(method, API + path, headers=staff, json=body)
            assert answer.status_code < 300, answer.text
            return answer.json()

        need = send("POST", "/needs", _need("XQ-2", org) | {"title": "铜板带表面氧化变色"})
        assert "XQ-2" in engine.similar_needs("XQ-1").refs()
        assert "XQ-2" in engine.result_to_needs("CG-1").refs()
        assert engine.need_to_results("XQ-2", top=2).refs()[0] == "CG-1"
        send("POST", f"/needs/{need['id']}/withdraw")
        assert need["id"] not in engine.corpora["needs"].facets
        assert "XQ-2" not in engine.result_to_needs("CG-1").refs()

        result = send("POST", "/results", _result("CG-3", uni))
        assert "CG-3" in engine.need_to_results("XQ-1").refs()
        send("PATCH", f"/results/{result['id']}", {"status": "草稿"})
        assert "CG-3" not in engine.need_to_results("XQ-1").refs()

        send("POST", "/experts", _expert("ZJ-2", "钱亮") | {"profile": "铜带退火与表面处理。"})
        assert "ZJ-2" in engine.need_to_experts("XQ-1").refs()
        send("POST", "/experts/ZJ-2/withdraw")
        assert "ZJ-2" not in engine.need_to_experts("XQ-1").refs()
    database.dispose()


def test_concurrent_writes_and_match_requests_are_safe(tmp_path: Path, encoder: Encoder) -> None:
    """Writers create needs and results while readers ask for match lists, all at once through
    the real app: no request fails, every write lands, and every written record is matchable."""
    from concurrent.futures import ThreadPoolExecutor

    settings = Settings(data_dir=tmp_path / "var", load_demo=False, demo_dir=DEMO_DIR)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    with database.session("seed") as session:
        org = create_record(session, "organizations", {"name": "铜陵丙铜业有限公司"}).id
        uni = create_record(session, "organizations", {"name": "合肥测试大学", "kind": "高校"}).id
        create_record(session, "results", _result("CG-0", uni))
        create_record(session, "needs", _need("XQ-0", org))
    engine = MatchingEngine(database, settings, encoder)
    engine.open()
    staff = add_account(database, settings, "staff", "staff-concurrent")
    with TestClient(create_app(settings, database, engine)) as client:

        def write(number: int) -> int:
            if number % 2:
                body = _need(f"XQ-C{number}", org) | {"title": f"铜带第{number}号表面氧化问题"}
                path = "/needs"
            else:
                body = _result(f"CG-C{number}", uni) | {"title": f"铜带抗氧化涂层{number}"}
                path = "/results"
            return client.post(API + path, headers=staff, json=body).status_code

        def read(number: int) -> int:
            path = "/needs/XQ-0/matches/results" if number % 2 else "/needs/XQ-0/similar"
            answer = client.get(API + path, headers=staff)
            assert answer.status_code == 200, answer.text
            return answer.status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            writes = pool.map(write, range(12))
            reads = pool.map(read, range(24))
            statuses = list(writes), list(reads)
    assert statuses == ([201] * 12, [200] * 24)
    needs = {f"XQ-C{n}" for n in range(1, 12, 2)}
    results = {f"CG-C{n}" for n in range(0, 12, 2)}
    assert needs <= set(engine.similar_needs("XQ-0", top=20).refs())
    assert results <= set(engine.need_to_results("XQ-0", top=20).refs())
    database.dispose()
