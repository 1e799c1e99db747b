"""``/api/v1/rounds`` through the real app over HTTP: every endpoint for every role, the
experts' isolation, submission and locking, reopening, withdrawal, results against a
hand-computed example, and the XLSX exports with the paper round trip."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from matching.config import Settings
from matching.store.database import Database
from matching.store.models import ChangeRecord, Expert, ReviewForm, User
from matching.vocab import Role
from service.security import issue_token
from tests.matching.committee_data import SIMPLE_TEMPLATE, CommitteeStore, build_store

Accounts = Callable[..., dict[str, str]]

BASE = "/api/v1/rounds"
ROLES = ("admin", "staff", "organiser", "expert", "enterprise", "university")
ORGANISERS = {"admin", "staff", "organiser"}


@pytest.fixture
def store(database: Database) -> CommitteeStore:
    return build_store(database)


@pytest.fixture
def make_user(client: TestClient, database: Database, settings: Settings) -> Accounts:
    """Accounts of a role (an expert account bound to ``expert``) with the token the login
    endpoint would issue. No password is hashed, which keeps these tests fast; logging in is
    tested in ``test_auth``."""
    numbers = itertools.count(1)

    def factory(
        role: str, expert: int | None = None, username: str | None = None
    ) -> dict[str, str]:
        name = username or f"{role}{next(numbers)}"
        with database.session("test") as session:
            if role == "expert" and expert is None:
                person = Expert(external_ref=f"ZJ-T{name}", name=f"外部专家{name}")
                session.add(person)
                session.flush()
                expert = person.id
            account = User(
                username=name, role=Role(role).value, expert_id=expert, password_hash="!"
            )
            session.add(account)
            session.flush()
            token, _ = issue_token(account, settings)
        return {"Authorization": f"Bearer {token}"}

    return factory


@pytest.fixture
def staff(make_user: Accounts) -> dict[str, str]:
    return make_user("staff", username="staff")


def _round(
    client: TestClient,
    headers: dict[str, str],
    needs: list[str],
    experts: list[str],
    **settings: Any,
) -> tuple[int, dict[str, Any]]:
    """A round with these needs and experts, assigned; its id and the assignment report."""
    body = {"name": "2026 年第一批需求评比", "template": SIMPLE_TEMPLATE} | settings
    created = client.post(BASE, json=body, headers=headers)
    assert created.status_code == 201, created.text
    round_id = created.json()["id"]
    added = client.post(f"{BASE}/{round_id}/items", json={"needs": needs}, headers=headers)
    assert added.status_code == 200, added.text
    pool = client.post(f"{BASE}/{round_id}/experts", json={"experts": experts}, headers=headers)
    assert pool.status_code == 200, pool.text
    report = client.post(f"{BASE}/{round_id}/assign", headers=headers)
    assert report.status_code == 200, report.text
    return round_id, report.json()


def _panels(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {panel["ref"]: panel for panel in report["panels"]}


def _answers(score: float, **more: Any) -> dict[str, Any]:
    return {"scores": {"q": score}, "declared_no_conflict": True} | more


@dataclass
class World:
    round_id: int
    item_id: int
    expert_id: int
    headers: dict[str, dict[str, str]]


@pytest.fixture
def world(
    client: TestClient, make_user: Accounts, store: CommitteeStore, staff: dict[str, str]
) -> World:
    round_id, report = _round(client, staff, ["XQ-002", "XQ-003"], ["ZJ-002", "ZJ-005"])
    panel = _panels(report)["XQ-003"]
    member = panel["members"][0]
    headers = {role: make_user(role) for role in ROLES if role != "expert"}
    headers["expert"] = make_user("expert", expert=member["expert_id"])
    return World(round_id, panel["item_id"], member["expert_id"], headers)


def _endpoints(w: World) -> list[tuple[str, str, dict[str, Any] | None, set[str]]]:
    r, i, e = f"{BASE}/{w.round_id}", w.item_id, w.expert_id
    pool = ORGANISERS | {"expert"}
    return [
        ("POST", BASE, {"name": "新批次"}, ORGANISERS),
        ("GET", BASE, None, ORGANISERS),
        ("GET", f"{BASE}/templates/default", None, pool),
        ("GET", r, None, ORGANISERS),
        ("PATCH", r, {"description": "说明"}, ORGANISERS),
        ("GET", f"{r}/template", None, pool),
        ("POST", f"{r}/items", {"needs": ["XQ-002"]}, ORGANISERS),
        ("GET", f"{r}/items", None, ORGANISERS),
        ("POST", f"{r}/experts", {"experts": ["ZJ-002"]}, ORGANISERS),
        ("GET", f"{r}/experts", None, ORGANISERS),
        ("POST", f"{r}/assign", None, ORGANISERS),
        ("GET", f"{r}/assignments", None, ORGANISERS),
        ("POST", f"{r}/overrides", {"item_id": i, "expert_id": e, "kind": "clear"}, ORGANISERS),
        ("GET", f"{r}/overrides", None, ORGANISERS),
        ("GET", f"{r}/my-assignments", None, {"expert"}),
        ("GET", f"{r}/items/{i}/form", None, {"expert"}),
        ("PUT", f"{r}/items/{i}/form", {"scores": {"q": 7}}, {"expert"}),
        ("POST", f"{r}/items/{i}/form/submit", {}, {"expert"}),
        ("GET", f"{r}/items/{i}/forms", None, ORGANISERS),
        ("POST", f"{r}/items/{i}/forms/{e}/reopen", {"reason": "重评"}, {"admin"}),
        ("GET", f"{r}/progress", None, ORGANISERS),
        ("GET", f"{r}/results", None, ORGANISERS),
        ("GET", f"{r}/results.xlsx", None, ORGANISERS),
        ("GET", f"{r}/paper-forms.xlsx", None, pool),
        ("POST", f"{r}/experts/{e}/withdraw", {"reason": "出差"}, ORGANISERS),
    ]


def test_every_endpoint_for_every_role(client: TestClient, world: World) -> None:
    endpoints = _endpoints(world)
    routes = [
        route
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.path.startswith(BASE)
    ]
    tried = [(m, p) for m, p, _, _ in endpoints] + [("POST", f"{BASE}/1/paper-forms")]
    untested = [
        route.path
        for route in routes
        if not any(m in route.methods and route.path_regex.match(p) for m, p in tried)
    ]
    assert untested == []
    for method, path, body, allowed in endpoints:
        assert client.request(method, path, json=body).status_code == 401, path
        for role in ROLES:
            answer = client.request(method, path, json=body, headers=world.headers[role])
            if role in allowed:
                assert answer.status_code not in (401, 403), (method, path, role, answer.text)
                assert answer.status_code < 500, (method, path, role, answer.text)
            else:
                assert answer.status_code == 403, (method, path, role, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"


def test_paper_import_is_for_organisers_only(client: TestClient, world: World) -> None:
    files = {"file": ("forms.xlsx", b"not a workbook", "application/octet-stream")}
    path = f"{BASE}/{world.round_id}/paper-forms"
    for role in ROLES:
        answer = client.post(path, files=files, headers=world.headers[role])
        assert (answer.status_code == 403) == (role not in ORGANISERS), (role, answer.text)
    bad = client.post(path, files=files, headers=world.headers["staff"])
    assert bad.status_code == 422 and "无法读取 Excel 文件" in bad.json()["detail"]


def test_an_expert_sees_only_their_own_items_and_forms(
    client: TestClient, make_user: Accounts, store: CommitteeStore, staff: dict[str, str]
) -> None:
    round_id, report = _round(
        client, staff, ["XQ-001", "XQ-003"], ["ZJ-002", "ZJ-005"], reviewers_per_item=1
    )
    panels = _panels(report)
    first, second = panels["XQ-001"], panels["XQ-003"]
    owner, stranger = first["members"][0]["expert_id"], second["members"][0]["expert_id"]
    assert owner != stranger
    me, them = make_user("expert", expert=owner), make_user("expert", expert=stranger)
    form = f"{BASE}/{round_id}/items/{first['item_id']}/form"
    assert client.put(form, json=_answers(8, overall_comment="好"), headers=me).status_code == 200
    for method, path, body in (
        ("GET", form, None),
        ("PUT", form, _answers(1)),
        ("POST", form + "/submit", _answers(1)),
        ("GET", f"{BASE}/{round_id}/items/{first['item_id']}/forms", None),
        ("GET", f"{BASE}/{round_id}/paper-forms.xlsx?expert_id={owner}", None),
        ("GET", f"{BASE}/{round_id}/results", None),
        ("GET", f"{BASE}/{round_id}/progress", None),
    ):
        answer = client.request(method, path, json=body, headers=them)
        assert answer.status_code == 403, (method, path, answer.text)
    mine = client.get(f"{BASE}/{round_id}/my-assignments", headers=them).json()
    assert [a["item"]["ref"] for a in mine] == ["XQ-003"]
    unknown = client.get(f"{BASE}/{round_id}/items/99999/form", headers=them)
    assert unknown.status_code == 403
    outsider = make_user("expert")
    assert client.get(f"{BASE}/{round_id}/template", headers=outsider).status_code == 403
    assert client.get(f"{BASE}/{round_id}/my-assignments", headers=outsider).json() == []
    own = client.get(form, headers=me).json()
    assert own["answers"]["scores"] == {"q": 8.0} and own["status"] == "draft"
    # The stranger's own paper forms hold only their own item.
    paper = client.get(f"{BASE}/{round_id}/paper-forms.xlsx", headers=them)
    book = load_workbook(io.BytesIO(paper.content))
    assert len(book.sheetnames) == 2 and "XQ-003" in book.sheetnames[1]


def test_submission_is_validated_then_locked_and_reopening_is_audited(
    client: TestClient,
    make_user: Accounts,
    store: CommitteeStore,
    staff: dict[str, str],
    database: Database,
) -> None:
    round_id, report = _round(client, staff, ["XQ-003"], ["ZJ-005"], reviewers_per_item=1)
    item_id = report["panels"][0]["item_id"]
    expert_id = report["panels"][0]["members"][0]["expert_id"]
    me = make_user("expert", expert=expert_id)
    form = f"{BASE}/{round_id}/items/{item_id}/form"
    bad = client.put(form, json={"scores": {"q": 11, "x": 1}}, headers=me)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"scores.q", "scores.x"}
    assert "超出范围" in bad.json()["detail"]
    client.put(form, json={"vetoes": {"fake": ""}}, headers=me)
    incomplete = client.post(form + "/submit", headers=me)
    assert incomplete.status_code == 422
    fields = {e["field"] for e in incomplete.json()["errors"]}
    assert fields == {"scores.q", "declared_no_conflict", "vetoes.fake"}
    done = client.post(form + "/submit", json=_answers(7.5), headers=me)
    assert done.status_code == 200 and done.json()["total"] == 75.0
    assert done.json()["status"] == "submitted" and done.json()["to_complete"] == []
    for method, body in (("PUT", _answers(9)), ("POST", _answers(9))):
        path = form if method == "PUT" else form + "/submit"
        locked = client.request(method, path, json=body, headers=me)
        assert locked.status_code == 409 and "已提交" in locked.json()["detail"]
    reopen = f"{BASE}/{round_id}/items/{item_id}/forms/{expert_id}/reopen"
    assert client.post(reopen, json={"reason": "x"}, headers=staff).status_code == 403
    admin = make_user("admin", username="boss")
    assert client.post(reopen, json={"reason": ""}, headers=admin).status_code == 422
    opened = client.post(reopen, json={"reason": "评分录入有误"}, headers=admin)
    assert opened.status_code == 200 and opened.json()["status"] == "draft"
    assert client.post(reopen, json={"reason": "again"}, headers=admin).status_code == 409
    with database.session() as session:
        form_row = session.scalars(select(ReviewForm)).one()
        record = session.scalars(
            select(ChangeRecord)
            .where(ChangeRecord.entity_type == "review_form", ChangeRecord.entity_id == form_row.id)
            .order_by(ChangeRecord.id.desc())
        ).first()
    assert record is not None and record.actor == "user:boss"
    assert record.changes["status"] == ["submitted", "draft"]
    assert record.changes["reopen_reason"] == ["", "评分录入有误"]
    again = client.post(form + "/submit", json=_answers(9), headers=me)
    assert again.status_code == 200 and again.json()["total"] == 90.0


def test_withdrawal_keeps_submitted_forms(
    client: TestClient, make_user: Accounts, store: CommitteeStore, staff: dict[str, str]
) -> None:
    round_id, report = _round(
        client,
        staff,
        ["XQ-002", "XQ-003", "XQ-004"],
        ["ZJ-002", "ZJ-004", "ZJ-005"],
        reviewers_per_item=2,
        max_load=2,
    )
    x5 = next(
        m["expert_id"] for p in report["panels"] for m in p["members"] if m["ref"] == "ZJ-005"
    )
    items = [p for p in report["panels"] if any(m["ref"] == "ZJ-005" for m in p["members"])]
    assert len(items) >= 2
    me = make_user("expert", expert=x5)
    done = f"{BASE}/{round_id}/items/{items[0]['item_id']}/form/submit"
    assert client.post(done, json=_answers(6), headers=me).status_code == 200
    # Everyone is at their limit: a newcomer takes over what ZJ-005 leaves.
    client.post(f"{BASE}/{round_id}/experts", json={"experts": ["ZJ-001"]}, headers=staff)
    after = client.post(
        f"{BASE}/{round_id}/experts/{x5}/withdraw", json={"reason": "身体原因"}, headers=staff
    )
    assert after.status_code == 200, after.text
    panels = _panels(after.json())
    assert any(m["ref"] == "ZJ-005" for m in panels[items[0]["ref"]]["members"])
    for other in items[1:]:
        refs = [m["ref"] for m in panels[other["ref"]]["members"]]
        assert "ZJ-005" not in refs
    assert after.json()["conflict_violations"] == 0 and after.json()["understaffed"] == []
    assert all(len(panels[other["ref"]]["members"]) == 2 for other in items[1:])
    pool = client.get(f"{BASE}/{round_id}/experts", headers=staff).json()
    assert next(p for p in pool if p["ref"] == "ZJ-005")["status"] == "withdrawn"
    results = client.get(f"{BASE}/{round_id}/results", headers=staff).json()
    scored = next(i for i in results["items"] if i["item"]["ref"] == items[0]["ref"])
    assert [r["ref"] for r in scored["reviews"]] == ["ZJ-005"] and scored["score"] == 60.0
    again = client.post(f"{BASE}/{round_id}/experts/{x5}/withdraw", json={}, headers=staff)
    assert again.status_code == 409


# Totals (score × 10) by item and expert, and the veto on XQ-004: see the hand computation in
# ``test_results_match_a_hand_computed_example``.
SCORES = {
    "XQ-001": {"ZJ-001": 7, "ZJ-002": 8, "ZJ-005": 9},
    "XQ-002": {"ZJ-001": 6, "ZJ-002": 6, "ZJ-005": 7.5},
    "XQ-003": {"ZJ-001": 7, "ZJ-002": 8, "ZJ-005": 9},
    "XQ-004": {"ZJ-001": 5, "ZJ-002": 5, "ZJ-005": 6},
}


def _scored_round(
    client: TestClient, make_user: Accounts, staff: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    round_id, report = _round(
        client,
        staff,
        list(SCORES),
        ["ZJ-001", "ZJ-002", "ZJ-005"],
        reviewers_per_item=3,
        max_load=4,
    )
    pool = {m["ref"]: m["expert_id"] for p in report["panels"] for m in p["members"]}
    users = {ref: make_user("expert", expert=expert_id) for ref, expert_id in pool.items()}
    for panel in report["panels"]:
        for ref, score in SCORES[panel["ref"]].items():
            extra: dict[str, Any] = {"comments": {"q": f"{ref} 的意见"}}
            if panel["ref"] == "XQ-004" and ref == "ZJ-002":
                extra["vetoes"] = {"fake": "企业已解决该问题"}
            path = f"{BASE}/{round_id}/items/{panel['item_id']}/form/submit"
            answer = client.post(path, json=_answers(score, **extra), headers=users[ref])
            assert answer.status_code == 200, answer.text
    return round_id, report


def test_results_match_a_hand_computed_example(
    client: TestClient, make_user: Accounts, store: CommitteeStore, staff: dict[str, str]
) -> None:
    """By hand: means A (XQ-001) = C (XQ-003) = 80, B (XQ-002) = 65 (sd √75), D (XQ-004) vetoed.
    Ranks 1, 1, 3; default tiers on 3 items: 一等 0 items, 二等 up to position 1 (the tie puts
    both 80s in it), 三等 up to position 2 (B is 3rd: no tier). On the 4 × 3 matrix: MSR =
    502.083, MSC = 277.083, MSE = 10.417, so ICC(2,1) = 491.667 / 722.917 = 0.6801 and ICC(2,k)
    = 491.667 / 568.75 = 0.8645. Every expert ranks D < B < A = C: Kendall's W = 1."""
    round_id, _ = _scored_round(client, make_user, staff)
    results = client.get(f"{BASE}/{round_id}/results", headers=staff).json()
    assert results["provisional"] is False and results["n_submitted"] == 12
    items = {i["item"]["ref"]: i for i in results["items"]}
    assert [i["item"]["ref"] for i in results["items"]] == ["XQ-001", "XQ-003", "XQ-002", "XQ-004"]
    a, b, c, d = (items[ref] for ref in ("XQ-001", "XQ-002", "XQ-003", "XQ-004"))
    assert (a["score"], a["mean"], a["trimmed_mean"], a["rank"], a["tied"]) == (80, 80, 80, 1, True)
    assert c["rank"] == 1 and a["tier"] == c["tier"] == "二等"
    assert b["score"] == 65 and b["sd"] == pytest.approx(75**0.5) and b["rank"] == 3
    assert b["tier"] is None and b["tied"] is False
    assert d["vetoed"] and d["rank"] is None and d["score"] is None
    assert d["vetoes"] == [
        {
            "expert_id": d["vetoes"][0]["expert_id"],
            "expert_name": "王强",
            "key": "fake",
            "name": "需求不真实",
            "reason": "企业已解决该问题",
        }
    ]
    assert [r["total"] for r in a["reviews"]] == [70, 80, 90]
    assert all(not r["outlier"] for i in items.values() for r in i["reviews"])
    assert any("并列" in note for note in results["notes"])
    assert any("被否决" in note for note in results["notes"])
    icc = results["agreement"]["icc"]
    assert icc["model"] == "two-way" and icc["n_items"] == 4
    assert icc["single"] == pytest.approx(491.6667 / 722.9167, abs=1e-4)
    assert icc["average"] == pytest.approx(491.6667 / 568.75, abs=1e-4)
    assert (icc["single_band"], icc["average_band"]) == ("中等", "良好")
    (kendall,) = results["agreement"]["kendall"]
    assert kendall["w"] == pytest.approx(1.0) and kendall["band"] == "极强"
    normalised = client.get(f"{BASE}/{round_id}/results?normalise=true", headers=staff).json()
    assert normalised["normalised"] is True and normalised["policy"]["normalise"] is True


