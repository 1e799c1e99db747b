"""Export: export → import round-trips exactly; formula-looking text is escaped."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from matching.config import Settings
from matching.demo import load_demo
from matching.errors import InvalidFile
from matching.exporting import export_file, export_rows
from matching.importing import import_file
from matching.store.database import Database
from matching.store.models import Need
from tests.factories import need_row, write_csv

ENTITIES = ("needs", "results", "experts")


@pytest.fixture
def demo_database(database: Database, settings: Settings) -> Database:
    load_demo(database, settings.demo_dir, settings)
    return database


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".json"])
def test_export_then_import_into_a_new_store_gives_the_same_records(
    demo_database: Database, settings: Settings, tmp_path: Path, suffix: str
) -> None:
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh.upgrade()
    for entity in ENTITIES:
        path = tmp_path / f"{entity}{suffix}"
        count = export_file(demo_database, entity, path)
        report = import_file(fresh, entity, path, settings=settings)
        assert (report.created, report.errors) == (count, [])
        assert export_rows(fresh, entity) == export_rows(demo_database, entity)
        again = import_file(demo_database, entity, path, settings=settings)
        assert (again.unchanged, again.updated, again.created) == (count, 0, 0)
    fresh.dispose()


def test_csv_export_is_stable_byte_for_byte(demo_database: Database, tmp_path: Path) -> None:
    export_file(demo_database, "results", tmp_path / "a.csv")
    export_file(demo_database, "results", tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_gb18030_csv_export_for_old_tools(
    demo_database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "needs.csv"
    export_file(demo_database, "needs", path, encoding="gb18030")
    path.read_bytes().decode("gb18030")
    report = import_file(demo_database, "needs", path, settings=settings)
    assert (report.encoding, report.updated, report.created) == ("gb18030", 0, 0)


def test_formula_like_text_is_escaped_on_export_and_restored_on_import(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    hostile = {
        "需求名称": '=HYPERLINK("http://evil.example","点击")',
        "需求描述": "+SUM(A1:A9) 以及 -40℃ 低温脆性问题",
        "关键词": "@cmd；正常词",
    }
    write_csv(tmp_path / "in.csv", [need_row(1, **hostile)])
    assert import_file(database, "needs", tmp_path / "in.csv", settings=settings).created == 1

    export_file(database, "needs", tmp_path / "out.csv")
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as handle:
        header, row = list(csv.reader(handle))
    cells = dict(zip(header, row, strict=True))
    assert cells["需求名称"].startswith("'=HYPERLINK")
    assert cells["需求描述"].startswith("'+SUM")
    assert cells["关键词"].startswith("'@cmd")

    export_file(database, "needs", tmp_path / "out.xlsx")
    sheet = load_workbook(tmp_path / "out.xlsx").active
    title = next(cell for cell in sheet[2] if str(cell.value).startswith("'=HYPERLINK"))
    assert title.data_type == "s"  # text, not a formula

    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh.upgrade()
    import_file(fresh, "needs", tmp_path / "out.xlsx", settings=settings)
    with fresh.session() as session:
        need = session.scalars(select(Need)).one()
        assert need.title == hostile["需求名称"]
        assert need.description == hostile["需求描述"]
        assert need.keywords == ["@cmd", "正常词"]
    fresh.dispose()


def test_status_filter_and_unknown_format(demo_database: Database, tmp_path: Path) -> None:
    published = export_file(demo_database, "needs", tmp_path / "p.csv", statuses=["published"])
    everything = export_file(demo_database, "needs", tmp_path / "all.csv")
    assert 0 < published < everything
    with pytest.raises(InvalidFile, match="不支持导出"):
        export_file(demo_database, "needs", tmp_path / "needs.pdf")
    assert not (tmp_path / "needs.pdf").exists()


def test_failed_export_leaves_the_previous_file_untouched(
    demo_database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "exports" / "needs.csv"
    export_file(demo_database, "needs", path)
    before = path.read_bytes()
    with pytest.raises(LookupError):
        export_file(demo_database, "needs", path, encoding="no-such-encoding")
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["needs.csv"]
