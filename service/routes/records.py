"""``/api/v1/organizations``, ``/needs``, ``/results``, ``/experts``: list, read, create, change
and withdraw records (never delete), within what the caller's role allows
(``service.record_access``). Every write is in the change log under the caller's name, and a
changed need, result or expert is matchable (or gone) at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from matching.lifecycle import InvalidTransition
from matching.record_edits import DuplicateRecord, create_record, update_record, withdraw_record
from matching.record_input import RecordInputError
from matching.record_queries import find_record, list_records
from matching.store.database import Database
from service.deps import DatabaseDep
from service.problems import Problem
from service.record_access import (
    check_writer,
    may_change,
    own_values,
    read_visibility,
    shows_contacts,
    shows_owner,
)
from service.schemas import Page
from service.schemas.records import (
    ExpertInput,
    ExpertPublic,
    NeedInput,
    NeedListParams,
    NeedPublic,
    OrganizationInput,
    OrganizationListParams,
    OrganizationPublic,
    RecordListParams,
    ResultInput,
    ResultPublic,
)
from service.security import Principal, PrincipalDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")

Key = Annotated[str, Path(description="数字 ID 或编号（单位：ID 或名称）")]
ListParams = OrganizationListParams | RecordListParams
Input = OrganizationInput | NeedInput | ResultInput | ExpertInput


@contextmanager
def _record_errors() -> Iterator[None]:
    """The library's refusals as problem documents naming the field."""
    try:
        yield
    except RecordInputError as error:
        errors = [{"field": p.field, "reason": p.reason} for p in error.problems]
        raise Problem(422, detail=str(error), errors=errors) from None
    except DuplicateRecord as error:
        reason = f"「{error.value}」已被另一条记录使用"
        errors = [{"field": error.field, "reason": reason}]
        raise Problem(409, detail=reason, errors=errors) from None
    except InvalidTransition as error:
        errors = [{"field": "status", "reason": str(error)}]
        raise Problem(409, "状态不允许此变更", str(error), errors) from None


def _public(principal: Principal, entity: str, record: Any) -> BaseModel:
    contacts = shows_contacts(principal, entity, record)
    if entity == "needs":
        return NeedPublic.of(record, contacts, shows_owner(principal, record))
    if entity == "results":
        return ResultPublic.of(record, contacts)
    if entity == "experts":
        return ExpertPublic.of(record, contacts)
    return OrganizationPublic.of(record, contacts)


def _refresh(request: Request, entity: str, record_id: int) -> None:
    engine = request.app.state.engine
    if engine is not None and entity != "organizations":
        engine.refresh(entity, [record_id])


def _list(entity: str, params: ListParams, principal: Principal, database: Database) -> Any:
    visibility = read_visibility(principal, entity)
    with _record_errors(), database.session(principal.actor) as session:
        found = list_records(session, entity, params.query(), visibility)
        items = [_public(principal, entity, record) for record in found.items]
    return Page[Any](items=items, total=found.total, page=found.page, page_size=found.page_size)


def _get(entity: str, key: str, principal: Principal, database: Database) -> Any:
    visibility = read_visibility(principal, entity)
    with database.session(principal.actor) as session:
        return _public(principal, entity, find_record(session, entity, key, visibility))


def _create(
    request: Request, entity: str, body: Input, principal: Principal, database: Database
) -> Any:
    check_writer(principal, entity, creating=True)
    values = own_values(principal, entity, body.values(), creating=True)
    with _record_errors(), database.session(principal.actor) as session:
        record = create_record(session, entity, values)
        answer = _public(principal, entity, record)
    _refresh(request, entity, record.id)
    return answer


def _update(
    request: Request, entity: str, key: str, body: Input, principal: Principal, database: Database
) -> Any:
    check_writer(principal, entity)
    values = own_values(principal, entity, body.values())
    with _record_errors(), database.session(principal.actor) as session:
        record = find_record(session, entity, key, read_visibility(principal, entity))
        may_change(principal, entity, record)
        answer = _public(principal, entity, update_record(session, entity, record, values))
    _refresh(request, entity, record.id)
    return answer


def _withdraw(
    request: Request, entity: str, key: str, principal: Principal, database: Database
) -> Any:
    check_writer(principal, entity)
    with _record_errors(), database.session(principal.actor) as session:
        record = find_record(session, entity, key, read_visibility(principal, entity))
        may_change(principal, entity, record)
        answer = _public(principal, entity, withdraw_record(session, entity, record))
    _refresh(request, entity, record.id)
    return answer


# --- organizations ------------------------------------------------------------------------

ORGANIZATIONS: list[str | Enum] = ["单位"]


@router.get("/organizations", response_model=Page[OrganizationPublic], tags=ORGANIZATIONS)
def list_organizations(
    params: Annotated[OrganizationListParams, Query()], principal: PrincipalDep, db: DatabaseDep
) -> Any:
    """Organizations (any logged-in user; contact data only of the caller's own)."""
    return _list("organizations", params, principal, db)


@router.get("/organizations/{key}", response_model=OrganizationPublic, tags=ORGANIZATIONS)
def get_organization(key: Key, principal: PrincipalDep, db: DatabaseDep) -> Any:
    """One organization by ID or name."""
    return _get("organizations", key, principal, db)


@router.post(
    "/organizations", response_model=OrganizationPublic, status_code=201, tags=ORGANIZATIONS
)
def create_organization(
    request: Request, body: OrganizationInput, principal: PrincipalDep, db: DatabaseDep
) -> Any:
    """A new organization (staff)."""
    return _create(request, "organizations", body, principal, db)


