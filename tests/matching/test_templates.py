"""Templates: the committed XLSX files match the code; they import cleanly once filled in."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from matching.columns import ENTITY_COLUMNS
from matching.config import Settings
from matching.importing import import_file
from matching.store.database import Database
from matching.templates import write_template
from tests.conftest import REPO

ENTITIES = ("needs", "results", "experts")


def _sheets(path: Path) -> dict[str, list[tuple[object, ...]]]:
    workbook = load_workbook(path)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}


@pytest.mark.parametrize("entity", ENTITIES)
def test_committed_template_is_up_to_date(entity: str, tmp_path: Path) -> None:
    fresh = tmp_path / f"{entity}.xlsx"
    write_template(entity, fresh)
    assert _sheets(REPO / "data" / "templates" / f"{entity}.xlsx") == _sheets(fresh), (
        "data/templates is stale: run `make templates`"
    )


@pytest.mark.parametrize("entity", ENTITIES)
def test_template_has_header_example_dropdowns_and_help(entity: str, tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    write_template(entity, path)
    workbook = load_workbook(path)
    sheet = workbook.worksheets[0]
    columns = ENTITY_COLUMNS[entity]
    headers = [cell.value for cell in sheet[1]]
    assert headers == [c.header + ("*" if c.required else "") for c in columns]
    assert sheet.cell(2, 1).value == "示例"
    validated = {
        str(ref).split(":")[0]
        for dv in sheet.data_validations.dataValidation
        for ref in dv.sqref.ranges
    }
    expected = {sheet.cell(2, i).coordinate for i, c in enumerate(columns, start=1) if c.choices}
    assert validated == expected
    guide = workbook["填写说明"]
    explained = [row[0] for row in guide.iter_rows(min_row=2, values_only=True) if row[0]]
    assert explained[: len(columns)] == [c.header for c in columns]


@pytest.mark.parametrize("entity", ENTITIES)
def test_filled_template_imports_and_skips_the_example(
    entity: str, database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "filled.xlsx"
    write_template(entity, path)
    workbook = load_workbook(path)
    sheet = workbook.worksheets[0]
    example = [cell.value for cell in sheet[2]]
    filled = ["REF-1", *example[1:]]
    sheet.append(filled)
    workbook.save(path)
    report = import_file(database, entity, path, settings=settings)
    assert (report.created, report.errors) == (1, [])
    assert any("示例行" in str(warning) for warning in report.warnings)
