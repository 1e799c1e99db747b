"""``/api/v1/rounds``: evaluation rounds of the needs-evaluation committee (评审). Organisers
create rounds, add items and experts, run the assignment, override pairs and handle
withdrawals here; experts' forms, progress, results and spreadsheets are in
``committee_forms`` and ``committee_results`` (included below). Access rules:
``service.committee_access``. Every request is one transaction, logged under the caller."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from matching.committee import (
    ItemView,
    RoundSpec,
    RoundView,
    create_round,
    default_template_data,
    get_round,
    list_rounds,
    round_view,
    update_round,
)
from matching.committee_assign import AssignmentReport, Panel, current_panels, run_assignment
from matching.committee_assign import withdraw_expert as withdraw
from matching.committee_forms import check_in_pool
from matching.committee_pool import (
    ItemSpec,
    OverrideView,
    PoolExpertView,
    add_experts,
    add_items,
    list_items,
    list_overrides,
    list_pool,
    set_override,
)
from matching.encode import Encoder
from matching.vocab import Role
from service.committee_access import (
    ExpertId,
    OrganiserDep,
    ReaderDep,
    RoundId,
    committee_errors,
    expert_id_of,
)
from service.deps import DatabaseDep
from service.problem_docs import problem_responses
from service.routes import committee_forms, committee_results
from service.schemas.committee import (
    ExpertsIn,
    ItemsIn,
    OverrideIn,
    ReasonIn,
    RoundCreate,
    RoundUpdate,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/api/v1/rounds",
    tags=["评审"],
    responses=problem_responses(401, 403, 404, 409, 422),
)


def _encoder(request: Request) -> Encoder | None:
    engine = request.app.state.engine
    return engine.encoder if engine is not None else None


@router.get("/templates/default", summary="默认评审表模板（企业技术需求评比）")
def default_template(principal: ReaderDep) -> dict[str, Any]:
    return default_template_data()


@router.post("", summary="新建评比批次", status_code=201, response_model=RoundView)
def create(body: RoundCreate, principal: OrganiserDep, database: DatabaseDep) -> Any:
    spec = RoundSpec(**(body.model_dump(exclude={"options"}) | {"options": body.options.as_dict()}))
    with committee_errors(), database.session(principal.actor) as session:
        return create_round(session, spec, principal.actor)


@router.get("", summary="评比批次列表", response_model=list[RoundView])
def rounds(principal: OrganiserDep, database: DatabaseDep) -> Any:
    with database.session(principal.actor) as session:
        return list_rounds(session)


@router.get("/{round_id}", summary="评比批次详情", response_model=RoundView)
def read(round_id: RoundId, principal: OrganiserDep, database: DatabaseDep) -> Any:
    with database.session(principal.actor) as session:
        return round_view(session, round_id)


@router.patch("/{round_id}", summary="修改评比批次（名称、截止日期、状态、人数、规则）")
def change(
    round_id: RoundId, body: RoundUpdate, principal: OrganiserDep, database: DatabaseDep
) -> RoundView:
    with committee_errors(), database.session(principal.actor) as session:
        return update_round(session, round_id, body.changes())


@router.get("/{round_id}/template", summary="本批次的评审表模板")
def template(round_id: RoundId, principal: ReaderDep, database: DatabaseDep) -> dict[str, Any]:
    """Organisers, and the experts in the round's pool."""
    with committee_errors(), database.session(principal.actor) as session:
        if not principal.has(Role.STAFF, Role.ORGANISER):
            check_in_pool(session, round_id, expert_id_of(principal))
        return dict(get_round(session, round_id).template)


@router.post("/{round_id}/items", summary="添加评审项目（需求或成果）")
def add_round_items(
    round_id: RoundId, body: ItemsIn, principal: OrganiserDep, database: DatabaseDep
) -> list[ItemView]:
    specs = [ItemSpec("need", key) for key in body.needs]
    specs += [ItemSpec("result", key) for key in body.results]
    specs += [ItemSpec(i.kind, i.key, tuple(i.co_applicants)) for i in body.items]
    with committee_errors(), database.session(principal.actor) as session:
        return add_items(session, round_id, specs)


@router.get("/{round_id}/items", summary="评审项目列表")
def round_items(
    round_id: RoundId, principal: OrganiserDep, database: DatabaseDep
) -> list[ItemView]:
    with database.session(principal.actor) as session:
        return list_items(session, round_id)


@router.post("/{round_id}/experts", summary="添加评审专家（专家库）")
def add_pool(
    round_id: RoundId, body: ExpertsIn, principal: OrganiserDep, database: DatabaseDep
) -> list[PoolExpertView]:
    with committee_errors(), database.session(principal.actor) as session:
        return add_experts(session, round_id, list(body.experts), body.max_load)


@router.get("/{round_id}/experts", summary="专家库（含评审量）")
def pool(round_id: RoundId, principal: OrganiserDep, database: DatabaseDep) -> list[PoolExpertView]:
    with database.session(principal.actor) as session:
        return list_pool(session, round_id)


@router.post("/{round_id}/assign", summary="分配评审专家（最优分配）")
def assign(
    round_id: RoundId, request: Request, principal: OrganiserDep, database: DatabaseDep
) -> AssignmentReport:
    """Solve for the highest total affinity under conflicts, overrides and load limits. Pairs
    whose form is started stay. The report names every understaffed item with the reason."""
    with committee_errors(), database.session(principal.actor) as session:
        return run_assignment(session, round_id, _encoder(request))


@router.get("/{round_id}/assignments", summary="当前分配（各评审组）")
def assignments(round_id: RoundId, principal: OrganiserDep, database: DatabaseDep) -> list[Panel]:
    with database.session(principal.actor) as session:
        return current_panels(session, round_id)


@router.post("/{round_id}/overrides", summary="手动指定或排除评审专家")
def override(
    round_id: RoundId, body: OverrideIn, principal: OrganiserDep, database: DatabaseDep
) -> list[OverrideView]:
    """Takes effect at the next ``POST assign``."""
    with committee_errors(), database.session(principal.actor) as session:
        return set_override(session, round_id, body.item_id, body.expert_id, body.kind, body.reason)


@router.get("/{round_id}/overrides", summary="手动指定或排除的配对")
def overrides(
    round_id: RoundId, principal: OrganiserDep, database: DatabaseDep
) -> list[OverrideView]:
    with database.session(principal.actor) as session:
        return list_overrides(session, round_id)


@router.post("/{round_id}/experts/{expert_id}/withdraw", summary="专家退出并重新分配")
def withdraw_expert(
    round_id: RoundId,
    expert_id: ExpertId,
    body: ReasonIn,
    request: Request,
    principal: OrganiserDep,
    database: DatabaseDep,
) -> AssignmentReport:
    """The expert's submitted forms stay and count; their other items go to other experts."""
    with committee_errors(), database.session(principal.actor) as session:
        return withdraw(session, round_id, expert_id, body.reason, _encoder(request))


router.include_router(committee_forms.router)
router.include_router(committee_results.router)
