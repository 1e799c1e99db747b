"""The needs and results pages: lists with search, filters and paging, and each record's page
with its match lists (need → results and similar needs; result → needs).

Who sees what is the records API's rule (``service.record_access``) and the match API's
(staff, organisers and the owning enterprise or university see a record's match lists; an
organization's user never sees other organizations' contact data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from matching.access import redact_match_list
from matching.feedback import list_feedback
from matching.fields import field_code_list
from matching.match_list import MatchList
from matching.record_queries import RecordQuery, find_record, list_records
from matching.regions import PROVINCES
from matching.store.models import Need, Result
from matching.vocab import NeedStatus, RejectReason, ResultStatus, Role
from service.deps import DatabaseDep
from service.record_access import read_visibility, shows_contacts, shows_owner
from service.schemas.records import NeedPublic, ResultPublic
from service.security import Principal
from service.web.paging import Pager
from service.web.routing import WebRoute
from service.web.session import PageUser
from service.web.templating import render

__all__ = ["FEEDBACK_CHOICES", "PAGE_SIZE", "MatchSection", "router"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 20
MATCHES_SHOWN = 10
SIMILAR_SHOWN = 5
# The feedback buttons of a match: action value → button text.
FEEDBACK_CHOICES = {"opened": "感兴趣", "contacted": "已联系", "rejected": "不相关"}
_LIST_ROLES = {
    "needs": (Role.STAFF, Role.ORGANISER, Role.ENTERPRISE),
    "results": (Role.STAFF, Role.ORGANISER, Role.UNIVERSITY),
}

Text = Annotated[str, Query(max_length=200)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]


@dataclass
class MatchSection:
    """One match list on a page, and whether (and how) the user may give feedback on it."""

    matches: MatchList | None
    feedback: bool
    direction: str
    states: dict[tuple[int, int], str]  # (need id, result id) → latest feedback action
    unavailable: str = ""  # why there is no list


def _engine(request: Request) -> Any:
    return request.app.state.engine


def _filters_context(entity: str) -> dict[str, Any]:
    statuses = NeedStatus.labels() if entity == "needs" else ResultStatus.labels()
    return {
        "statuses": statuses,
        "fields": field_code_list().fields,
        "provinces": PROVINCES,
    }


def _list_page(
    request: Request,
    entity: str,
    principal: Principal,
    database: DatabaseDep,
    params: dict[str, str],
    page: int,
) -> Response:
    visibility = read_visibility(principal, entity)
    query = RecordQuery(
        text=params["q"],
        statuses=(params["status"],) if params["status"] else (),
        field=params["field"],
        province=params["province"],
        page=page,
        page_size=PAGE_SIZE,
    )
    with database.session(principal.actor) as session:
        found = list_records(session, entity, query, visibility)
        if entity == "needs":
            rows: list[Any] = [
                NeedPublic.of(r, shows_contacts(principal, entity, r), shows_owner(principal, r))
                for r in found.items
            ]
        else:
            rows = [ResultPublic.of(r, shows_contacts(principal, entity, r)) for r in found.items]
    pager = Pager.of(request.url.path, params, page, PAGE_SIZE, found.total)
    context = {"rows": rows, "params": params, "pager": pager, **_filters_context(entity)}
    return render(request, f"{entity}/list.html", context)


@router.get("/needs")
def needs_list(
    request: Request,
    principal: PageUser,
    database: DatabaseDep,
    q: Text = "",
    status: Text = "",
    field: Text = "",
    province: Text = "",
    page: PageNumber = 1,
) -> Response:
    params = {"q": q, "status": status, "field": field, "province": province}
    return _list_page(request, "needs", principal, database, params, page)


@router.get("/results")
def results_list(
    request: Request,
    principal: PageUser,
    database: DatabaseDep,
    q: Text = "",
    status: Text = "",
    field: Text = "",
    province: Text = "",
    page: PageNumber = 1,
) -> Response:
    params = {"q": q, "status": status, "field": field, "province": province}
    return _list_page(request, "results", principal, database, params, page)


def feedback_states(
    session: Session, need: int | None = None, result: int | None = None
) -> dict[tuple[int, int], str]:
    """The latest feedback a user gave (shown aside) per (need id, result id) pair."""
    states: dict[tuple[int, int], str] = {}
    for event in list_feedback(session, need=need, result=result, limit=500):
        if event.result_id is not None and event.action in FEEDBACK_CHOICES:
            states.setdefault((event.need_id, event.result_id), event.action)
    return states


def _section(
    request: Request,
    session: Session,
    principal: Principal,
    roles: tuple[Role, ...],
    direction: str,
    make: Any,
) -> MatchSection:
    """A match list the user may see (or why not), redacted for organizations' users."""
    # The roles that see a list are those that may give feedback on it (as the API).
    if not principal.has(*roles):
        return MatchSection(None, False, direction, {})
    if _engine(request) is None:
        return MatchSection(None, False, direction, {}, "匹配引擎未就绪（模型或索引尚未加载）")
    matches: MatchList = make(_engine(request))
    if principal.role in (Role.ENTERPRISE, Role.UNIVERSITY):
        matches = redact_match_list(session, matches, principal.organization_id)
    return MatchSection(matches, True, direction, {})


@router.get("/needs/{key}")
def need_page(request: Request, key: str, principal: PageUser, database: DatabaseDep) -> Response:
    visibility = read_visibility(principal, "needs")
    with database.session(principal.actor) as session:
        record: Need = find_record(session, "needs", key, visibility)
        need = NeedPublic.of(
            record, shows_contacts(principal, "needs", record), shows_owner(principal, record)
        )
        roles = _LIST_ROLES["needs"]
        results = _section(
            request,
            session,
            principal,
            roles,
            "need→results",
            lambda engine: engine.need_to_results(record.id, MATCHES_SHOWN),
        )
        results.states = feedback_states(session, need=record.id) if results.matches else {}
        similar = _section(
            request,
            session,
            principal,
            roles,
            "need→needs",
            lambda engine: engine.similar_needs(record.id, SIMILAR_SHOWN),
        )
        similar.feedback = False
    context = {
        "need": need,
        "results": results,
        "similar": similar,
        "reasons": RejectReason.labels(),
        "choices": FEEDBACK_CHOICES,
    }
    return render(request, "needs/detail.html", context)


@router.get("/results/{key}")
def result_page(request: Request, key: str, principal: PageUser, database: DatabaseDep) -> Response:
    visibility = read_visibility(principal, "results")
    with database.session(principal.actor) as session:
        record: Result = find_record(session, "results", key, visibility)
        result = ResultPublic.of(record, shows_contacts(principal, "results", record))
        needs = _section(
            request,
            session,
            principal,
            _LIST_ROLES["results"],
            "result→needs",
            lambda engine: engine.result_to_needs(record.id, MATCHES_SHOWN),
        )
        needs.states = feedback_states(session, result=record.id) if needs.matches else {}
    context = {
        "result": result,
        "needs": needs,
        "reasons": RejectReason.labels(),
        "choices": FEEDBACK_CHOICES,
    }
    return render(request, "results/detail.html", context)
