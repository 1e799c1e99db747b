"""Finding records: one by id or reference, or a filtered, sorted page of them, within what a
reader may see (``Visibility``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, String, and_, cast, false, func, or_, select, true
from sqlalchemy.orm import Session

from matching.access import record_id
from matching.errors import NotFound
from matching.fields import field_code_list
from matching.record_input import OWNER_ATTRIBUTE, RECORD_MODELS, FieldProblem, RecordInputError
from matching.vocab import (
    ExpertStatus,
    NeedStatus,
    NeedType,
    OrganizationKind,
    ResultStatus,
    Vocabulary,
    parse_value,
)

__all__ = [
    "SORT_FIELDS",
    "RecordPage",
    "RecordQuery",
    "Visibility",
    "find_record",
    "list_records",
]

T = TypeVar("T")

# Sort keys callers may use (``-key`` for descending) and the column each one orders by.
SORT_FIELDS: dict[str, dict[str, str]] = {
    "organizations": {
        "id": "id",
        "name": "name",
        "kind": "kind",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
    "needs": {
        "id": "id",
        "ref": "external_ref",
        "title": "title",
        "status": "status",
        "deadline": "deadline",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
    "results": {
        "id": "id",
        "ref": "external_ref",
        "title": "title",
        "status": "status",
        "trl": "trl",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
    "experts": {
        "id": "id",
        "ref": "external_ref",
        "name": "name",
        "status": "status",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
}
_STATUSES: dict[str, type[Vocabulary]] = {
    "needs": NeedStatus,
    "results": ResultStatus,
    "experts": ExpertStatus,
}
_TEXT_COLUMNS = {
    "organizations": ("name",),
    "needs": ("title", "external_ref"),
    "results": ("title", "external_ref"),
    "experts": ("name", "external_ref"),
}


@dataclass(frozen=True)
class Visibility:
    """Which records a reader may see. ``organization_id``: only that organization's;
    ``statuses``: only these; ``hide_confidential_owner``: confidential needs cannot be found
    by their enterprise (the reader is not told whose they are)."""

    organization_id: int | None = None
    statuses: frozenset[str] | None = None
    hide_confidential_owner: bool = False


@dataclass(frozen=True)
class RecordQuery:
    """What a caller asks for; text values as typed (statuses and types as values or Chinese
    labels, fields as codes or names). ``sort``: a key of ``SORT_FIELDS``, ``-`` for
    descending. ``page`` counts from 1."""

    text: str = ""
    statuses: tuple[str, ...] = ()
    field: str = ""
    province: str = ""
    city: str = ""
    organization_id: int | None = None
    need_type: str = ""
    kind: str = ""
    sort: str = "-updated_at"
    page: int = 1
    page_size: int = 20


@dataclass
class RecordPage(Generic[T]):
    items: list[T] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = 20


def _visible(entity: str, model: Any, visibility: Visibility) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if visibility.organization_id is not None:
        owner = "id" if entity == "organizations" else OWNER_ATTRIBUTE[entity]
        conditions.append(getattr(model, owner) == visibility.organization_id)
    if visibility.statuses is not None and entity != "organizations":
        conditions.append(model.status.in_(sorted(visibility.statuses)))
    return and_(true(), *conditions)


def find_record(
    session: Session, entity: str, key: int | str, visibility: Visibility | None = None
) -> Any:
    """The record with this id, or this reference (an organization: this name), among those
    ``visibility`` allows; ``NotFound`` otherwise (also for records the reader may not see)."""
    model: Any = RECORD_MODELS[entity]
    allowed = _visible(entity, model, visibility or Visibility())
    text = str(key).strip()
    found = None
    number = record_id(text)
    if number is not None:
        found = session.scalar(select(model).where(model.id == number, allowed))
    if found is None and "\x00" not in text:  # PostgreSQL refuses NUL in text
        name = model.name if entity == "organizations" else model.external_ref
        found = session.scalar(select(model).where(name == text, allowed))
    if found is None:
        raise NotFound(f"找不到编号或 ID 为「{text}」的记录")
    return found


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _parse(vocabulary: type[Vocabulary], name: str, text: str) -> str:
    try:
        return parse_value(vocabulary, text).value
    except ValueError as error:
        raise RecordInputError([FieldProblem(name, str(error))]) from None


def _filters(entity: str, model: Any, query: RecordQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.text.strip():
        pattern = _like(query.text.strip())
        columns = [getattr(model, name) for name in _TEXT_COLUMNS[entity]]
        conditions.append(or_(*(column.ilike(pattern, escape="\\") for column in columns)))
    for name, value in (("province", query.province), ("city", query.city)):
        if value.strip():
            # "安徽" finds "安徽省"; stored names are full names.
            conditions.append(getattr(model, name).startswith(value.strip(), autoescape=True))
    if entity == "organizations":
        if query.kind:
            conditions.append(model.kind == _parse(OrganizationKind, "kind", query.kind))
        return conditions
    if query.statuses:
        vocabulary = _STATUSES[entity]
        conditions.append(
            model.status.in_([_parse(vocabulary, "status", s) for s in query.statuses])
        )
    if query.field.strip():
        try:
            code = field_code_list().parse(query.field)
        except ValueError as error:
            raise RecordInputError([FieldProblem("field", str(error))]) from None
        # Portable across SQLite and PostgreSQL: the JSON list's text holds "code" quoted.
        conditions.append(cast(model.fields, String).contains(f'"{code}"', autoescape=True))
    if query.organization_id is not None:
        conditions.append(getattr(model, OWNER_ATTRIBUTE[entity]) == query.organization_id)
    if query.need_type and entity == "needs":
        conditions.append(model.need_type == _parse(NeedType, "need_type", query.need_type))
    return conditions


def _order(entity: str, model: Any, sort: str) -> list[Any]:
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    if name not in SORT_FIELDS[entity]:
        allowed = "、".join(SORT_FIELDS[entity])
        reason = f"不能按「{name}」排序；可用：{allowed}（前加 - 为倒序）"
        raise RecordInputError([FieldProblem("sort", reason)])
    columns = [getattr(model, SORT_FIELDS[entity][name]), model.id]
    return [column.desc() if descending else column.asc() for column in columns]


def list_records(
    session: Session, entity: str, query: RecordQuery, visibility: Visibility | None = None
) -> RecordPage[Any]:
    """One page of the records that match ``query`` and ``visibility``, with the total count.

    Raises ``RecordInputError`` for an unknown sort key or an unreadable status, type or field.
    """
    model: Any = RECORD_MODELS[entity]
    visibility = visibility or Visibility()
    conditions = [_visible(entity, model, visibility), *_filters(entity, model, query)]
    if (
        entity == "needs"
        and visibility.hide_confidential_owner
        and query.organization_id is not None
    ):
        conditions.append(model.confidential == false())
    order = _order(entity, model, query.sort)
    total = session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
    rows = session.scalars(
        select(model)
        .where(*conditions)
        .order_by(*order)
        .offset((query.page - 1) * query.page_size)
        .limit(query.page_size)
    ).unique()
    return RecordPage(list(rows), total, query.page, query.page_size)
