"""Who may read and change which records, and whose contact data they see.

- admin and staff: everything; organiser: reads everything, changes nothing;
- expert: reads needs, results and experts without contact data (except their own record);
- enterprise user: its own organization's needs (create, change, withdraw; others' needs do not
  exist for it), published results; university user: the same for its own results, and reads
  active needs, confidential ones without the enterprise;
- enterprise and university users may change their own organization; every role reads
  organizations, contact data only of its own.
"""

from __future__ import annotations

from typing import Any

from matching.corpus import ACTIVE_STATUSES
from matching.record_input import OWNER_ATTRIBUTE
from matching.record_queries import Visibility
from matching.vocab import NeedStatus, ResultStatus, Role, label_of, parse_value
from service.problems import Problem
from service.security import Principal

__all__ = [
    "check_writer",
    "may_change",
    "own_values",
    "read_visibility",
    "shows_contacts",
    "shows_owner",
]

_ENTITY_LABELS = {
    "organizations": "单位",
    "needs": "需求",
    "results": "成果",
    "experts": "专家",
}
# The record kind an organization's own users manage.
_OWN_ENTITY = {Role.ENTERPRISE: "needs", Role.UNIVERSITY: "results"}
# The statuses an enterprise user may give its own needs: evaluation and publication are the
# centre's decisions.
_ENTERPRISE_STATUSES = (NeedStatus.DRAFT, NeedStatus.SUBMITTED, NeedStatus.WITHDRAWN)


def _forbidden(detail: str) -> Problem:
    return Problem(403, detail=detail)


def _organization_only(principal: Principal) -> Visibility:
    # An account without organization (should not exist for these roles) sees nothing.
    return Visibility(organization_id=principal.organization_id or 0)


def read_visibility(principal: Principal, entity: str) -> Visibility:
    """The records of ``entity`` the caller may read; 403 when none."""
    role = principal.role
    if principal.has(Role.STAFF, Role.ORGANISER, Role.EXPERT) or entity == "organizations":
        return Visibility()
    if _OWN_ENTITY.get(role) == entity:
        return _organization_only(principal)
    if role == Role.ENTERPRISE and entity == "results":
        return Visibility(statuses=frozenset({ResultStatus.PUBLISHED.value}))
    if role == Role.UNIVERSITY and entity == "needs":
        return Visibility(statuses=ACTIVE_STATUSES["needs"], hide_confidential_owner=True)
    raise _forbidden(f"{label_of(role)}不能查看{_ENTITY_LABELS[entity]}库")


def check_writer(principal: Principal, entity: str, creating: bool = False) -> None:
    """403 unless the caller's role may write some records of ``entity``."""
    if principal.has(Role.STAFF):
        return
    if _OWN_ENTITY.get(principal.role) == entity:
        return
    own_organization = principal.role in _OWN_ENTITY and entity == "organizations"
    if own_organization and not creating:
        return
    raise _forbidden(f"{label_of(principal.role)}不能新建或修改{_ENTITY_LABELS[entity]}")


def _owner_id(entity: str, record: Any) -> int | None:
    if entity == "organizations":
        return int(record.id)
    owner: int | None = getattr(record, OWNER_ATTRIBUTE[entity])
    return owner


def _own(principal: Principal, entity: str, record: Any) -> bool:
    owner = _owner_id(entity, record)
    return principal.organization_id is not None and owner == principal.organization_id


def may_change(principal: Principal, entity: str, record: Any) -> None:
    """403 unless the caller may change this record (found through ``read_visibility``)."""
    if not principal.has(Role.STAFF) and not _own(principal, entity, record):
        raise _forbidden(f"只能修改本单位的{_ENTITY_LABELS[entity]}")


def own_values(
    principal: Principal, entity: str, values: dict[str, Any], creating: bool = False
) -> dict[str, Any]:
    """What an organization's own user may send: its records are its organization's whatever
    the body says; an enterprise may not publish or evaluate its own needs."""
    if principal.has(Role.STAFF) or entity == "organizations":
        return values
    values = {key: value for key, value in values.items() if key != "organization_id"}
    if creating:
        values["organization_id"] = principal.organization_id
    if entity == "needs" and "status" in values:
        try:
            status = parse_value(NeedStatus, str(values["status"]))
        except ValueError:
            return values  # the record parser reports it
        if status not in _ENTERPRISE_STATUSES:
            allowed = "、".join(label_of(s) for s in _ENTERPRISE_STATUSES)
            reason = f"企业用户只能将需求状态设为：{allowed}（评审与发布由转移中心负责）"
            raise Problem(403, detail=reason, errors=[{"field": "status", "reason": reason}])
    return values


def shows_contacts(principal: Principal, entity: str, record: Any) -> bool:
    """Whether the caller sees the record's contact data."""
    if principal.has(Role.STAFF, Role.ORGANISER):
        return True
    if entity == "experts":
        return principal.expert_id is not None and record.id == principal.expert_id
    return _own(principal, entity, record)


def shows_owner(principal: Principal, record: Any) -> bool:
    """Whether the caller sees whose a need is (a confidential need hides its enterprise from
    outside readers)."""
    if not record.confidential or principal.has(Role.STAFF, Role.ORGANISER, Role.EXPERT):
        return True
    return _own(principal, "needs", record)