def test_results_workbook_has_a_summary_and_a_sheet_per_item(
    client: TestClient, make_user: Accounts, store: CommitteeStore, staff: dict[str, str]
) -> None:
    round_id, _ = _scored_round(client, make_user, staff)
    answer = client.get(f"{BASE}/{round_id}/results.xlsx", headers=staff)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["汇总", "XQ-001", "XQ-003", "XQ-002", "XQ-004"]
    rows = list(book["汇总"].iter_rows(values_only=True))
    assert rows[2][:5] == ("排名", "等级", "并列", "项目编号", "项目名称")
    assert [row[3] for row in rows[3:7]] == ["XQ-001", "XQ-003", "XQ-002", "XQ-004"]
    assert rows[3][0] == 1 and rows[3][1] == "二等" and rows[3][8] == 80
    assert "需求不真实" in rows[6][11]
    assert any(row[0] == "一致性" and "ICC" not in str(row[1]) for row in rows)
    sheet = list(book["XQ-002"].iter_rows(values_only=True))
    assert sheet[3][:3] == ("专家编号", "专家", "综合评价（100%）")
    experts = {row[0]: row for row in sheet[4:]}
    assert set(experts) == {"ZJ-001", "ZJ-002", "ZJ-005"}
    assert experts["ZJ-005"][2] == 7.5 and experts["ZJ-005"][3] == 75
    assert "ZJ-005 的意见" in experts["ZJ-005"][8]


