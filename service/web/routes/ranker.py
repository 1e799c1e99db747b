"""The ranking model page (admin): the active version and its held-out comparison, the
versions, and training from the recorded feedback as a job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from matching.ranker_registry import RankerError
from service.problems import Problem
from service.security import Principal
from service.web.jobs import JobBusy, JobFailed, JobRunner, Outcome, Reporter
from service.web.routing import WebRoute
from service.web.session import CsrfChecked, page_roles
from service.web.templating import render

__all__ = ["router"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Admin = Annotated[Principal, Depends(page_roles())]

# The library's progress lines, as the page shows them, with how far each step gets.
_STEPS = (
    ("collecting feedback", 20, "正在收集反馈样本并计算特征"),
    ("embedding", 40, "正在计算向量"),
    ("training", 70, "正在训练并在留出查询上与当前排序比较"),
)


def _engine(request: Request) -> Any:
    engine = request.app.state.engine
    if engine is None:
        raise Problem(503, "匹配引擎未就绪", "服务未加载匹配引擎，无法查看或训练排序模型")
    return engine


def _training(engine: Any) -> Any:
    from matching.ranker_sources import train_from_sources

    def work(report: Reporter) -> Outcome:
        def progress(line: str) -> None:
            for prefix, percent, message in _STEPS:
                if line.startswith(prefix):
                    report(percent, message)
                    return

        report(5, "开始训练")
        try:
            result = train_from_sources(engine, True, (), progress)
        except RankerError as error:
            raise JobFailed(str(error)) from None
        return Outcome(
            summary=f"版本 {result.version}：{result.reason}",
            lines=tuple(f"{key}：{value}" for key, value in result.holdout.items()),
            link="/ranker",
            link_label="返回排序模型",
        )

    return work


@router.get("/ranker")
def ranker_page(request: Request, principal: Admin) -> Response:
    status: dict[str, Any] = _engine(request).rankers.status()
    return render(request, "ranker.html", {"status": status})


@router.post("/ranker/train", dependencies=[CsrfChecked])
def train(request: Request, principal: Admin) -> Response:
    engine = _engine(request)
    jobs: JobRunner = request.app.state.jobs
    try:
        job = jobs.submit(
            "ranker", "训练排序模型", principal.user_id, _training(engine), exclusive=True
        )
    except JobBusy as error:
        raise Problem(409, "无法开始训练", str(error)) from None
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
