"""Creating, changing and withdrawing single records (organizations, needs, results, experts).

Values are parsed as the importer parses cells (``record_input``); a need's status moves only
as its lifecycle allows; records are never deleted: withdrawing sets the status that takes
them out of matching (need and result: withdrawn, expert: inactive). Every write lands in the
change log through the session's history hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matching.errors import TechMatchError
from matching.lifecycle import check_need_transition
from matching.record_input import (
    OWNER_ATTRIBUTE,
    RECORD_MODELS,
    FieldProblem,
    RecordInputError,
    check_record,
    parse_fields,
)
from matching.records import default_ref, guess_organization_kind
from matching.store.models import Expert, Need, Organization, Result
from matching.vocab import ExpertStatus, NeedStatus, ResultStatus

__all__ = ["DuplicateRecord", "create_record", "update_record", "withdraw_record"]

Record = Organization | Need | Result | Expert
_WITHDRAWN = {
    "needs": NeedStatus.WITHDRAWN.value,
    "results": ResultStatus.WITHDRAWN.value,
    "experts": ExpertStatus.INACTIVE.value,
}


class DuplicateRecord(TechMatchError):
    """Another record already has this reference (an organization: this name)."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"「{value}」已被另一条记录使用")
        self.field = field
        self.value = value


def _unique_key(entity: str) -> str:
    return "name" if entity == "organizations" else "external_ref"


def _check_unique(session: Session, entity: str, record: Record) -> None:
    model: Any = RECORD_MODELS[entity]
    key = _unique_key(entity)
    value = getattr(record, key)
    query = select(model.id).where(getattr(model, key) == value)
    if record.id is not None:
        query = query.where(model.id != record.id)
    if session.scalar(query) is not None:
        raise DuplicateRecord(key, value)


def _owner(session: Session, organization_id: int | None) -> Organization | None:
    if organization_id is None:
        return None
    organization = session.get(Organization, organization_id)
    if organization is None:
        reason = f"没有 ID 为 {organization_id} 的单位"
        raise RecordInputError([FieldProblem("organization_id", reason)])
    return organization


def _state(entity: str, record: Record) -> dict[str, Any]:
    return {key: getattr(record, key) for key in RECORD_MODELS[entity].__table__.columns.keys()}  # noqa: SIM118


def _apply(session: Session, entity: str, record: Record, attributes: dict[str, Any]) -> None:
    attributes = dict(attributes)
    if "organization_id" in attributes:
        organization = _owner(session, attributes.pop("organization_id"))
        if organization is None and entity in ("needs", "results"):
            raise RecordInputError([FieldProblem("organization_id", "不能为空")])
        attributes[OWNER_ATTRIBUTE[entity]] = organization.id if organization else None
    if isinstance(record, Need) and record.id is not None and "status" in attributes:
        check_need_transition(record.status, attributes["status"])
    check_record(entity, _state(entity, record) | attributes)
    for key, value in attributes.items():
        if getattr(record, key) != value:
            setattr(record, key, value)


def _flush(session: Session, entity: str, record: Record) -> None:
    with session.no_autoflush:
        _check_unique(session, entity, record)
    try:
        session.flush()
    except IntegrityError:
        # Written by someone else between the check and the flush.
        key = _unique_key(entity)
        raise DuplicateRecord(key, str(getattr(record, key))) from None


def create_record(session: Session, entity: str, values: Mapping[str, Any]) -> Any:
    """A new record from ``values`` (see ``record_input.parse_fields``), flushed so it has its
    id. Without ``external_ref`` one is derived from the owner and title, as the importer does.

    Raises ``RecordInputError``, ``DuplicateRecord``, or ``InvalidTransition``.
    """
    attributes = parse_fields(entity, values, creating=True)
    model: Any = RECORD_MODELS[entity]
    record = model()
    if entity == "organizations":
        attributes.setdefault("kind", guess_organization_kind(attributes["name"]))
    _apply(session, entity, record, attributes)
    if entity != "organizations" and not record.external_ref:
        owner = session.get(Organization, getattr(record, OWNER_ATTRIBUTE[entity]) or 0)
        owner_name = owner.name if owner else ""
        basis = {"title": getattr(record, "title", ""), "name": getattr(record, "name", "")}
        basis |= {"enterprise": owner_name} if entity == "needs" else {"institution": owner_name}
        record.external_ref = default_ref(entity, basis)
    session.add(record)
    try:
        _flush(session, entity, record)
    except DuplicateRecord:
        session.expunge(record)  # so that the caller's session can carry on without it
        raise
    return record


def update_record(session: Session, entity: str, record: Any, values: Mapping[str, Any]) -> Any:
    """Change the fields ``values`` names; the others stay. Same errors as ``create_record``."""
    attributes = parse_fields(entity, values, creating=False)
    with session.no_autoflush:
        _apply(session, entity, record, attributes)
    try:
        _flush(session, entity, record)
    except DuplicateRecord:
        session.expire(record)  # drop the refused changes
        raise
    return record


def withdraw_record(session: Session, entity: str, record: Any) -> Any:
    """Take a need, result or expert out of matching (a need only where its lifecycle allows:
    ``InvalidTransition`` otherwise). Withdrawing twice changes nothing."""
    status = _WITHDRAWN[entity]
    if isinstance(record, Need):
        check_need_transition(record.status, status)
    record.status = status
    session.flush()
    return record
