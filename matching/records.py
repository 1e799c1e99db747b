"""Between spreadsheet rows and stored entities: which row values become which attributes of a
Need, Result or Expert and of its Organization, and back."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, String

from matching.store.models import Expert, Need, Result
from matching.vocab import OrganizationKind

__all__ = [
    "ENTITY_MODELS",
    "OrganizationFacts",
    "default_ref",
    "entity_attributes",
    "guess_organization_kind",
    "organization_facts",
    "row_values",
]

ENTITY_MODELS: dict[str, type[Need] | type[Result] | type[Expert]] = {
    "needs": Need,
    "results": Result,
    "experts": Expert,
}
_REF_PREFIX = {"needs": "XQ", "results": "CG", "experts": "ZJ"}
_RANGE_COLUMNS = {"budget": ("budget_min", "budget_max"), "price": ("price_min", "price_max")}
_ORGANIZATION_KEYS = {"enterprise", "institution", "institution_kind", "credit_code", "group_name"}
# Columns whose empty cell means "keep what is stored" rather than "clear it".
KEEP_WHEN_EMPTY = {"status", "need_type", "institution_kind"}


@dataclass
class OrganizationFacts:
    """What one row says about the organization behind it."""

    name: str
    kind: str
    attributes: dict[str, Any] = field(default_factory=dict)


def default_ref(entity: str, values: dict[str, Any]) -> str:
    """A stable reference for rows that have none, from what identifies them."""
    if entity == "experts":
        basis = f"{values.get('name', '')}|{values.get('institution', '')}"
    else:
        owner = values.get("enterprise") or values.get("institution") or ""
        basis = f"{owner}|{values.get('title', '')}"
    digest = hashlib.sha1(basis.encode("utf-8")).hexdigest()[:10].upper()
    return f"{_REF_PREFIX[entity]}-{digest}"


def guess_organization_kind(name: str) -> str:
    """Kind from the name, for experts' institutions (which the sheet does not classify)."""
    if any(word in name for word in ("大学", "学院", "学校")):
        return OrganizationKind.UNIVERSITY.value
    if any(word in name for word in ("研究院", "研究所", "科学院", "研究中心", "实验室")):
        return OrganizationKind.INSTITUTE.value
    if any(word in name for word in ("公司", "厂", "集团", "企业")):
        return OrganizationKind.ENTERPRISE.value
    return OrganizationKind.OTHER.value


def organization_facts(entity: str, values: dict[str, Any]) -> OrganizationFacts | None:
    """The organization a row belongs to, or None (an expert without institution)."""
    attributes: dict[str, Any] = {}
    if "region" in values and values["region"] and entity != "experts":
        attributes["province"], attributes["city"], attributes["district"] = values["region"]
    if entity == "needs":
        for key in ("credit_code", "group_name", "contact_name", "contact_phone"):
            if values.get(key):
                attributes[key] = values[key]
        return OrganizationFacts(
            values["enterprise"], OrganizationKind.ENTERPRISE.value, attributes
        )
    name = values.get("institution") or ""
    if not name:
        return None
    if entity == "results":
        kind = values.get("institution_kind") or OrganizationKind.UNIVERSITY.value
    else:
        kind = guess_organization_kind(name)
    return OrganizationFacts(name, kind, attributes)


def _empty(entity: str, key: str) -> Any:
    """The value an emptied cell stores: None where allowed, else [] for lists, "" for text."""
    column = ENTITY_MODELS[entity].__table__.columns[key]
    column_type = column.type
    if column.nullable:
        return None
    if isinstance(column_type, JSON):
        return []
    if isinstance(column_type, String):
        return ""
    return None


def entity_attributes(entity: str, values: dict[str, Any], present: set[str]) -> dict[str, Any]:
    """Model attributes from parsed row values. ``present`` are the column keys in the file:
    a column missing from the file leaves its attribute alone."""
    attributes: dict[str, Any] = {}
    for key in present - _ORGANIZATION_KEYS - {"external_ref"}:
        value = values.get(key)
        if value is None and key in KEEP_WHEN_EMPTY:
            continue
        if key in _RANGE_COLUMNS:
            low_key, high_key = _RANGE_COLUMNS[key]
            attributes[low_key], attributes[high_key] = value or (None, None)
        elif key == "region":
            attributes["province"], attributes["city"], attributes["district"] = value or (
                "",
                "",
                "",
            )
        elif key == "confidential":
            attributes[key] = bool(value)
        else:
            attributes[key] = value if value is not None else _empty(entity, key)
    return attributes


def row_values(entity: str, obj: Need | Result | Expert) -> dict[str, Any]:
    """Stored entity → the values the columns format (inverse of ``entity_attributes``)."""
    values: dict[str, Any] = {
        key: getattr(obj, key)
        for key in obj.__table__.columns.keys()  # noqa: SIM118
    }
    values["region"] = (obj.province, obj.city, obj.district)
    if isinstance(obj, Need):
        values["budget"] = (obj.budget_min, obj.budget_max)
        organization = obj.enterprise
        values["enterprise"] = organization.name
        values["credit_code"] = organization.credit_code
        values["group_name"] = organization.group_name
    elif isinstance(obj, Result):
        values["price"] = (obj.price_min, obj.price_max)
        values["institution"] = obj.institution.name
        values["institution_kind"] = obj.institution.kind
    else:
        values["institution"] = obj.organization.name if obj.organization else ""
    return values
