"""The import page (staff): upload a file, read the dry run's report row by row, confirm, and
watch the import run as a job; and the XLSX templates to fill in.

The uploaded file waits in memory between the check and the confirmation (one per user, for an
hour); the confirmation imports exactly the bytes that were checked.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import delete, select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from matching.config import Settings
from matching.import_report import ENTITY_LABELS, ImportReport
from matching.importing import Progress, import_file
from matching.records import ENTITY_MODELS
from matching.store.database import Database
from matching.store.models import PendingUpload, utc_now
from matching.templates import TEMPLATE_NAMES, write_template
from matching.vocab import Role
from service.deps import DatabaseDep, SettingsDep
from service.problems import Problem
from service.routes.transfer import IMPORT_SUFFIXES, MEDIA_TYPES
from service.security import Principal
from service.web.jobs import JobFailed, JobRunner, Outcome, Reporter
from service.web.routing import WebRoute
from service.web.session import CsrfChecked, PageUser, page_roles, verify_csrf
from service.web.templating import render
from service.web.upload_form import receive_upload_form

__all__ = ["PendingImports", "router", "row_progress"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Staff = Annotated[Principal, Depends(page_roles(Role.STAFF))]
Entity = Literal["needs", "results", "experts"]
PENDING_SECONDS = 3600
MAX_LINES = 500  # problems listed on a page


@dataclass(frozen=True)
class PendingImport:
    """A checked upload waiting for its confirmation."""

    owner: int
    entity: str
    name: str
    suffix: str
    data: bytes
    options: dict[str, bool]


class PendingImports:
    """Checked uploads by token, one per user, forgotten after an hour; kept in the store
    (``pending_uploads``), so that the confirmation may reach any service process and survives
    a restart."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def put(self, pending: PendingImport) -> str:
        token = secrets.token_urlsafe(16)
        stale = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=PENDING_SECONDS)
        with self._database.session("imports") as session:
            session.execute(
                delete(PendingUpload).where(
                    (PendingUpload.owner == pending.owner) | (PendingUpload.created_at < stale)
                )
            )
            session.add(
                PendingUpload(
                    token=token,
                    owner=pending.owner,
                    entity=pending.entity,
                    name=pending.name,
                    suffix=pending.suffix,
                    data=pending.data,
                    options=dict(pending.options),
                )
            )
        return token

    def take(self, token: str, owner: int) -> PendingImport | None:
        """The upload (removed from the store) if ``owner`` checked it and it is not stale."""
        with self._database.session("imports") as session:
            row = session.get(PendingUpload, token)
            if row is None or row.owner != owner:
                return None
            session.delete(row)
            age = dt.datetime.now(dt.UTC) - row.created_at
            if age.total_seconds() >= PENDING_SECONDS:
                return None
            return PendingImport(
                row.owner, row.entity, row.name, row.suffix, row.data, dict(row.options)
            )


def _entities() -> dict[str, str]:
    return {entity: TEMPLATE_NAMES[entity] for entity in ("needs", "results", "experts")}


def _run(
    database: Database,
    settings: Settings,
    pending: PendingImport,
    dry_run: bool,
    actor: str,
    progress: Progress | None = None,
) -> ImportReport:
    with tempfile.TemporaryDirectory(prefix="techmatch-import-") as folder:
        path = Path(folder) / f"upload{pending.suffix}"
        path.write_bytes(pending.data)
        report = import_file(
            database,
            pending.entity,
            path,
            dry_run=dry_run,
            actor=actor,
            settings=settings,
            progress=progress,
            **pending.options,
        )
    report.file = pending.name
    return report


@router.get("/import")
def import_page(request: Request, principal: Staff) -> Response:
    return render(request, "import/form.html", {"entities": _entities()})


