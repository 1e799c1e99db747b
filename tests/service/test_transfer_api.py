"""Import, export and templates over HTTP, through the real app."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from matching.config import Settings
from matching.record_edits import create_record
from matching.store.database import Database
from matching.store.models import ChangeRecord, Need
from service.app import create_app
from tests.factories import need_row, write_csv
from tests.service.role_accounts import Headers, add_account

API = "/api/v1"
ROLES = ("admin", "staff", "organiser", "expert", "enterprise", "university")


class RecordingEngine:
    """Stands in for the matching engine: remembers what it was asked to refresh."""

    def __init__(self) -> None:
        self.refreshed: list[tuple[str, list[int]]] = []

    def refresh(self, kind: str, ids: list[int]) -> None:
        self.refreshed.append((kind, sorted(ids)))

    def save(self) -> None:
        pass


@pytest.fixture
def engine() -> RecordingEngine:
    return RecordingEngine()


@pytest.fixture
def client(settings: Settings, database: Database, engine: RecordingEngine) -> Iterator[TestClient]:
    app = create_app(settings, database, cast(Any, engine))
    with TestClient(app) as test_client:
        yield test_client


def _headers(database: Database, settings: Settings, role: str) -> Headers:
    organization = expert = None
    if role in ("enterprise", "university", "expert"):
        with database.session("test") as session:
            if role == "expert":
                expert = create_record(
                    session, "experts", {"name": "赵明", "external_ref": "ZJ-T"}
                ).id
            else:
                kind = "企业" if role == "enterprise" else "高校"
                organization = create_record(
                    session, "organizations", {"name": f"测试{role}单位", "kind": kind}
                ).id
    return add_account(database, settings, role, f"{role}1", organization, expert)


@pytest.fixture
def staff(database: Database, settings: Settings) -> Headers:
    return _headers(database, settings, "staff")


def _csv(tmp_path: Path, rows: list[dict[str, str]]) -> bytes:
    return write_csv(tmp_path / "rows.csv", rows).read_bytes()


def _upload(
    client: TestClient, headers: Headers, data: bytes, name: str = "需求征集表.csv", **params: Any
) -> Any:
    files = {"file": (name, data, "text/csv")}
    return client.post(f"{API}/imports/needs", headers=headers, files=files, params=params)


def _needs(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Need)) or 0


def test_dry_run_checks_then_import_writes_as_the_caller(
    client: TestClient, database: Database, staff: Headers, engine: RecordingEngine, tmp_path: Path
) -> None:
    data = _csv(tmp_path, [need_row(1), need_row(2)])
    dry = _upload(client, staff, data, dry_run=True)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["created"], report["dry_run"], report["written"]) == (2, True, True)
    assert report["file"] == "需求征集表.csv" and "试运行" in report["summary"]
    assert _needs(database) == 0 and engine.refreshed == []

    done = _upload(client, staff, data).json()
    assert (done["created"], done["dry_run"], done["written"]) == (2, False, True)
    with database.session() as session:
        ids = sorted(session.scalars(select(Need.id)))
        actors = set(
            session.scalars(select(ChangeRecord.actor).where(ChangeRecord.entity_type == "need"))
        )
    assert len(ids) == 2 and actors == {"user:staff1"}
    assert engine.refreshed == [("needs", ids)]

    again = _upload(client, staff, data).json()
    assert (again["created"], again["unchanged"]) == (0, 2)
    assert len(engine.refreshed) == 1  # nothing changed, nothing re-embedded
    changed = _csv(tmp_path, [need_row(1), need_row(2, **{"需求名称": "换了一个名称"})])
    assert _upload(client, staff, changed).json()["updated"] == 1
    assert engine.refreshed[-1] == ("needs", [ids[1]])


def test_errors_are_reported_by_row_and_nothing_is_written(
    client: TestClient, database: Database, staff: Headers, tmp_path: Path
) -> None:
    data = _csv(tmp_path, [need_row(1), need_row(2, **{"截止日期": "2027-02-30"})])
    checked = _upload(client, staff, data, dry_run=True)
    assert checked.status_code == 200 and checked.json()["written"] is False
    refused = _upload(client, staff, data)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert "未导入任何数据" in problem["detail"]
    [error] = problem["report"]["errors"]
    assert (error["row"], error["field"], error["value"]) == (3, "截止日期", "2027-02-30")
    assert error["reason"] == "日期不存在：2027-02-30"
    assert _needs(database) == 0
    partial = _upload(client, staff, data, skip_invalid=True).json()
    assert (partial["created"], partial["skipped"]) == (1, 1)
    assert _needs(database) == 1


def test_unreadable_or_unsupported_files_are_refused(
    client: TestClient, database: Database, staff: Headers, tmp_path: Path
) -> None:
    data = _csv(tmp_path, [need_row(1)])
    for name in ("需求.xls", "需求.exe", "需求"):
        answer = _upload(client, staff, data, name=name)
        assert answer.status_code == 415, name
    not_multipart = client.post(f"{API}/imports/needs", headers=staff, content=data)
    assert not_multipart.status_code == 415
    wrong_field = client.post(
        f"{API}/imports/needs", headers=staff, files={"upload": ("a.csv", data, "text/csv")}
    )
    assert wrong_field.status_code == 422 and wrong_field.json()["errors"][0]["field"] == "file"
    empty = _upload(client, staff, b"")
    assert empty.status_code == 422 and empty.json()["title"] == "文件无法读取"
    assert client.post(f"{API}/imports/things", headers=staff).status_code == 422
    assert _needs(database) == 0


def test_client_file_names_are_never_paths(
    client: TestClient, database: Database, staff: Headers, tmp_path: Path
) -> None:
    data = _csv(tmp_path, [need_row(1)])
    answer = _upload(client, staff, data, name="../../../tmp/evil.csv")
    assert answer.status_code == 200 and answer.json()["file"] == "evil.csv"
    windows = _upload(client, staff, data, name="C:\\Users\\wang\\需求.csv")
    assert windows.json()["file"] == "需求.csv"


@pytest.fixture
def small_upload_client(tmp_path: Path, database: Database) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "var", load_demo=False, max_upload_mb=0.05)
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def _multipart(data: bytes, boundary: str = "techmatch-boundary") -> Iterator[bytes]:
    yield (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    for start in range(0, len(data), 8192):
        yield data[start : start + 8192]
    yield f"\r\n--{boundary}--\r\n".encode()


def test_upload_size_limit_is_enforced_while_reading(
    small_upload_client: TestClient, database: Database, settings: Settings, tmp_path: Path
) -> None:
    staff = add_account(database, settings, "staff", "staff1")
    rows = [need_row(number) for number in range(1, 600)]
    data = _csv(tmp_path, rows)
    assert len(data) > 200 * 1024
    declared = _upload(small_upload_client, staff, data)
    assert declared.status_code == 413 and "上传上限 0.05 MB" in declared.json()["detail"]
    # Streamed without Content-Length: cut off once the body passes the limit.
    streamed = small_upload_client.post(
        f"{API}/imports/needs",
        headers=staff | {"Content-Type": "multipart/form-data; boundary=techmatch-boundary"},
        content=_multipart(data),
    )
    assert streamed.status_code == 413
    # Just over the limit, inside the multipart envelope's slack: the file itself is measured.
    just_over = data[: int(0.05 * 1024 * 1024) + 10]
    assert _upload(small_upload_client, staff, just_over).status_code == 413
    assert _needs(database) == 0
    fits = _upload(small_upload_client, staff, _csv(tmp_path, rows[:5]))
    assert fits.status_code == 200 and fits.json()["created"] == 5


def test_export_round_trips_and_filters_by_status(
    client: TestClient, staff: Headers, tmp_path: Path
) -> None:
    rows = [need_row(1), need_row(2, **{"状态": "草稿"}), need_row(3)]
    assert _upload(client, staff, _csv(tmp_path, rows)).status_code == 200
    xlsx = client.get(f"{API}/exports/needs", headers=staff)
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=utf-8''" in xlsx.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.cell(1, 1).value == "需求编号" and sheet.max_row == 4
    published = client.get(
        f"{API}/exports/needs", headers=staff, params={"format": "csv", "status": "已发布"}
    )
    assert published.headers["content-type"].startswith("text/csv")
    text = published.content.decode("utf-8-sig")
    refs = [row["需求编号"] for row in csv.DictReader(io.StringIO(text))]
    assert refs == ["T-0001", "T-0003"]
    back = _upload(client, staff, xlsx.content, name="导出.xlsx").json()
    assert (back["created"], back["updated"], back["unchanged"]) == (0, 0, 3)
    bad = client.get(f"{API}/exports/needs", headers=staff, params={"status": "很好"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"
    assert (
        client.get(f"{API}/exports/needs", headers=staff, params={"format": "pdf"}).status_code
        == 422
    )


def test_template_is_the_import_template(client: TestClient, staff: Headers) -> None:
    answer = client.get(f"{API}/templates/results", headers=staff)
    assert answer.status_code == 200
    workbook = load_workbook(io.BytesIO(answer.content))
    assert "填写说明" in workbook.sheetnames
    headers = [cell.value for cell in workbook.worksheets[0][1]]
    assert "成果名称*" in headers


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_who_may_import_export_and_download_templates(
    client: TestClient, database: Database, settings: Settings, role: str, tmp_path: Path
) -> None:
    headers = {} if role == "anonymous" else _headers(database, settings, role)
    imported = _upload(client, headers, _csv(tmp_path, [need_row(1)]), dry_run=True)
    exported = client.get(f"{API}/exports/needs", headers=headers)
    template = client.get(f"{API}/templates/needs", headers=headers)
    expected = {
        "admin": (200, 200, 200),
        "staff": (200, 200, 200),
        "organiser": (403, 200, 200),
        "expert": (403, 403, 200),
        "enterprise": (403, 403, 200),
        "university": (403, 403, 200),
        "anonymous": (401, 401, 401),
    }[role]
    assert (imported.status_code, exported.status_code, template.status_code) == expected