def _fill_sheet(sheet: Any, values: dict[str, tuple[Any, Any]]) -> None:
    """Write (column G, column H) by row key; the overall comment goes to column D."""
    for row in range(1, sheet.max_row + 1):
        key = sheet.cell(row, 1).value
        if key in values:
            first, second = values[key]
            if key == "overall":
                sheet.cell(row, 4).value = first
            else:
                sheet.cell(row, 7).value, sheet.cell(row, 8).value = first, second


def _upload(client: TestClient, round_id: int, book: Any, headers: dict[str, str]) -> Any:
    buffer = io.BytesIO()
    book.save(buffer)
    files = {"file": ("已填写.xlsx", buffer.getvalue(), "application/octet-stream")}
    return client.post(f"{BASE}/{round_id}/paper-forms", files=files, headers=headers)


def test_paper_forms_round_trip_with_validation(
    client: TestClient, make_user: Accounts, store: CommitteeStore, staff: dict[str, str]
) -> None:
    round_id, report = _round(
        client, staff, ["XQ-002", "XQ-003"], ["ZJ-002", "ZJ-005"], reviewers_per_item=1
    )
    answer = client.get(f"{BASE}/{round_id}/paper-forms.xlsx", headers=staff)
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames[0] == "填写说明" and len(book.sheetnames) == 3
    first, second = (book[name] for name in book.sheetnames[1:])
    assert first.column_dimensions["A"].hidden and first["C1"].value == "简易评审表 专家评审表"
    labels = [row[2] for row in first.iter_rows(values_only=True)]
    assert (
        "综合评价" in labels and "需求不真实" in labels and "本人与该项目是否存在利益冲突" in labels
    )
    _fill_sheet(first, {"score:q": (12, "太高"), "veto:fake": ("也许", None)})
    _fill_sheet(second, {"score:q": ("8.5", "较好"), "conflict": ("否", None)})
    refused = _upload(client, round_id, book, staff)
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert all(e["field"].startswith(f"工作表「{first.title}」第 ") for e in errors)
    reasons = " ".join(e["field"] + e["reason"] for e in errors)
    assert "「需求不真实」" in reasons and "“是”或“否”" in reasons
    progress = client.get(f"{BASE}/{round_id}/progress", headers=staff).json()
    assert progress["totals"]["submitted"] == 0  # all or nothing
    _fill_sheet(first, {"score:q": (12, "太高"), "veto:fake": ("否", None), "conflict": ("否", "")})
    refused = _upload(client, round_id, book, staff)
    assert [e["field"] for e in refused.json()["errors"]] == [
        f"工作表「{first.title}」第 7 行「综合评价」"
    ]
    assert "超出范围" in refused.json()["errors"][0]["reason"]
    _fill_sheet(first, {"score:q": (6, "一般"), "overall": ("可以立项", None)})
    imported = _upload(client, round_id, book, staff)
    assert imported.status_code == 200, imported.text
    assert sorted(f["total"] for f in imported.json()["imported"]) == [60.0, 85.0]
    progress = client.get(f"{BASE}/{round_id}/progress", headers=staff).json()
    assert progress["totals"]["submitted"] == 2
    item_id = report["panels"][0]["item_id"]
    forms = client.get(f"{BASE}/{round_id}/items/{item_id}/forms", headers=staff).json()
    assert forms[0]["source"] == "paper" and forms[0]["status"] == "submitted"
    duplicate = _upload(client, round_id, book, staff)
    assert duplicate.status_code == 422 and "不能重复导入" in duplicate.json()["detail"]


