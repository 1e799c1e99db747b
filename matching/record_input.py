"""One record's fields from plain values (a JSON body, a form, a notebook dict).

The importer's parsers and vocabularies are applied field by field, so a value may be the
stored identifier or what a spreadsheet shows (``"已发布"`` or ``"published"``, ``"450"`` or
``"冶金工程技术"``, ``"2027年6月30日"``). Every problem is named by its field with a Chinese reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Boolean, String

from matching.columns import ENTITY_COLUMNS, Column
from matching.errors import TechMatchError
from matching.regions import parse_region
from matching.store.models import Expert, Need, Organization, Result
from matching.vocab import Maturity, OrganizationKind, label_of, parse_value

__all__ = [
    "OWNER_ATTRIBUTE",
    "RECORD_MODELS",
    "REQUIRED_FIELDS",
    "FieldProblem",
    "RecordInputError",
    "check_record",
    "parse_fields",
]

Parser = Callable[[Any], Any]

RECORD_MODELS: dict[str, type[Organization] | type[Need] | type[Result] | type[Expert]] = {
    "organizations": Organization,
    "needs": Need,
    "results": Result,
    "experts": Expert,
}
# Fields a new record must have (``organization_id`` is the enterprise or institution).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "organizations": ("name",),
    "needs": ("title", "description", "organization_id"),
    "results": ("title", "abstract", "organization_id"),
    "experts": ("name",),
}
# The column holding the owning organization, as the API names it ``organization_id``.
OWNER_ATTRIBUTE = {
    "needs": "enterprise_id",
    "results": "institution_id",
    "experts": "organization_id",
}
# Emptying these is refused rather than storing an empty value.
_NOT_EMPTY = {"status", "need_type", "kind"}


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: its name as the caller wrote it and a Chinese reason."""

    field: str
    reason: str


class RecordInputError(TechMatchError):
    """Values that cannot become a record; ``problems`` names every bad field."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("；".join(f"{p.field}：{p.reason}" for p in problems))
        self.problems = problems


def _column(entity: str, key: str) -> Column:
    return next(column for column in ENTITY_COLUMNS[entity] if column.key == key)


def _scalar(value: Any) -> Any:
    if isinstance(value, dict | list):
        raise ValueError("应为单个值（文本或数字）")
    return value


def _from_column(column: Column) -> Parser:
    """The column's cell parser; a multi-valued column also takes a JSON list of items."""

    def parse(value: Any) -> Any:
        if column.multiple and isinstance(value, list):
            items: list[Any] = []
            for item in value:
                for parsed in column.parse(_scalar(item)):
                    if parsed not in items:
                        items.append(parsed)
            return items
        return column.parse(_scalar(value))

    return parse


def _parse_ip(value: Any) -> Any:
    """IP rights as cell text or a list of ``{"number", "type", "status"}`` (values or labels)."""
    if isinstance(value, list):
        texts = []
        for item in value:
            if isinstance(item, dict):
                if not str(item.get("number") or "").strip():
                    raise ValueError("每项知识产权须有编号 number")
                detail = "，".join(str(item[k]) for k in ("type", "status") if item.get(k))
                texts.append(f"{item['number']}（{detail}）" if detail else str(item["number"]))
            else:
                texts.append(str(_scalar(item)))
        value = "；".join(texts)
    return _column("results", "ip").parse(_scalar(value))


def _money(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("应为不小于 0 的数（万元）")
    try:
        number = float(str(value).strip().removesuffix("万元").removesuffix("万"))
    except ValueError:
        raise ValueError("应为不小于 0 的数（万元）") from None
    if not 0 <= number < 1e9:
        raise ValueError("应为不小于 0 的数（万元）")
    return number


def _organization_id(value: Any) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) < 2**31:
        raise ValueError("应为单位的 ID（正整数）")
    return int(text)


def _place(max_length: int) -> Parser:
    def parse(value: Any) -> str:
        text = str(_scalar(value)).strip()
        if len(text) > max_length:
            raise ValueError(f"过长：最多 {max_length} 字")
        return text

    return parse


def _organization_kind(value: Any) -> str:
    return parse_value(OrganizationKind, str(_scalar(value))).value


