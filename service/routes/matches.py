"""Match lists: need → results, need → experts, similar needs, result → needs, free text →
results (``matching.engine.MatchingEngine``), each with explanations and component scores.

Staff, organisers and admins see every list. An enterprise user sees the results for its own
needs and, as similar needs, only its own (another enterprise's need is "not found"); a
university user sees the needs its own results fit. Both may search by text; neither sees
experts (as in the records API), nor another organization's contact data, nor the enterprise
behind another's confidential need.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from matching.access import find_record, redact_match_list
from matching.engine import MatchingEngine
from matching.errors import NotFound
from matching.filters import FilterError, MatchFilters, parse_filters
from matching.match_list import MatchList
from matching.store.database import Database
from matching.store.models import Need, Result
from matching.vocab import Role
from service.deps import DatabaseDep
from service.problem_docs import problem_responses
from service.problems import Problem
from service.security import Principal, require_roles

__all__ = ["MatchListOut", "router"]

router = APIRouter(
    prefix="/api/v1", tags=["匹配"], responses=problem_responses(401, 403, 404, 422, 503)
)

# --- response models: MatchList.to_dict(), with room for fields the ranker adds ---------------


class EvidenceOut(BaseModel):
    sentence: str
    start: int
    spans: list[tuple[int, int]]
    marked: str


class MatchOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    rank: int
    id: int
    ref: str
    title: str
    organization: str
    region: str
    score: float
    components: dict[str, float | int | None]
    shared_terms: list[str]
    evidence: EvidenceOut | None
    details: dict[str, Any]


class MatchListOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    direction: str
    query: dict[str, Any]
    items: list[MatchOut]
    model_id: str
    ranker: str
    filters: dict[str, Any]
    generated_at: str


# --- dependencies ---------------------------------------------------------------------------


def get_engine(request: Request) -> MatchingEngine:
    engine: MatchingEngine | None = request.app.state.engine
    if engine is None:
        raise Problem(503, "匹配引擎未就绪", "模型或索引尚未加载，请稍后再试")
    return engine


EngineDep = Annotated[MatchingEngine, Depends(get_engine)]
Centre = Annotated[Principal, Depends(require_roles(Role.STAFF, Role.ORGANISER))]
NeedLists = Annotated[
    Principal, Depends(require_roles(Role.STAFF, Role.ORGANISER, Role.ENTERPRISE))
]
ResultLists = Annotated[
    Principal, Depends(require_roles(Role.STAFF, Role.ORGANISER, Role.UNIVERSITY))
]
Searchers = Annotated[
    Principal,
    Depends(require_roles(Role.STAFF, Role.ORGANISER, Role.ENTERPRISE, Role.UNIVERSITY)),
]
Top = Annotated[int, Query(ge=1, le=100, description="返回条数（1-100）")]
Texts = list[str] | None
FIELD = Query(description="领域：GB/T 13745 代码或名称（可重复）")
PROVINCE = Query(description="省份，如 安徽 或 安徽省（可重复）")
CITY = Query(description="城市，如 铜陵市（可重复）")
COOPERATION = Query(description="合作方式：技术转让、技术许可、合作开发……（可重复）")


def _filters(**values: Any) -> MatchFilters:
    try:
        return parse_filters(**values)
    except FilterError as error:
        raise Problem(
            422, detail=str(error), errors=[{"field": error.field, "reason": error.reason}]
        ) from None


def result_filters(
    field: Annotated[Texts, FIELD] = None,
    province: Annotated[Texts, PROVINCE] = None,
    city: Annotated[Texts, CITY] = None,
    maturity: Annotated[
        Texts, Query(description="成熟度：研发、小试、中试、产业化（可重复）")
    ] = None,
    min_trl: Annotated[int | None, Query(ge=1, le=9, description="技术就绪度下限 1-9")] = None,
    cooperation_mode: Annotated[Texts, COOPERATION] = None,
) -> MatchFilters:
    """Filters of a list of results."""
    return _filters(
        fields=field or [],
        provinces=province or [],
        cities=city or [],
        maturities=maturity or [],
        min_trl=min_trl,
        cooperation_modes=cooperation_mode or [],
    )


def need_filters(
    field: Annotated[Texts, FIELD] = None,
    province: Annotated[Texts, PROVINCE] = None,
    city: Annotated[Texts, CITY] = None,
    cooperation_mode: Annotated[Texts, COOPERATION] = None,
    deadline_after: Annotated[
        dt.date | None, Query(description="只要截止日期不早于此日的需求（YYYY-MM-DD）")
    ] = None,
) -> MatchFilters:
    """Filters of a list of needs."""
    return _filters(
        fields=field or [],
        provinces=province or [],
        cities=city or [],
        cooperation_modes=cooperation_mode or [],
        deadline_after=deadline_after,
    )


def expert_filters(
    field: Annotated[Texts, FIELD] = None,
    province: Annotated[Texts, PROVINCE] = None,
    city: Annotated[Texts, CITY] = None,
) -> MatchFilters:
    """Filters of a list of experts."""
    return _filters(fields=field or [], provinces=province or [], cities=city or [])


ResultFilters = Annotated[MatchFilters, Depends(result_filters)]
NeedFilters = Annotated[MatchFilters, Depends(need_filters)]
ExpertFilters = Annotated[MatchFilters, Depends(expert_filters)]


# --- access ---------------------------------------------------------------------------------


def _own_need(database: Database, principal: Principal, key: str) -> int:
    """The need's id, once the caller may see its lists (an enterprise: only its own)."""
    with database.session(principal.actor) as session:
        need = find_record(session, Need, key, "需求")
        if principal.role == Role.ENTERPRISE and need.enterprise_id != principal.organization_id:
            raise NotFound(f"找不到需求「{key}」")
        return need.id


