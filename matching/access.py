"""Who may see what: finding a record by id or 编号, the organization that owns it, and match
lists as an enterprise or university user may see them.

Centre staff see everything. An enterprise or university user acts for one organization: a match
list shown to them never carries contact data (contact person, phone, e-mail), and a confidential
need (是否保密) of another enterprise appears without the enterprise's name.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.errors import NotFound
from matching.match_list import Match, MatchList
from matching.store.models import Expert, Need, Result

__all__ = [
    "HIDDEN_ORGANIZATION",
    "find_record",
    "is_contact_key",
    "owner_of",
    "record_id",
    "redact_match_list",
]

HIDDEN_ORGANIZATION = "（保密需求，企业信息不公开）"
_CONTACT_WORDS = ("contact", "phone", "mobile", "email", "e_mail", "wechat", "address")
_MAX_ID = 2**63 - 1

R = TypeVar("R", Need, Result, Expert)


def record_id(key: int | str) -> int | None:
    """``key`` as a store id, or None when it cannot be one (not ASCII digits, out of range)."""
    if isinstance(key, int):
        return key if 0 < key <= _MAX_ID else None
    # str.isdigit() is also true for "²" or "١"; only ASCII digits are ids.
    if key.isascii() and key.isdigit() and len(key) <= 18:
        return int(key)
    return None


def find_record(session: Session, model: type[R], key: int | str, what: str) -> R:
    """The need, result or expert whose store id or 编号 (external ref) is ``key``.

    ``what`` names the kind in the message of ``NotFound`` ("需求", "成果", "专家")."""
    number = record_id(key)
    found = session.get(model, number) if number is not None else None
    # PostgreSQL refuses text with NUL characters; no reference holds one anyway.
    if found is None and str(key).strip() and "\x00" not in str(key):
        found = session.scalar(select(model).where(model.external_ref == str(key).strip()))
    if found is None:
        raise NotFound(f"找不到{what}「{key}」")
    return found


def owner_of(record: Need | Result | Expert) -> int | None:
    """The id of the organization a record belongs to: a need's enterprise, a result's
    institution, an expert's employer (None when unknown)."""
    if isinstance(record, Need):
        return record.enterprise_id
    if isinstance(record, Result):
        return record.institution_id
    return record.organization_id


def is_contact_key(key: str) -> bool:
    """Whether a detail key holds contact data (contact_name, contact_phone, email, ...)."""
    lowered = key.lower()
    return any(word in lowered for word in _CONTACT_WORDS)


def _strip_contacts(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_contacts(v) for k, v in value.items() if not is_contact_key(str(k))}
    if isinstance(value, list):
        return [_strip_contacts(item) for item in value]
    return value


def _hidden_needs(session: Session, match_list: MatchList, organization_id: int | None) -> set[int]:
    """Ids of the listed needs that are confidential and belong to another enterprise."""
    if not match_list.direction.endswith("→needs") or not match_list.items:
        return set()
    rows = session.execute(
        select(Need.id, Need.enterprise_id).where(
            Need.id.in_([match.id for match in match_list.items]), Need.confidential.is_(True)
        )
    )
    return {need_id for need_id, enterprise_id in rows if enterprise_id != organization_id}


def redact_match_list(
    session: Session, match_list: MatchList, organization_id: int | None
) -> MatchList:
    """A copy of ``match_list`` fit for a user acting for ``organization_id``: contact data
    removed from every item, confidential needs of other enterprises without their name."""
    hidden = _hidden_needs(session, match_list, organization_id)
    items: list[Match] = []
    for match in match_list.items:
        changes: dict[str, Any] = {"details": _strip_contacts(match.details)}
        if match.id in hidden:
            changes["organization"] = HIDDEN_ORGANIZATION
        items.append(dataclasses.replace(match, **changes))
    return dataclasses.replace(match_list, items=items)
