"""Importing needs, results and experts from CSV, XLSX or JSON files.

Every bad cell is reported with its row, column, value and a Chinese reason. A file with errors
writes nothing unless ``skip_invalid``; the valid rows are written in one transaction; rows are
matched by external reference, so importing the same file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.columns import ENTITY_COLUMNS, Column, header_key, resolve_headers
from matching.config import Settings
from matching.duplicates import earlier_near_duplicates, shingles
from matching.errors import InvalidFile
from matching.import_report import ImportReport, RowProblem
from matching.lifecycle import InvalidTransition, check_need_transition
from matching.records import (
    ENTITY_MODELS,
    default_ref,
    entity_attributes,
    organization_facts,
)
from matching.store.database import Database
from matching.store.models import Need, Organization
from matching.tabular import RawRow, Table, read_table
from matching.templates import EXAMPLE_REF
from matching.vocab import Maturity, label_of

__all__ = ["PROGRESS_EVERY", "Progress", "import_file"]

Progress = Callable[[int, int], None]
"""``progress(done, total)``: work units done of ``total`` (each row checked, then each row
written: ``total`` is twice the rows read)."""
PROGRESS_EVERY = 200


@dataclass
class ParsedRow:
    number: int
    values: dict[str, Any]
    ref: str
    duplicate_of: str | None = None


class _RowChecker:
    """Parses the rows of one table and collects problems."""

    def __init__(self, entity: str, table: Table, report: ImportReport) -> None:
        self.entity = entity
        self.table = table
        self.report = report
        self.mapping = resolve_headers(entity, table.headers)
        self.present = {column.key for column in self.mapping.values()}

    def problem(
        self, row: int, column: Column | None, value: Any, reason: str, level: str = "error"
    ) -> None:
        problem = RowProblem(
            row,
            column.header if column else "",
            "" if value is None else str(value)[:80],
            reason,
            level,  # type: ignore[arg-type]
            self.table.row_label,
        )
        (self.report.errors if level == "error" else self.report.warnings).append(problem)

    def check_headers(self) -> None:
        columns = ENTITY_COLUMNS[self.entity]
        missing = [c.header for c in columns if c.required and c.key not in self.present]
        if missing:
            found = "、".join(self.table.headers) or "（无）"
            raise InvalidFile(
                f"表头不符合模板：缺少必填列「{'」「'.join(missing)}」。"
                f"文件中的列：{found}。请使用 data/templates/ 中的模板。"
            )
        seen: dict[str, str] = {}
        for header, column in self.mapping.items():
            # JSON items may each use another alias; a sheet has one header per column.
            if column.key in seen and self.table.row_label != "条":
                raise InvalidFile(
                    f"列「{seen[column.key]}」和「{header}」表示同一项，请删除其中一列"
                )
            seen[column.key] = header
        for header in self.table.headers:
            if header not in self.mapping:
                self.problem(0, None, None, f"未识别的列「{header}」，已忽略", "warning")

    def parse(self, raw: RawRow) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        errors_before = len(self.report.errors)
        for header, column in self.mapping.items():
            cell = raw.values.get(header)
            if cell is None:
                if (
                    column.required
                    and column.key not in values
                    and not any(
                        raw.values.get(other) is not None
                        for other, same in self.mapping.items()
                        if same is column
                    )
                ):
                    self.problem(raw.number, column, None, "必填项为空")
                values.setdefault(column.key, None)
                continue
            try:
                values[column.key] = column.parse(cell)
            except ValueError as error:
                self.problem(raw.number, column, cell, str(error))
        self._cross_check(raw.number, values)
        return values if len(self.report.errors) == errors_before else None

    def _cross_check(self, number: int, values: dict[str, Any]) -> None:
        maturity, trl = values.get("maturity"), values.get("trl")
        if maturity and trl:
            low, high = Maturity(maturity).trl_range
            if not low <= trl <= high:
                column = next(c for c in self.mapping.values() if c.key == "trl")
                self.problem(
                    number,
                    column,
                    trl,
                    f"与成熟度「{label_of(Maturity(maturity))}」不一致（应为 {low}-{high}）",
                )
        region = values.get("region")
        if region and not region[0]:
            column = next(c for c in self.mapping.values() if c.key == "region")
            self.problem(
                number,
                column,
                "".join(region),
                "未识别出省份，请写全称，如 安徽省铜陵市",
                "warning",
            )


def _check_duplicate_refs(rows: list[ParsedRow], checker: _RowChecker) -> list[ParsedRow]:
    first_row: dict[str, int] = {}
    kept = []
    for row in rows:
        if row.ref in first_row:
            column = next((c for c in checker.mapping.values() if c.key == "external_ref"), None)
            checker.problem(
                row.number,
                column,
                row.ref,
                f"编号与第 {first_row[row.ref]} {checker.table.row_label}重复",
            )
            continue
        first_row[row.ref] = row.number
        kept.append(row)
    return kept


def _check_near_duplicates(
    session: Session, rows: list[ParsedRow], checker: _RowChecker, threshold: float, allow: bool
) -> list[ParsedRow]:
    """Flag needs whose enterprise already has (in the store or earlier in the file) a need with
    nearly the same title and description under another reference."""
    label = checker.table.row_label
    file_refs = {row.ref for row in rows}
    by_enterprise: dict[str, list[tuple[str, str, frozenset[str], ParsedRow | None]]] = {}
    stored = session.execute(
        select(Need.external_ref, Need.title, Need.description, Organization.name)
        .join(Organization, Need.enterprise_id == Organization.id)
        .where(
            Organization.name.in_({row.values["enterprise"] for row in rows}),
            Need.status != "withdrawn",
        )
    )
    for ref, title, description, enterprise in stored:
        if ref not in file_refs:  # a row with the same reference replaces the stored need
            by_enterprise.setdefault(enterprise, []).append(
                (ref, f"已有需求 {ref}", shingles(title + description), None)
            )
    for row in rows:
        by_enterprise.setdefault(row.values["enterprise"], []).append(
            (
                row.ref,
                f"第 {row.number} {label}",
                shingles(row.values["title"] + row.values["description"]),
                row,
            )
        )
    title_column = next(c for c in checker.mapping.values() if c.key == "title")
    rejected: set[int] = set()
    for texts in by_enterprise.values():
        matches = earlier_near_duplicates([text for _, _, text, _ in texts], threshold)
        for (_ref, _where, _text, candidate), match in zip(texts, matches, strict=True):
            if candidate is None or match is None:
                continue
            row = candidate
            other_ref, other_where, _other, _row = texts[match[0]]
            reason = f"疑似重复：与{other_where}（{other_ref}）内容相似度 {match[1]:.0%}"
            if allow:
                checker.problem(
                    row.number,
                    title_column,
                    row.values["title"],
                    reason + "，已导入并标记",
                    "warning",
                )
                row.duplicate_of = other_ref
            else:
                checker.problem(
                    row.number,
                    title_column,
                    row.values["title"],
                    reason + "；如确为不同需求，请使用 --allow-duplicates 导入",
                )
                rejected.add(row.number)
    return [row for row in rows if row.number not in rejected]


def _organization(
    session: Session, cache: dict[str, Organization], entity: str, values: dict[str, Any]
) -> Organization | None:
    facts = organization_facts(entity, values)
    if facts is None:
        return None
    organization = cache.get(facts.name)
    if organization is None:
        organization = Organization(
            name=facts.name,
            kind=facts.kind,
            province="",
            city="",
            district="",
            credit_code="",
            group_name="",
            contact_name="",
            contact_phone="",
            contact_email="",
        )
        session.add(organization)
    for key, value in facts.attributes.items():
        if value and getattr(organization, key) != value:
            setattr(organization, key, value)
    cache[facts.name] = organization
    return organization


def _write(
    session: Session,
    entity: str,
    rows: list[ParsedRow],
    present: set[str],
    checker: _RowChecker,
    tick: Callable[[int], None] = lambda done: None,
) -> None:
    model: Any = ENTITY_MODELS[entity]
    report = checker.report
    existing: dict[str, Any] = {}
    refs = [row.ref for row in rows]
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        for obj in session.scalars(select(model).where(model.external_ref.in_(chunk))):
            existing[obj.external_ref] = obj
    names = sorted(
        {
            facts.name
            for row in rows
            if (facts := organization_facts(entity, row.values)) is not None
        }
    )
    organizations: dict[str, Organization] = {}
    for start in range(0, len(names), 500):
        query = select(Organization).where(Organization.name.in_(names[start : start + 500]))
        organizations.update((org.name, org) for org in session.scalars(query))
    for done, row in enumerate(rows, 1):
        tick(done)
        attributes = entity_attributes(entity, row.values, present)
        organization = _organization(session, organizations, entity, row.values)
        owner_key = {"needs": "enterprise", "results": "institution", "experts": "organization"}
        if organization is not None or entity == "experts":
            attributes[owner_key[entity]] = organization
        if row.duplicate_of:
            attributes["duplicate_of"] = existing.get(row.duplicate_of) or session.scalar(
                select(Need).where(Need.external_ref == row.duplicate_of)
            )
        obj = existing.get(row.ref)
        if obj is None:
            obj = model(external_ref=row.ref, **attributes)
            session.add(obj)
            existing[row.ref] = obj
            report.created += 1
            continue
        if entity == "needs" and "status" in attributes:
            try:
                check_need_transition(obj.status, attributes["status"])
            except InvalidTransition as error:
                column = next(c for c in checker.mapping.values() if c.key == "status")
                checker.problem(row.number, column, attributes["status"], str(error))
                continue
        changed = {key: value for key, value in attributes.items() if getattr(obj, key) != value}
        for key, value in changed.items():
            setattr(obj, key, value)
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()


def import_file(
    db: Database,
    entity: str,
    path: Path,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    allow_duplicates: bool = False,
    actor: str = "import",
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``entity`` ("needs", "results" or "experts") from ``path``.

    Raises ``InvalidFile`` when the file cannot be read as a table at all; otherwise returns the
    report. Nothing is written when there are errors and ``skip_invalid`` is false, or when
    ``dry_run`` is true. ``progress(done, total)``, when given, is called every
    ``PROGRESS_EVERY`` rows as rows are checked and then written, and with ``(total, total)``
    at the end (``total`` is twice the rows in the file).
    """
    settings = settings or Settings()
    report = ImportReport(entity=entity, file=path.name, dry_run=dry_run)
    known_headers = {
        header_key(name)
        for column in ENTITY_COLUMNS[entity]
        for name in (column.header, *column.aliases)
    }
    table = read_table(path, lambda name: header_key(name) in known_headers, entity)
    report.encoding = table.encoding
    report.warnings += [RowProblem(0, "", "", note, "warning") for note in table.warnings]
    if len(table.rows) > settings.max_import_rows:
        raise InvalidFile(
            f"文件有 {len(table.rows)} 行，超过单次导入上限 {settings.max_import_rows} 行，"
            "请拆分后导入"
        )
    checker = _RowChecker(entity, table, report)
    checker.check_headers()
    report.rows_read = len(table.rows)
    total = 2 * len(table.rows)

    def tick(done: int) -> None:
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)

    _import_rows(
        db,
        entity,
        table,
        checker,
        report,
        settings,
        skip_invalid,
        allow_duplicates,
        actor,
        dry_run,
        tick,
    )
    if progress is not None:
        progress(total, total)
    return report


