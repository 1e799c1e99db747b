"""Hostile input for the importers: malformed, truncated and random bytes, a zip bomb, 1 MB
cells, path tricks in upload names and injection strings. Each gets a clear ``InvalidFile`` (a
4xx over HTTP) or row errors, and a refused import leaves the store's counts unchanged.

`make fuzz` runs these with 2,000 random examples each (TECHMATCH_FUZZ_RANDOM=1,
TECHMATCH_FUZZ_EXAMPLES); a failure it finds becomes a deterministic test here."""

from __future__ import annotations

import csv
import io
import json
import os
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from matching.config import Settings
from matching.errors import InvalidFile
from matching.exporting import export_file
from matching.importing import import_file
from matching.store.database import Database
from matching.store.models import ChangeRecord, Need, Organization
from matching.templates import write_template
from service.app import create_app
from tests.factories import need_row, write_csv, write_json
from tests.service.role_accounts import Headers, add_account

# In `make test` the examples are derandomised (the same every run), so a new find cannot turn
# CI red at random; `make fuzz` explores with random examples, many more of them.
FUZZ = hsettings(
    max_examples=int(os.environ.get("TECHMATCH_FUZZ_EXAMPLES", "40")),
    derandomize=os.environ.get("TECHMATCH_FUZZ_RANDOM") != "1",
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
INJECTIONS = [
    "x'); DROP TABLE needs; --",
    "' OR '1'='1",
    '=cmd|" /C calc"!A0',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "-2+3+cmd|' /C notepad'!'A1'",
    "<script>alert(document.cookie)</script>",
    '"><img src=x onerror=alert(1)>',
]


def _counts(database: Database) -> tuple[int, int, int]:
    with database.session() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Need, Organization, ChangeRecord)
        )


def _attempt(database: Database, settings: Settings, path: Path) -> None:
    """Import ``path``: a clear refusal or a report; never another exception, and when nothing
    was written the store is as it was."""
    before = _counts(database)
    try:
        report = import_file(database, "needs", path, settings=settings)
    except InvalidFile as error:
        assert str(error).strip()
        assert _counts(database) == before
        return
    if not report.written:
        assert report.errors
        assert all(problem.reason for problem in report.errors)
        assert _counts(database) == before


@pytest.fixture
def seeded(database: Database, settings: Settings, tmp_path: Path) -> Path:
    """Three needs in the store and their export as XLSX (the bytes to truncate and corrupt)."""
    source = write_csv(tmp_path / "seed.csv", [need_row(i) for i in range(1, 4)])
    assert import_file(database, "needs", source, settings=settings).written
    path = tmp_path / "export.xlsx"
    export_file(database, "needs", path)
    return path


@FUZZ
@given(cut=st.floats(min_value=0.0, max_value=1.0))
def test_truncated_xlsx_is_refused(
    database: Database, settings: Settings, seeded: Path, tmp_path: Path, cut: float
) -> None:
    data = seeded.read_bytes()
    path = tmp_path / "truncated.xlsx"
    path.write_bytes(data[: max(1, int(len(data) * cut) - 1)])
    _attempt(database, settings, path)


@FUZZ
@given(
    flips=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=0.999), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    )
)
def test_corrupted_xlsx_is_refused_or_reported(
    database: Database,
    settings: Settings,
    seeded: Path,
    tmp_path: Path,
    flips: list[tuple[float, int]],
) -> None:
    data = bytearray(seeded.read_bytes())
    for where, byte in flips:
        data[int(where * len(data))] = byte
    path = tmp_path / "corrupt.xlsx"
    path.write_bytes(bytes(data))
    _attempt(database, settings, path)


