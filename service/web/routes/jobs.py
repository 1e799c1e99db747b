"""A job's page: its progress bar, polled by HTMX every second until the job ends, then its
outcome. A job is seen by the user who started it (and admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from matching.errors import NotFound
from service.security import Principal
from service.web.jobs import Job, JobRunner
from service.web.routing import WebRoute
from service.web.session import PageUser
from service.web.templating import render

__all__ = ["router"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _job(request: Request, job_id: str, principal: Principal) -> Job:
    jobs: JobRunner = request.app.state.jobs
    job = jobs.get(job_id)
    if job is None or (job.owner != principal.user_id and not principal.is_admin):
        raise NotFound("找不到该任务（只保留最近的 200 个已结束任务）")
    return job


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, principal: PageUser) -> Response:
    return render(request, "jobs/page.html", {"job": _job(request, job_id, principal)})


@router.get("/jobs/{job_id}/progress")
def job_progress(request: Request, job_id: str, principal: PageUser) -> Response:
    return render(request, "jobs/_progress.html", {"job": _job(request, job_id, principal)})
