"""The matchmaking-event pages (对接会) for organisers, staff and admins: the events, an event's
candidate meetings to accept or reject (HTMX, in place), proposals from the engine and the
schedule (jobs), the grid (slots × tables), each participant's agenda, a print view and the
XLSX/PDF outputs (``matching.event_outputs``). The rules are the JSON routes'
(``service/routes/events.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from matching.event_outputs import agendas_pdf, agendas_xlsx, event_agendas, event_grid, grid_pdf
from matching.event_outputs import grid_xlsx as make_grid_xlsx
from matching.event_planning import (
    Decisions,
    ProposalOptions,
    decide,
    propose_meetings,
    schedule_view,
)
from matching.event_planning import schedule_event as solve_schedule
from matching.event_views import event_view, meeting_views, participant_views
from matching.events import get_event, get_meeting, list_events, meetings_of, participants_of
from matching.vocab import Role
from service.committee_access import MAX_ID, XLSX
from service.deps import DatabaseDep
from service.problems import Problem
from service.security import Principal
from service.web.jobs import JobRunner, Outcome, Reporter
from service.web.navigation import NavItem, add_nav_item
from service.web.routing import WebRoute
from service.web.session import CsrfChecked, page_roles
from service.web.templating import render

__all__ = ["router"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Organiser = Annotated[Principal, Depends(page_roles(Role.STAFF, Role.ORGANISER))]

add_nav_item(NavItem("对接会", "/events", (Role.STAFF, Role.ORGANISER), order=40))

SCHEDULE_SECONDS = 10.0
DECISIONS = {"pending": "待确认", "accepted": "已接受", "rejected": "已拒绝"}
SOURCES = {"request": "参会方申请", "proposal": "系统推荐", "organiser": "组织者添加"}


def _check_id(*ids: int) -> None:
    if any(not 1 <= value <= MAX_ID for value in ids):
        raise Problem(404, "未找到", "没有这场对接会或这次会谈")


def _file(data: bytes, media_type: str, filename: str) -> Response:
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})


@router.get("/events")
def events_page(request: Request, principal: Organiser, database: DatabaseDep) -> Response:
    with database.session(principal.actor) as session:
        events = [event_view(session, event) for event in list_events(session)]
    return render(request, "events/list.html", {"events": events})


@router.get("/events/{event_id}")
def event_page(
    request: Request, event_id: int, principal: Organiser, database: DatabaseDep
) -> Response:
    """The event, its participants and candidate meetings (to accept or reject), and the
    buttons for proposals and the schedule."""
    _check_id(event_id)
    with database.session(principal.actor) as session:
        event = get_event(session, event_id)
        view = event_view(session, event)
        people = participant_views(session, event, participants_of(session, event_id))
        meetings = meeting_views(session, event, meetings_of(session, event_id))
    context = {
        "event": view,
        "participants": people,
        "meetings": meetings,
        "sources": SOURCES,
        "has_engine": request.app.state.engine is not None,
        "pending": sum(m["decision"] == "pending" for m in meetings),
    }
    return render(request, "events/event.html", context)


@router.post("/events/{event_id}/meetings/{meeting_id}/decision", dependencies=[CsrfChecked])
def decide_meeting(
    request: Request,
    event_id: int,
    meeting_id: int,
    principal: Organiser,
    database: DatabaseDep,
    decision: Annotated[Literal["accept", "reject"], Form()],
) -> Response:
    """接受 or 拒绝 one candidate; HTMX gets the meeting's row back, a plain form the page."""
    _check_id(event_id, meeting_id)
    choice = (
        Decisions(accept=[meeting_id]) if decision == "accept" else Decisions(reject=[meeting_id])
    )
    with database.session(principal.actor) as session:
        get_meeting(session, event_id, meeting_id)
        decide(session, event_id, choice)
        event = get_event(session, event_id)
        meeting = meeting_views(session, event, [get_meeting(session, event_id, meeting_id)])[0]
    if request.headers.get("HX-Request") == "true":
        context = {"m": meeting, "event": {"id": event_id}, "sources": SOURCES, "announce": True}
        return render(request, "events/_meeting.html", context)
    return RedirectResponse(f"/events/{event_id}#meetings", status_code=303)


@router.post("/events/{event_id}/accept-all", dependencies=[CsrfChecked])
def accept_all(event_id: int, principal: Organiser, database: DatabaseDep) -> Response:
    _check_id(event_id)
    with database.session(principal.actor) as session:
        decide(session, event_id, Decisions(accept_all_proposals=True))
    return RedirectResponse(f"/events/{event_id}#meetings", status_code=303)


def _jobs(request: Request) -> JobRunner:
    jobs: JobRunner = request.app.state.jobs
    return jobs