@router.patch("/organizations/{key}", response_model=OrganizationPublic, tags=ORGANIZATIONS)
def update_organization(
    request: Request, key: Key, body: OrganizationInput, principal: PrincipalDep, db: DatabaseDep
) -> Any:
    """Change the fields sent (staff; enterprise and university users: their own)."""
    return _update(request, "organizations", key, body, principal, db)


# --- needs --------------------------------------------------------------------------------

NEEDS: list[str | Enum] = ["需求"]


@router.get("/needs", response_model=Page[NeedPublic], tags=NEEDS)
def list_needs(
    params: Annotated[NeedListParams, Query()], principal: PrincipalDep, db: DatabaseDep
) -> Any:
    """Enterprise technical needs the caller may see, filtered, sorted and paginated."""
    return _list("needs", params, principal, db)


@router.get("/needs/{key}", response_model=NeedPublic, tags=NEEDS)
def get_need(key: Key, principal: PrincipalDep, db: DatabaseDep) -> Any:
    """One need by ID or 需求编号."""
    return _get("needs", key, principal, db)


@router.post("/needs", response_model=NeedPublic, status_code=201, tags=NEEDS)
def create_need(request: Request, body: NeedInput, principal: PrincipalDep, db: DatabaseDep) -> Any:
    """A new need (staff; an enterprise user: for its own enterprise)."""
    return _create(request, "needs", body, principal, db)


@router.patch("/needs/{key}", response_model=NeedPublic, tags=NEEDS)
def update_need(
    request: Request, key: Key, body: NeedInput, principal: PrincipalDep, db: DatabaseDep
) -> Any:
    """Change the fields sent; the status follows the need lifecycle."""
    return _update(request, "needs", key, body, principal, db)


@router.post("/needs/{key}/withdraw", response_model=NeedPublic, tags=NEEDS)
def withdraw_need(request: Request, key: Key, principal: PrincipalDep, db: DatabaseDep) -> Any:
    """Withdraw a need (status 已撤回, where the lifecycle allows); it leaves matching."""
    return _withdraw(request, "needs", key, principal, db)


# --- results ------------------------------------------------------------------------------

RESULTS: list[str | Enum] = ["成果"]


@router.get("/results", response_model=Page[ResultPublic], tags=RESULTS)
def list_results(
    params: Annotated[RecordListParams, Query()], principal: PrincipalDep, db: DatabaseDep
) -> Any:
    """Research results the caller may see, filtered, sorted and paginated."""
    return _list("results", params, principal, db)


@router.get("/results/{key}", response_model=ResultPublic, tags=RESULTS)
def get_result(key: Key, principal: PrincipalDep, db: DatabaseDep) -> Any:
    """One result by ID or 成果编号."""
    return _get("results", key, principal, db)


@router.post("/results", response_model=ResultPublic, status_code=201, tags=RESULTS)
def create_result(
    request: Request, body: ResultInput, principal: PrincipalDep, db: DatabaseDep
) -> Any:
    """A new result (staff; a university user: for its own institution)."""
    return _create(request, "results", body, principal, db)


@router.patch("/results/{key}", response_model=ResultPublic, tags=RESULTS)
def update_result(
    request: Request, key: Key, body: ResultInput, principal: PrincipalDep, db: DatabaseDep
) -> Any:
    """Change the fields sent."""
    return _update(request, "results", key, body, principal, db)


@router.post("/results/{key}/withdraw", response_model=ResultPublic, tags=RESULTS)
def withdraw_result(request: Request, key: Key, principal: PrincipalDep, db: DatabaseDep) -> Any:
    """Withdraw a result (status 已撤回); it leaves matching."""
    return _withdraw(request, "results", key, principal, db)


# --- experts ------------------------------------------------------------------------------

EXPERTS: list[str | Enum] = ["专家"]


@router.get("/experts", response_model=Page[ExpertPublic], tags=EXPERTS)
def list_experts(
    params: Annotated[RecordListParams, Query()], principal: PrincipalDep, db: DatabaseDep
) -> Any:
    """Experts (staff, organisers, experts), filtered, sorted and paginated."""
    return _list("experts", params, principal, db)


@router.get("/experts/{key}", response_model=ExpertPublic, tags=EXPERTS)
def get_expert(key: Key, principal: PrincipalDep, db: DatabaseDep) -> Any:
    """One expert by ID or 专家编号."""
    return _get("experts", key, principal, db)


@router.post("/experts", response_model=ExpertPublic, status_code=201, tags=EXPERTS)
def create_expert(
    request: Request, body: ExpertInput, principal: PrincipalDep, db: DatabaseDep
) -> Any:
    """A new expert (staff)."""
    return _create(request, "experts", body, principal, db)


@router.patch("/experts/{key}", response_model=ExpertPublic, tags=EXPERTS)
def update_expert(
    request: Request, key: Key, body: ExpertInput, principal: PrincipalDep, db: DatabaseDep
) -> Any:
    """Change the fields sent."""
    return _update(request, "experts", key, body, principal, db)


@router.post("/experts/{key}/withdraw", response_model=ExpertPublic, tags=EXPERTS)
def withdraw_expert(request: Request, key: Key, principal: PrincipalDep, db: DatabaseDep) -> Any:
    """Take an expert out of the pool (status 停用); they leave matching."""
    return _withdraw(request, "experts", key, principal, db)
