"""Import and export over HTTP: ``POST /api/v1/imports/{entity}`` (a CSV, XLSX or JSON upload,
staff only), ``GET /api/v1/exports/{entity}`` and ``GET /api/v1/templates/{entity}``.

Imports write as the caller (change log) and refresh the matching indexes for what changed.
Enterprise and university users cannot import: an import may name any enterprise or
institution, and they act for their own organization only (they use the record endpoints).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from matching.config import Settings
from matching.exporting import export_file
from matching.import_report import ENTITY_LABELS, ImportReport
from matching.importing import import_file
from matching.records import ENTITY_MODELS
from matching.store.database import Database
from matching.store.models import utc_now
from matching.templates import TEMPLATE_NAMES, write_template
from matching.vocab import ExpertStatus, NeedStatus, ResultStatus, Role, Vocabulary, parse_value
from service.deps import DatabaseDep, SettingsDep
from service.problems import Problem
from service.schemas.transfer import ImportAnswer
from service.security import Principal, PrincipalDep, require_roles
from service.uploads import UPLOAD_SCHEMA, receive_upload

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["导入导出"])

Entity = Literal["needs", "results", "experts"]
StaffDep = Annotated[Principal, Depends(require_roles(Role.STAFF))]
ExporterDep = Annotated[Principal, Depends(require_roles(Role.STAFF, Role.ORGANISER))]

IMPORT_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".json")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
_STATUSES: dict[str, type[Vocabulary]] = {
    "needs": NeedStatus,
    "results": ResultStatus,
    "experts": ExpertStatus,
}


def _run_import(
    database: Database,
    settings: Settings,
    entity: str,
    upload: tuple[str, bytes],
    options: dict[str, bool],
    actor: str,
) -> ImportReport:
    suffix, data = upload
    with tempfile.TemporaryDirectory(prefix="techmatch-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return import_file(
            database, entity, path, actor=actor, settings=settings, progress=None, **options
        )


def _changed_since(database: Database, entity: str, since: dt.datetime) -> list[int]:
    model: Any = ENTITY_MODELS[entity]
    with database.session() as session:
        return list(session.scalars(select(model.id).where(model.updated_at >= since)))


@router.post(
    "/imports/{entity}",
    response_model=ImportAnswer,
    openapi_extra=UPLOAD_SCHEMA,
    responses={413: {"description": "文件过大"}, 415: {"description": "不支持的文件类型"}},
)
async def import_records(
    request: Request,
    entity: Entity,
    principal: StaffDep,
    database: DatabaseDep,
    settings: SettingsDep,
    dry_run: Annotated[bool, Query(description="只检查，不写入")] = False,
    skip_invalid: Annotated[bool, Query(description="跳过有误的行，导入其余行")] = False,
    allow_duplicates: Annotated[bool, Query(description="导入疑似重复的需求（并标记）")] = False,
) -> Any:
    """Import a CSV, XLSX or JSON file (the columns of the templates). Answers the report:
    counts and every problem by row and column. A file with errors writes nothing (unless
    ``skip_invalid``): the answer is then a 422 problem whose ``report`` member is the report."""
    upload = await receive_upload(request, settings.max_upload_mb)
    if upload.suffix not in IMPORT_SUFFIXES:
        allowed = "、".join(IMPORT_SUFFIXES)
        raise Problem(
            415, detail=f"不支持的文件类型「{upload.suffix or '无扩展名'}」：可上传 {allowed}"
        )
    options = {
        "dry_run": dry_run,
        "skip_invalid": skip_invalid,
        "allow_duplicates": allow_duplicates,
    }
    started = utc_now()  # the store's timestamps come from this same clock
    report = await run_in_threadpool(
        _run_import,
        database,
        settings,
        entity,
        (upload.suffix, upload.data),
        options,
        principal.actor,
    )
    report.file = upload.display_name
    answer = ImportAnswer.of(report)
    if not report.written and not dry_run:
        detail = (
            f"发现 {len(report.errors)} 处错误（涉及 {report.invalid_rows} 行），未导入任何数据"
        )
        raise Problem(422, "导入数据有误", detail, report=answer.model_dump(mode="json"))
    engine = request.app.state.engine
    if report.written and not dry_run and engine is not None:
        changed = await run_in_threadpool(_changed_since, database, entity, started)
        if changed:
            await run_in_threadpool(engine.refresh, entity, changed)
    return answer


def _file_response(folder: str, path: Path, filename: str, media_type: str) -> FileResponse:
    return FileResponse(
        path,
        media_type=media_type,
        filename=filename,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.get("/exports/{entity}", response_class=FileResponse)
def export_records(
    entity: Entity,
    principal: ExporterDep,
    database: DatabaseDep,
    file_format: Annotated[Literal["xlsx", "csv", "json"], Query(alias="format")] = "xlsx",
    status: Annotated[list[str], Query(description="只导出这些状态（可重复）：值或中文名称")] = [],  # noqa: B006
) -> FileResponse:
    """Download every record (or those with the given statuses) in the import format: the file
    imports back to the same records. CSV is UTF-8 with BOM."""
    try:
        statuses = [parse_value(_STATUSES[entity], text).value for text in status]
    except ValueError as error:
        errors = [{"field": "status", "reason": str(error)}]
        raise Problem(422, detail=f"status：{error}", errors=errors) from None
    folder = tempfile.mkdtemp(prefix="techmatch-export-")
    try:
        path = Path(folder) / f"export.{file_format}"
        export_file(database, entity, path, statuses or None)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    filename = f"{ENTITY_LABELS[entity]}-{dt.date.today().isoformat()}.{file_format}"
    return _file_response(folder, path, filename, MEDIA_TYPES[file_format])


@router.get("/templates/{entity}", response_class=FileResponse)
def import_template(entity: Entity, principal: PrincipalDep) -> FileResponse:
    """The XLSX import template: header, example row, drop-down lists and a help sheet."""
    folder = tempfile.mkdtemp(prefix="techmatch-template-")
    path = Path(folder) / "template.xlsx"
    try:
        write_template(entity, path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    filename = f"{TEMPLATE_NAMES[entity]}导入模板.xlsx"
    return _file_response(folder, path, filename, MEDIA_TYPES["xlsx"])