def _parsers(entity: str) -> dict[str, Parser]:
    parsers: dict[str, Parser] = {
        "province": _place(32),
        "city": _place(64),
        "district": _place(64),
    }
    if entity == "organizations":
        parsers |= {
            "name": _from_column(_column("needs", "enterprise")),
            "kind": _organization_kind,
            "credit_code": _from_column(_column("needs", "credit_code")),
            "group_name": _from_column(_column("needs", "group_name")),
            "contact_name": _from_column(_column("needs", "contact_name")),
            "contact_phone": _from_column(_column("needs", "contact_phone")),
            "contact_email": _from_column(_column("experts", "contact_email")),
        }
        return parsers
    attributes = set(RECORD_MODELS[entity].__table__.columns.keys())
    for column in ENTITY_COLUMNS[entity]:
        if column.key in attributes:
            parsers[column.key] = _from_column(column)
    parsers["organization_id"] = _organization_id
    if entity == "needs":
        parsers |= {"budget_min": _money, "budget_max": _money}
    if entity == "results":
        parsers |= {"price_min": _money, "price_max": _money, "ip": _parse_ip}
    return parsers


def _empty_value(entity: str, key: str) -> Any:
    """What an emptied field stores: None where allowed, else [] for lists, "" for text."""
    model = RECORD_MODELS[entity]
    name = OWNER_ATTRIBUTE[entity] if key == "organization_id" else key
    column = model.__table__.columns.get(name)
    if column is None or column.nullable:
        return None
    if isinstance(column.type, JSON):
        return []
    if isinstance(column.type, Boolean):
        return False
    if isinstance(column.type, String):
        return ""
    return None


def _is_empty(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def parse_fields(entity: str, values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The attributes ``values`` set, parsed; ``region`` ("安徽省铜陵市义安区") is split into
    province, city and district. ``organization_id`` stays under that name.

    Raises ``RecordInputError`` naming every unknown, invalid or (when ``creating``) missing
    required field.
    """
    parsers = _parsers(entity)
    required = REQUIRED_FIELDS[entity]
    attributes: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for key, value in values.items():
        if key != "region" and key not in parsers:
            problems.append(FieldProblem(key, "不能设置此字段（未知或只读）"))
            continue
        if _is_empty(value):
            if key in required or key in _NOT_EMPTY:
                problems.append(FieldProblem(key, "不能为空"))
            elif key == "region":
                attributes |= {"province": "", "city": "", "district": ""}
            else:
                attributes[key] = _empty_value(entity, key)
            continue
        try:
            if key == "region":
                region = parse_region(str(_scalar(value)))
                attributes |= {
                    "province": region.province,
                    "city": region.city,
                    "district": region.district,
                }
            else:
                attributes[key] = parsers[key](value)
        except ValueError as error:
            problems.append(FieldProblem(key, str(error)))
    if creating:
        for key in required:
            if key not in values:
                problems.append(FieldProblem(key, "必填项"))
    if problems:
        raise RecordInputError(problems)
    return attributes


def check_record(entity: str, state: Mapping[str, Any]) -> None:
    """Checks across fields of a whole record (stored values with the changes applied):
    ranges in order, maturity and readiness level consistent. Raises ``RecordInputError``."""
    problems: list[FieldProblem] = []
    for low, high, what in (
        ("budget_min", "budget_max", "预算"),
        ("price_min", "price_max", "价格"),
    ):
        low_value, high_value = state.get(low), state.get(high)
        if low_value is not None and high_value is not None and low_value > high_value:
            problems.append(FieldProblem(high, f"{what}上限不能小于下限 {low_value:g} 万元"))
    maturity, trl = state.get("maturity"), state.get("trl")
    if maturity and trl:
        stage = Maturity(maturity)
        low_trl, high_trl = stage.trl_range
        if not low_trl <= trl <= high_trl:
            problems.append(
                FieldProblem(
                    "trl", f"与成熟度「{label_of(stage)}」不一致（应为 {low_trl}-{high_trl}）"
                )
            )
    if problems:
        raise RecordInputError(problems)