def _own_result(database: Database, principal: Principal, key: str) -> int:
    """The result's id, once the caller may see its lists (a university: only its own)."""
    with database.session(principal.actor) as session:
        result = find_record(session, Result, key, "成果")
        if principal.role == Role.UNIVERSITY and result.institution_id != principal.organization_id:
            raise NotFound(f"找不到成果「{key}」")
        return result.id


def _answer(database: Database, principal: Principal, match_list: MatchList) -> Any:
    if principal.role in (Role.ENTERPRISE, Role.UNIVERSITY):
        with database.session(principal.actor) as session:
            match_list = redact_match_list(session, match_list, principal.organization_id)
    return match_list.to_dict()


# --- routes ---------------------------------------------------------------------------------


@router.get(
    "/needs/{need}/matches/results",
    summary="需求 → 可能解决它的科技成果",
    response_model=MatchListOut,
)
def need_results(
    need: str,
    principal: NeedLists,
    database: DatabaseDep,
    engine: EngineDep,
    filters: ResultFilters,
    top: Top = 10,
) -> Any:
    need_id = _own_need(database, principal, need)
    return _answer(database, principal, engine.need_to_results(need_id, top, filters))


@router.get(
    "/needs/{need}/matches/experts",
    summary="需求 → 合适的专家（默认排除利益冲突）",
    response_model=MatchListOut,
)
def need_experts(
    need: str,
    principal: Centre,
    database: DatabaseDep,
    engine: EngineDep,
    filters: ExpertFilters,
    top: Top = 10,
    exclude_conflicts: Annotated[bool, Query(description="排除与需求企业有利益冲突的专家")] = True,
) -> Any:
    need_id = _own_need(database, principal, need)
    match_list = engine.need_to_experts(need_id, top, filters, exclude_conflicts)
    return _answer(database, principal, match_list)


@router.get("/needs/{need}/similar", summary="相似需求", response_model=MatchListOut)
def similar_needs(
    need: str,
    principal: NeedLists,
    database: DatabaseDep,
    engine: EngineDep,
    filters: NeedFilters,
    top: Top = 10,
) -> Any:
    need_id = _own_need(database, principal, need)
    if principal.role == Role.ENTERPRISE:  # its own needs only: possible duplicates
        own = frozenset({principal.organization_id or 0})
        filters = dataclasses.replace(filters, organizations=own)
    return _answer(database, principal, engine.similar_needs(need_id, top, filters))


@router.get(
    "/results/{result}/matches/needs",
    summary="成果 → 适合的企业需求（向谁推介）",
    response_model=MatchListOut,
)
def result_needs(
    result: str,
    principal: ResultLists,
    database: DatabaseDep,
    engine: EngineDep,
    filters: NeedFilters,
    top: Top = 10,
) -> Any:
    result_id = _own_result(database, principal, result)
    return _answer(database, principal, engine.result_to_needs(result_id, top, filters))


@router.get("/search/results", summary="按问题描述检索科技成果", response_model=MatchListOut)
def search_results(
    q: Annotated[str, Query(min_length=1, max_length=2000, description="问题描述")],
    principal: Searchers,
    database: DatabaseDep,
    engine: EngineDep,
    filters: ResultFilters,
    top: Top = 10,
) -> Any:
    if not q.strip():
        raise Problem(
            422, detail="q：问题描述不能为空", errors=[{"field": "q", "reason": "不能为空"}]
        )
    return _answer(database, principal, engine.search_results(q.strip(), top, filters))