def test_progress_names_reminders(
    client: TestClient, store: CommitteeStore, staff: dict[str, str]
) -> None:
    round_id, _ = _round(
        client, staff, ["XQ-003"], ["ZJ-005"], reviewers_per_item=1, deadline="2026-06-30"
    )
    path = f"{BASE}/{round_id}/progress"
    calm = client.get(path, params={"today": "2026-06-01"}, headers=staff).json()
    assert calm["reminders"] == [] and calm["days_left"] == 29
    due = client.get(path, params={"today": "2026-06-28"}, headers=staff).json()
    assert [r["name"] for r in due["reminders"]] == ["孙丽"]
    assert due["experts"][0]["counts"] == {
        "assigned": 1,
        "submitted": 0,
        "draft": 0,
        "not_started": 1,
    }


def test_round_lifecycle_and_assignment_report(
    client: TestClient, store: CommitteeStore, staff: dict[str, str]
) -> None:
    round_id, report = _round(
        client, staff, ["XQ-001"], ["ZJ-004", "ZJ-006", "ZJ-005"], reviewers_per_item=2
    )
    assert report["understaffed"][0]["ref"] == "XQ-001"
    assert "利益冲突" in report["understaffed"][0]["reason"]
    assert report["total_affinity"] >= 0 and report["affinity_source"] == "fields"
    listed = client.get(BASE, headers=staff).json()
    assert listed[0]["id"] == round_id and listed[0]["status"] == "open"
    unknown = client.post(f"{BASE}/{round_id}/items", json={"needs": ["XQ-999"]}, headers=staff)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "items[0]"
    item_id = report["panels"][0]["item_id"]
    x4 = client.get(f"{BASE}/{round_id}/experts", headers=staff).json()[0]["expert_id"]
    forced = client.post(
        f"{BASE}/{round_id}/overrides",
        json={"item_id": item_id, "expert_id": x4, "kind": "force"},
        headers=staff,
    )
    assert forced.status_code == 422 and "利益冲突" in forced.json()["detail"]
    bad = client.post(BASE, json={"name": "x", "template": {"name": "t"}}, headers=staff)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "template.criteria"
    closed = client.patch(f"{BASE}/{round_id}", json={"status": "closed"}, headers=staff)
    assert closed.status_code == 200 and closed.json()["status_label"] == "已结束"
    assert client.post(f"{BASE}/{round_id}/assign", headers=staff).status_code == 409
    assert client.get(f"{BASE}/404", headers=staff).status_code == 404
    default = client.get(f"{BASE}/templates/default", headers=staff).json()
    assert default["name"] == "企业技术需求评比" and len(default["criteria"]) == 5