@router.post("/events/{event_id}/proposals", dependencies=[CsrfChecked])
def proposals(
    request: Request, event_id: int, principal: Organiser, database: DatabaseDep
) -> Response:
    """Proposals from the matching engine, as a job."""
    _check_id(event_id)
    engine = request.app.state.engine
    if engine is None:
        raise Problem(
            503, "匹配引擎未启用", "服务未加载匹配引擎，无法生成推荐；请求和人工添加仍可用"
        )
    with database.session(principal.actor) as session:
        name = get_event(session, event_id).name

    def work(report: Reporter) -> Outcome:
        report(10, "正在为参会方检索匹配结果")
        result = propose_meetings(database, engine, event_id, ProposalOptions(), principal.actor)
        summary = (
            f"推荐会谈 {result.candidates} 场：新增 {result.added}，"
            f"更新 {result.updated}，移除 {result.removed}"
        )
        return Outcome(summary, link=f"/events/{event_id}#meetings", link_label="返回对接会")

    job = _jobs(request).submit("event-proposals", f"生成会谈推荐：{name}", principal.user_id, work)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/events/{event_id}/schedule", dependencies=[CsrfChecked])
def schedule(
    request: Request, event_id: int, principal: Organiser, database: DatabaseDep
) -> Response:
    """Place the accepted meetings (a job); the outcome links to the grid."""
    _check_id(event_id)
    with database.session(principal.actor) as session:
        name = get_event(session, event_id).name

    def work(report: Reporter) -> Outcome:
        report(10, "正在排期（求解时段与桌号）")
        with database.session(principal.actor) as session:
            result = solve_schedule(session, event_id, time_limit_s=SCHEDULE_SECONDS)
            placed, unplaced = len(result.meetings), len(result.unplaced)
            reasons = tuple(f"未排入：{u['reason']}" for u in result.unplaced[:20])
        summary = f"已排入 {placed} 场会谈，未排入 {unplaced} 场"
        link = f"/events/{event_id}/schedule"
        return Outcome(summary, reasons, link=link, link_label="查看洽谈总表")

    job = _jobs(request).submit(
        "event-schedule", f"排期：{name}", principal.user_id, work, exclusive=True
    )
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _schedule_context(session: Any, event_id: int) -> dict[str, Any]:
    event = get_event(session, event_id)
    grid = event_grid(session, event_id)
    rows = [
        (slot, time, [grid.cells.get((slot, table)) for table in range(1, grid.tables + 1)])
        for slot, time in enumerate(grid.times, start=1)
    ]
    return {
        "event": event_view(session, event),
        "grid": grid,
        "rows": rows,
        "agendas": event_agendas(session, event_id),
        "schedule": schedule_view(session, event_id),
    }


@router.get("/events/{event_id}/schedule")
def schedule_page(
    request: Request, event_id: int, principal: Organiser, database: DatabaseDep
) -> Response:
    """The grid (slots × tables), the meetings left out with their reasons, every agenda."""
    _check_id(event_id)
    with database.session(principal.actor) as session:
        context = _schedule_context(session, event_id)
    return render(request, "events/schedule.html", context)


@router.get("/events/{event_id}/print")
def print_page(
    request: Request, event_id: int, principal: Organiser, database: DatabaseDep
) -> Response:
    """The grid and agendas for printing (no navigation; an agenda per page)."""
    _check_id(event_id)
    with database.session(principal.actor) as session:
        context = _schedule_context(session, event_id)
    return render(request, "events/print.html", context)


@router.get("/events/{event_id}/grid.xlsx")
def grid_xlsx(event_id: int, principal: Organiser, database: DatabaseDep) -> Response:
    _check_id(event_id)
    with database.session(principal.actor) as session:
        data = make_grid_xlsx(event_grid(session, event_id), event_agendas(session, event_id))
    return _file(data, XLSX, "洽谈总表.xlsx")


@router.get("/events/{event_id}/grid.pdf")
def grid_pdf_file(event_id: int, principal: Organiser, database: DatabaseDep) -> Response:
    _check_id(event_id)
    with database.session(principal.actor) as session:
        data = grid_pdf(event_grid(session, event_id))
    return _file(data, "application/pdf", "洽谈总表.pdf")


@router.get("/events/{event_id}/agendas.xlsx")
def agendas_xlsx_file(event_id: int, principal: Organiser, database: DatabaseDep) -> Response:
    _check_id(event_id)
    with database.session(principal.actor) as session:
        data = agendas_xlsx(event_agendas(session, event_id))
    return _file(data, XLSX, "会谈日程.xlsx")


@router.get("/events/{event_id}/agendas.pdf")
def agendas_pdf_file(event_id: int, principal: Organiser, database: DatabaseDep) -> Response:
    _check_id(event_id)
    with database.session(principal.actor) as session:
        header = event_grid(session, event_id).event
        data = agendas_pdf(header, event_agendas(session, event_id))
    return _file(data, "application/pdf", "会谈日程.pdf")
