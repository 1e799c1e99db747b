"""Exporting needs, results and experts to XLSX, CSV or JSON in the import format.

The same columns as import, so export → import gives back the same records. Text that a
spreadsheet would run as a formula (starting with = + - @) is escaped with a leading ``'``.
Files are written atomically.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from matching.atomic import atomic_path
from matching.cells import escape_formula
from matching.columns import ENTITY_COLUMNS
from matching.errors import InvalidFile
from matching.records import ENTITY_MODELS, row_values
from matching.store.database import Database

__all__ = ["export_file", "export_rows"]


def export_rows(db: Database, entity: str, statuses: list[str] | None = None) -> list[list[Any]]:
    """Header row then one row per entity (ordered by reference), cells as shown in files."""
    columns = ENTITY_COLUMNS[entity]
    model: Any = ENTITY_MODELS[entity]
    rows: list[list[Any]] = [[column.header for column in columns]]
    with db.session() as session:
        query = select(model).order_by(model.external_ref)
        if statuses:
            query = query.where(model.status.in_(statuses))
        for obj in session.scalars(query).unique():
            values = row_values(entity, obj)
            rows.append([column.format(values.get(column.key)) for column in columns])
    return rows


def _escaped(rows: list[list[Any]]) -> list[list[Any]]:
    return [
        [escape_formula(cell) if isinstance(cell, str) else cell for cell in row] for row in rows
    ]


def _write_xlsx(rows: list[list[Any]], path: Path, title: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in _escaped(rows):
        # Every cell as text: a reference like 0012 or a phone number keeps its form.
        sheet.append(["" if cell is None else str(cell) for cell in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(rows[0], start=1):
        letter = sheet.cell(1, index).column_letter
        sheet.column_dimensions[letter].width = min(60, max(10, len(str(header)) * 2 + 4))
    workbook.save(path)


def export_file(
    db: Database,
    entity: str,
    path: Path,
    statuses: list[str] | None = None,
    encoding: str = "utf-8-sig",
) -> int:
    """Write ``entity`` to ``path`` (.xlsx, .csv or .json by extension); returns rows written.

    CSV is UTF-8 with BOM by default so that Excel shows Chinese correctly; pass
    ``encoding="gb18030"`` for old tools.
    """
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv", ".json"):
        raise InvalidFile(f"不支持导出为「{suffix or '无扩展名'}」：请用 .xlsx、.csv 或 .json")
    rows = export_rows(db, entity, statuses)
    with atomic_path(path) as temp:
        if suffix == ".xlsx":
            _write_xlsx(rows, temp, {"needs": "需求", "results": "成果", "experts": "专家"}[entity])
        elif suffix == ".csv":
            with open(temp, "w", encoding=encoding, newline="") as handle:
                csv.writer(handle).writerows(_escaped(rows))
        else:
            header, *body = rows
            items = [
                {h: cell for h, cell in zip(header, row, strict=True) if cell not in ("", None)}
                for row in body
            ]
            temp.write_text(json.dumps({entity: items}, ensure_ascii=False, indent=1), "utf-8")
    return len(rows) - 1