def test_an_xlsx_of_an_unknown_zip_version_is_refused(
    database: Database, settings: Settings, seeded: Path, tmp_path: Path
) -> None:
    """Found by the fuzzer: a damaged "version needed to extract" byte made zipfile raise
    NotImplementedError ("zip file version 6.4") before any check could turn it into a clear
    refusal."""
    data = bytearray(seeded.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the first central directory entry
    data[entry + 6 : entry + 8] = (64).to_bytes(2, "little")
    path = tmp_path / "version.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidFile, match="无法读取 XLSX 文件"):
        import_file(database, "needs", path, settings=settings)
    _attempt(database, settings, path)


@FUZZ
@given(cut=st.floats(min_value=0.0, max_value=1.0))
def test_truncated_template_is_refused(
    database: Database, settings: Settings, tmp_path: Path, cut: float
) -> None:
    template = tmp_path / "template.xlsx"
    if not template.exists():
        write_template("needs", template)
    data = template.read_bytes()
    path = tmp_path / "template-cut.xlsx"
    path.write_bytes(data[: int(len(data) * cut)])
    _attempt(database, settings, path)


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".xlsx", ".csv", ".json"]))
def test_random_bytes_are_refused(
    database: Database, settings: Settings, seeded: Path, tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    _attempt(database, settings, path)


@FUZZ
@given(text=st.text(max_size=2000), suffix=st.sampled_from([".csv", ".json"]))
def test_random_text_is_refused_or_reported(
    database: Database, settings: Settings, seeded: Path, tmp_path: Path, text: str, suffix: str
) -> None:
    path = tmp_path / f"text{suffix}"
    path.write_text(text, "utf-8", errors="surrogatepass")
    _attempt(database, settings, path)


@FUZZ
@given(cut=st.floats(min_value=0.0, max_value=0.999), suffix=st.sampled_from([".csv", ".json"]))
def test_truncated_csv_and_json_are_refused_or_reported(
    database: Database, settings: Settings, tmp_path: Path, cut: float, suffix: str
) -> None:
    rows = [need_row(i) for i in range(10, 14)]
    path = tmp_path / f"whole{suffix}"
    if suffix == ".csv":
        write_csv(path, rows)
    else:
        write_json(path, rows)
    data = path.read_bytes()
    cut_path = tmp_path / f"cut{suffix}"
    cut_path.write_bytes(data[: int(len(data) * cut)])
    _attempt(database, settings, cut_path)


def _zip_bomb(path: Path, inflated_mb: int) -> Path:
    """A workbook whose sheet XML inflates to ``inflated_mb`` MiB of blanks (about 0.1 % of that
    compressed)."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>需求名称'
    )
    tail = "</t></is></c></row></sheetData></worksheet>"
    chunk = b" " * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            member.write(head.encode())
            for _ in range(inflated_mb):
                member.write(chunk)
            member.write(tail.encode())
    return path


def test_zip_bomb_is_refused_quickly_without_inflating(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    bomb = _zip_bomb(tmp_path / "bomb.xlsx", 300)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    before = _counts(database)
    started = time.perf_counter()
    with pytest.raises(InvalidFile, match="压缩炸弹"):
        import_file(database, "needs", bomb, settings=settings)
    assert time.perf_counter() - started < 2
    assert _counts(database) == before


def test_megabyte_cells_are_row_errors_naming_the_field(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    huge = "铜" * (1024 * 1024)
    rows = [need_row(1), need_row(2, **{"需求描述": huge}), need_row(3, **{"需求名称": huge})]
    before = _counts(database)
    for suffix in (".csv", ".json"):
        path = tmp_path / f"huge{suffix}"
        if suffix == ".csv":
            write_csv(path, rows)
        else:
            write_json(path, rows)
        report = import_file(database, "needs", path, settings=settings)
        assert not report.written
        found = {(problem.row, problem.column) for problem in report.errors}
        offset = 1 if suffix == ".csv" else 0  # CSV rows count the header line
        assert found == {(2 + offset, "需求描述"), (3 + offset, "需求名称")}
        assert all("过长" in problem.reason for problem in report.errors)
        assert all(len(problem.value) <= 80 for problem in report.errors)
        assert _counts(database) == before


def test_injection_strings_are_stored_as_text_and_exported_escaped(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = []
    for number, payload in enumerate(INJECTIONS, start=1):
        rows.append(
            need_row(
                number,
                **{
                    "需求名称": f"{payload}{number}",
                    "需求描述": f"{payload} 描述 {number}" + "。" * number,
                    "关键词": payload.replace(";", " ").replace(",", " "),
                    "企业名称": f"{payload}公司{number}",
                },
            )
        )
    path = write_csv(tmp_path / "inject.csv", rows)
    report = import_file(database, "needs", path, settings=settings)
    assert report.written, report.errors
    assert report.created == len(INJECTIONS)
    with database.session() as session:
        titles = set(session.scalars(select(Need.title)))
        names = set(session.scalars(select(Organization.name)))
    assert titles == {f"{payload}{n}" for n, payload in enumerate(INJECTIONS, start=1)}
    assert names == {f"{payload}公司{n}" for n, payload in enumerate(INJECTIONS, start=1)}

    exported = tmp_path / "out.csv"
    export_file(database, "needs", exported)
    with open(exported, encoding="utf-8-sig", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]
    assert any(cell.startswith("'=cmd|") for cell in cells)
    again = import_file(database, "needs", exported, settings=settings)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(INJECTIONS))

    xlsx = tmp_path / "out.xlsx"
    export_file(database, "needs", xlsx)
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx).active
    assert sheet is not None
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert not [v for v in values if isinstance(v, str) and v.startswith(("=", "+", "@"))]
    exported_json = tmp_path / "out.json"
    export_file(database, "needs", exported_json)
    document = json.loads(exported_json.read_text("utf-8"))
    assert "<script>alert(document.cookie)</script>" in json.dumps(document, ensure_ascii=False)


# --- through the API -----------------------------------------------------------------------


class _NoEngine:
    def refresh(self, kind: str, ids: list[int]) -> None:
        pass

    def save(self) -> None:
        pass


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(settings, database, cast(Any, _NoEngine()))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def staff(database: Database, settings: Settings) -> Headers:
    return add_account(database, settings, "staff", "staff1")


def _multipart(name: bytes, data: bytes) -> tuple[bytes, str]:
    """A multipart body written by hand, so the file name goes out byte for byte."""
    boundary = "fuzzboundary7x"
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + name
        + b'"\r\nContent-Type: text/csv\r\n\r\n'
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _files(root: Path) -> set[Path]:
    return {
        path
        for path in root.rglob("*")
        if path.is_file() and ".db" not in path.name and "sqlite" not in path.name
    }


@pytest.mark.parametrize(
    "name",
    [
        b"../../etc/passwd.csv",
        b"..\\..\\windows\\system32\\needs.csv",
        b"/etc/passwd.csv",
        b"needs\x00.csv",
        b"needs.csv\x00.exe",
        b"a" * 5000 + b".csv",
        b"%2e%2e%2fneeds.csv",
        b"\xe9\x9c\x80\xe6\xb1\x82.csv",
    ],
)
def test_path_tricks_in_upload_names_are_plain_text(
    client: TestClient,
    database: Database,
    staff: Headers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: bytes,
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    data = write_csv(tmp_path / "rows.csv", [need_row(1)]).read_bytes()
    before_files = _files(tmp_path)
    before = _counts(database)
    body, content_type = _multipart(name, data)
    answer = client.post(
        "/api/v1/imports/needs",
        headers={**staff, "Content-Type": content_type},
        content=body,
        params={"dry_run": True},
    )
    assert answer.status_code < 500, answer.text
    if answer.status_code == 200:
        report = answer.json()
        assert "/" not in report["file"] and "\\" not in report["file"]
        assert len(report["file"]) <= 200
    else:
        assert 400 <= answer.status_code < 500
        assert answer.headers["content-type"] == "application/problem+json"
    assert _counts(database) == before
    assert _files(tmp_path) == before_files
    assert not list(work.iterdir())
    assert not Path("/etc/passwd.csv").exists()


def test_random_uploads_through_the_api_are_4xx(
    client: TestClient, database: Database, staff: Headers
) -> None:
    before = _counts(database)
    samples: list[tuple[str, bytes]] = [
        ("x.xlsx", b"PK\x03\x04" + bytes(range(256)) * 4),
        ("x.csv", b"\x00\xff" * 500),
        ("x.json", b'{"needs": [1, 2'),
        ("x.json", b"[" * 100_000),
        ("x.csv", "需求名称\n".encode() * 3),
    ]
    for name, data in samples:
        answer = client.post(
            "/api/v1/imports/needs", headers=staff, files={"file": (name, io.BytesIO(data))}
        )
        assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text)
        assert answer.json()["detail"]
    assert _counts(database) == before


def test_a_zip_bomb_uploaded_through_the_api_is_a_clear_4xx(
    client: TestClient, database: Database, staff: Headers, tmp_path: Path
) -> None:
    bomb = _zip_bomb(tmp_path / "bomb.xlsx", 300).read_bytes()
    before = _counts(database)
    started = time.perf_counter()
    answer = client.post(
        "/api/v1/imports/needs", headers=staff, files={"file": ("需求.xlsx", io.BytesIO(bomb))}
    )
    assert time.perf_counter() - started < 5
    assert answer.status_code == 422 and "压缩炸弹" in answer.json()["detail"], answer.text
    assert _counts(database) == before


def test_megabyte_cells_in_a_workbook_are_row_errors_naming_the_field(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    huge = "铜" * (1024 * 1024)
    rows = [need_row(1), need_row(2, **{"需求描述": huge})]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    path = tmp_path / "huge.xlsx"
    workbook.save(path)
    before = _counts(database)
    report = import_file(database, "needs", path, settings=settings)
    assert not report.written
    assert {(problem.row, problem.column) for problem in report.errors} == {(3, "需求描述")}
    assert "过长" in report.errors[0].reason
    assert _counts(database) == before