@router.post("/import")
async def check_import(
    request: Request, principal: Staff, database: DatabaseDep, settings: SettingsDep
) -> Response:
    form = await receive_upload_form(request, settings.max_upload_mb)
    verify_csrf(request, form.fields.get("csrf_token"))
    entity = form.fields.get("entity", "")
    if entity not in _entities():
        raise Problem(422, detail="请选择导入的数据类型：需求、成果或专家")
    if form.upload is None:
        raise Problem(422, detail="请选择要上传的文件")
    if form.upload.suffix not in IMPORT_SUFFIXES:
        allowed = "、".join(IMPORT_SUFFIXES)
        raise Problem(
            415, detail=f"不支持的文件类型「{form.upload.suffix or '无扩展名'}」：可上传 {allowed}"
        )
    options = {
        "skip_invalid": form.fields.get("skip_invalid") == "on",
        "allow_duplicates": form.fields.get("allow_duplicates") == "on",
    }
    pending = PendingImport(
        principal.user_id,
        entity,
        form.upload.display_name,
        form.upload.suffix,
        form.upload.data,
        options,
    )
    report = await run_in_threadpool(_run, database, settings, pending, True, principal.actor)
    imports: PendingImports = request.app.state.pending_imports
    token = imports.put(pending) if report.written else None
    context = {
        "report": report,
        "entity_label": ENTITY_LABELS[entity],
        "token": token,
        "options": options,
        "errors": report.errors[:MAX_LINES],
        "warnings": report.warnings[:MAX_LINES],
    }
    return render(request, "import/report.html", context)


def _changed_since(database: Database, entity: str, since: dt.datetime) -> list[int]:
    model: Any = ENTITY_MODELS[entity]
    with database.session() as session:
        return list(session.scalars(select(model.id).where(model.updated_at >= since)))


def row_progress(report: Reporter) -> Progress:
    """The importer's ``progress(done, total)`` (rows checked, then rows written: ``total`` is
    twice the rows) as 5-65 % of the job's bar, with the row counts in its message."""

    def rows(done: int, total: int) -> None:
        in_file = total // 2
        checking = done <= in_file and done < total
        shown = done if checking else done - in_file
        step = "检查" if checking else "写入"
        report(5 + 60 * done // max(total, 1), f"正在{step}数据：{shown}/{in_file} 行")

    return rows


def _import_job(request: Request, pending: PendingImport, actor: str) -> Any:
    database: Database = request.app.state.database
    settings: Settings = request.app.state.settings
    engine = request.app.state.engine

    def work(report: Reporter) -> Outcome:
        report(5, "正在检查并写入数据")
        started = utc_now()
        result = _run(database, settings, pending, False, actor, row_progress(report))
        if not result.written:
            raise JobFailed(result.summary().splitlines()[1] if result.errors else "未写入数据")
        if engine is not None:
            report(70, "正在更新匹配索引")
            changed = _changed_since(database, pending.entity, started)
            if changed:
                engine.refresh(pending.entity, changed)
        lines = [f"错误：{p}" for p in result.errors] + [f"提示：{p}" for p in result.warnings]
        link = f"/{pending.entity}" if pending.entity != "experts" else None
        return Outcome(
            summary=result.summary().splitlines()[1],
            lines=tuple(lines[:MAX_LINES]),
            link=link,
            link_label=f"查看{ENTITY_LABELS[pending.entity]}库",
        )

    return work


@router.post("/import/confirm", dependencies=[CsrfChecked])
def confirm_import(
    request: Request, principal: Staff, token: Annotated[str, Form(max_length=64)]
) -> Response:
    imports: PendingImports = request.app.state.pending_imports
    pending = imports.take(token, principal.user_id)
    if pending is None:
        raise Problem(409, "无法导入", "待确认的文件已过期或已导入，请重新上传")
    jobs: JobRunner = request.app.state.jobs
    title = f"导入{ENTITY_LABELS[pending.entity]}：{pending.name}"
    job = jobs.submit(
        "import", title, principal.user_id, _import_job(request, pending, principal.actor)
    )
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/import/templates/{entity}")
def download_template(entity: Entity, principal: PageUser) -> FileResponse:
    """The XLSX import template (any logged-in user, as the API)."""
    folder = tempfile.mkdtemp(prefix="techmatch-template-")
    path = Path(folder) / "template.xlsx"
    try:
        write_template(entity, path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=MEDIA_TYPES["xlsx"],
        filename=f"{TEMPLATE_NAMES[entity]}导入模板.xlsx",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
