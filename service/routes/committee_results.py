"""Following and closing a round: progress with reminders, the aggregated results, the results
workbook, printable paper forms and the import of filled-in paper forms (organisers)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from matching.committee import get_round
from matching.committee_exports import results_workbook
from matching.committee_paper import PaperImport, import_paper_forms, paper_forms_workbook
from matching.committee_progress import ProgressView, progress
from matching.committee_results import RoundResults, round_results
from matching.store.database import Database
from matching.vocab import Role
from service.committee_access import (
    MAX_ID,
    OrganiserDep,
    ReaderDep,
    RoundId,
    committee_errors,
    expert_id_of,
    xlsx_response,
)
from service.deps import DatabaseDep, SettingsDep
from service.problems import Problem
from service.uploads import UPLOAD_SCHEMA, receive_upload

__all__ = ["router"]

router = APIRouter()

Normalise = Annotated[bool | None, Query(description="按专家标准化（z 分数）；缺省按批次设置")]


@router.get("/{round_id}/progress", summary="评审进度与催办")
def round_progress(
    round_id: RoundId,
    principal: OrganiserDep,
    database: DatabaseDep,
    remind_within_days: Annotated[int, Query(ge=0, le=365, description="截止前几天起催办")] = 3,
    today: Annotated[dt.date | None, Query(description="按哪一天计算（缺省为今天）")] = None,
) -> ProgressView:
    with database.session(principal.actor) as session:
        return progress(session, round_id, today or dt.date.today(), remind_within_days)


@router.get("/{round_id}/results", summary="评审结果：汇总、一致性、排名与等级")
def results(
    round_id: RoundId, principal: OrganiserDep, database: DatabaseDep, normalise: Normalise = None
) -> RoundResults:
    with committee_errors(), database.session(principal.actor) as session:
        return round_results(session, round_id, normalise)


@router.get(
    "/{round_id}/results.xlsx",
    summary="导出评审结果（Excel）",
    response_class=Response,
    responses={
        200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}
    },
)
def results_xlsx(
    round_id: RoundId, principal: OrganiserDep, database: DatabaseDep, normalise: Normalise = None
) -> Response:
    with committee_errors(), database.session(principal.actor) as session:
        name = get_round(session, round_id).name
        data = results_workbook(session, round_id, normalise)
    return xlsx_response(data, f"{name}-评审结果.xlsx")


@router.get(
    "/{round_id}/paper-forms.xlsx",
    summary="打印纸质评审表（Excel，每位专家每个项目一张）",
    response_class=Response,
    responses={
        200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}
    },
)
def paper_forms(
    round_id: RoundId,
    principal: ReaderDep,
    database: DatabaseDep,
    expert_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="只导出这位专家的")] = None,
    item_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="只导出这个项目的")] = None,
) -> Response:
    """Organisers get any forms; an expert only their own."""
    if not principal.has(Role.STAFF, Role.ORGANISER):
        own = expert_id_of(principal)
        if expert_id not in (None, own):
            raise Problem(403, detail="只能导出本人的评审表")
        expert_id = own
    with committee_errors(), database.session(principal.actor) as session:
        name = get_round(session, round_id).name
        data = paper_forms_workbook(session, round_id, expert_id, item_id)
    return xlsx_response(data, f"{name}-纸质评审表.xlsx")


@router.post(
    "/{round_id}/paper-forms",
    summary="导入填好的纸质评审表",
    openapi_extra=UPLOAD_SCHEMA,
    responses={413: {"description": "文件过大"}, 415: {"description": "不支持的文件类型"}},
)
async def import_paper(
    round_id: RoundId,
    request: Request,
    principal: OrganiserDep,
    database: DatabaseDep,
    settings: SettingsDep,
) -> PaperImport:
    """All or nothing: every problem is listed by sheet, row and field (422), and nothing is
    written unless every filled-in sheet is valid. Imported forms are submitted (locked)."""
    upload = await receive_upload(request, int(settings.max_upload_mb * 1024 * 1024))
    if upload.suffix != ".xlsx":
        raise Problem(415, detail="请上传系统导出并填写好的 .xlsx 纸质评审表")
    return await _import(database, principal.actor, round_id, upload.data)


async def _import(database: Database, actor: str, round_id: RoundId, data: bytes) -> PaperImport:
    def work() -> PaperImport:
        with committee_errors(), database.session(actor) as session:
            return import_paper_forms(session, round_id, data)

    return await run_in_threadpool(work)