def _import_rows(
    db: Database,
    entity: str,
    table: Table,
    checker: _RowChecker,
    report: ImportReport,
    settings: Settings,
    skip_invalid: bool,
    allow_duplicates: bool,
    actor: str,
    dry_run: bool,
    tick: Callable[[int], None],
) -> None:
    parsed: list[ParsedRow] = []
    for number, raw in enumerate(table.rows, 1):
        tick(number)
        values = checker.parse(raw)
        if values is None:
            continue
        ref = values.get("external_ref") or default_ref(entity, values)
        if ref == EXAMPLE_REF:
            checker.problem(raw.number, None, None, "模板示例行，已跳过", "warning")
            report.rows_read -= 1
            continue
        parsed.append(ParsedRow(raw.number, values, ref))
    parsed = _check_duplicate_refs(parsed, checker)
    with db.session(actor=actor) as session:
        if entity == "needs":
            parsed = _check_near_duplicates(
                session, parsed, checker, settings.duplicate_threshold, allow_duplicates
            )
        if report.errors and not skip_invalid:
            return
        with session.no_autoflush:
            offset = len(table.rows)
            _write(session, entity, parsed, checker.present, checker, lambda n: tick(offset + n))
        if report.errors and not skip_invalid:
            session.rollback()
            report.created = report.updated = report.unchanged = 0
            return
        report.skipped = report.invalid_rows
        report.written = True
        if dry_run:
            session.rollback()
