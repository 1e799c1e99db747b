"""``/api/v1/events``: matchmaking events (成果推介对接会), thin over ``matching.events`` and
its planning, output and outcome modules.

Organisers (and staff, admins) run everything. Enterprise and university users see the events
their organization takes part in, who else takes part (without contacts), their own agendas,
and post requests as their own participants.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from matching.event_outcomes import Outcome, outcome_summary, record_outcome
from matching.event_outputs import (
    agendas_pdf,
    agendas_xlsx,
    event_agendas,
    event_grid,
    grid_pdf,
    grid_xlsx,
)
from matching.event_planning import (
    AddedMeeting,
    Decisions,
    ProposalOptions,
    decide,
    propose_meetings,
    schedule_event,
    schedule_view,
)
from matching.event_views import event_view, meeting_views, participant_views
from matching.events import (
    EventSpec,
    ParticipantSpec,
    add_participant,
    add_request,
    create_event,
    get_event,
    get_meeting,
    get_participant,
    list_events,
    meetings_of,
    participants_of,
    set_availability,
)
from matching.meeting_proposals import Priority
from matching.vocab import Role
from service.deps import DatabaseDep
from service.problems import Problem
from service.security import Principal, require_roles

router = APIRouter(prefix="/api/v1/events", tags=["对接会"])

Organiser = Annotated[Principal, Depends(require_roles(Role.STAFF, Role.ORGANISER))]
Member = Annotated[
    Principal,
    Depends(require_roles(Role.STAFF, Role.ORGANISER, Role.ENTERPRISE, Role.UNIVERSITY)),
]
Format = Annotated[Literal["json", "xlsx", "pdf"], Query(description="json、xlsx 或 pdf")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {XLSX: {}, "application/pdf": {}},
        "description": "JSON，或 format=xlsx / pdf 时的文件",
    }
}


# --- schemas ----------------------------------------------------------------------------------


class EventCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    date: dt.date
    venue: str = Field("", max_length=200)
    description: str = ""
    start: str = Field("09:00", pattern=r"^\d{2}:\d{2}$", description="第一个时段的开始时间")
    slot_minutes: int = Field(20, ge=5, le=240, description="每个时段的分钟数")
    slots: int = Field(ge=1, le=96, description="时段数")
    tables: int = Field(ge=1, le=1000, description="洽谈桌数")
    max_meetings: int | None = Field(None, ge=0, description="每个参会方最多会谈数（默认不限）")


class EventPublic(BaseModel):
    id: int
    name: str
    description: str
    venue: str
    date: str
    start: str
    slot_minutes: int
    slots: int
    tables: int
    max_meetings: int | None
    status: str
    status_label: str
    slot_times: list[str]
    enterprises: int
    teams: int
    meetings: dict[str, int]
    placed: int
    schedule: dict[str, Any]
    created_by: str


class Ref(BaseModel):
    id: int
    ref: str
    title: str


class Named(BaseModel):
    id: int
    name: str


class ParticipantCreate(BaseModel):
    kind: Literal["enterprise", "team"] = Field(description="enterprise 企业，team 科研团队")
    needs: list[int | str] = Field(default_factory=list, description="企业所带需求的 ID 或编号")
    results: list[int | str] = Field(default_factory=list, description="团队所带成果的 ID 或编号")
    organization: int | None = None
    name: str = Field("", max_length=200)
    available: list[int] | None = Field(None, description="可会谈的时段号（从 1 起），默认全部")
    max_meetings: int | None = Field(None, ge=0)
    contact_name: str = Field("", max_length=64)
    contact_phone: str = Field("", max_length=32)


class ParticipantPublic(BaseModel):
    id: int
    kind: str
    kind_label: str
    name: str
    organization: Named
    needs: list[Ref]
    results: list[Ref]
    available: list[int] | None
    max_meetings: int | None
    effective_max_meetings: int | None
    contact_name: str
    contact_phone: str


class Availability(BaseModel):
    available: list[int] | None = Field(None, description="可会谈的时段号，null 为全部")
    max_meetings: int | None = Field(None, ge=0, description="null 为对接会的默认值")


class OutcomePublic(BaseModel):
    attendance: str
    follow_up: bool
    intention: str | None
    amount: float | None
    reason: str | None
    note: str
    at: str | None
    feedback_ids: list[int]


class MeetingPublic(BaseModel):
    id: int
    enterprise: Named
    team: Named
    need: Ref | None
    result: Ref | None
    source: str
    priority: str
    priority_label: str
    score: float
    enterprise_score: float
    team_score: float
    decision: str
    decision_label: str
    slot: int | None
    time: str | None
    table: int | None
    unplaced_code: str | None
    unplaced_reason: str
    outcome: OutcomePublic | None


class RequestCreate(BaseModel):
    requester: int = Field(description="提出申请的参会方 ID")
    target: int = Field(description="希望会谈的另一方参会方 ID")
    note: str = Field("", max_length=2000)


class RequestPublic(BaseModel):
    id: int
    requester: int
    target: int
    note: str
    meeting: MeetingPublic


class ProposalCreate(BaseModel):
    depth: int = Field(50, ge=1, le=500, description="每条匹配列表读取的条数")
    method: Literal["harmonic", "geometric", "min"] = "harmonic"
    min_score: float = Field(0.0, ge=0)
    per_participant: int | None = Field(5, ge=0, description="每个参会方最多推荐几场")


class ProposalPublic(BaseModel):
    candidates: int
    added: int
    updated: int
    removed: int
    scored_pairs: int
    meetings: list[MeetingPublic]


class MeetingAdd(BaseModel):
    enterprise: int
    team: int
    need: int | None = None
    result: int | None = None
    priority: Literal["mutual", "one_sided", "proposed"] = "proposed"
    score: float = Field(0.0, ge=0)


class DecisionsCreate(BaseModel):
    accept: list[int] = Field(default_factory=list, description="接受的会谈 ID")
    reject: list[int] = Field(default_factory=list, description="拒绝的会谈 ID")
    accept_all_proposals: bool = False
    add: list[MeetingAdd] = Field(default_factory=list)


class ScheduleCreate(BaseModel):
    time_limit_s: float = Field(10.0, gt=0, le=120, description="求解时限（秒）")


class SchedulePublic(BaseModel):
    event_id: int
    status: str
    summary: dict[str, Any]
    placed: list[MeetingPublic]
    unplaced: list[MeetingPublic]


class OutcomeCreate(BaseModel):
    attendance: Literal["held", "no_show"]
    follow_up: bool = False
    intention: Literal["none", "interested", "negotiating", "signed"] | None = None
    amount: float | None = Field(None, ge=0, description="合同金额（万元），签约时填写")
    reason: str | None = Field(None, description="无合作意向的原因（irrelevant、price 等）")
    note: str = Field("", max_length=2000)
    need: int | str | None = None
    result: int | str | None = None


class OutcomeRecorded(BaseModel):
    meeting: MeetingPublic
    feedback_ids: list[int]


class OutcomeSummary(BaseModel):
    scheduled: int
    recorded: int
    held: int
    no_show: int
    follow_up: int
    intentions: dict[str, int]
    signed: int
    amount: float


# --- helpers ----------------------------------------------------------------------------------


def _is_organiser(principal: Principal) -> bool:
    return principal.has(Role.STAFF, Role.ORGANISER)


def _own(session: Session, event_id: int, principal: Principal) -> set[int] | None:
    """The participant ids the caller may act for: None for organisers (all of them); 403 for
    a user whose organization does not take part."""
    get_event(session, event_id)
    if _is_organiser(principal):
        return None
    own = {p.id for p in participants_of(session, event_id, principal.organization_id or -1)}
    if not own:
        raise Problem(403, "无权访问", "贵单位未参加此对接会")
    return own


def _file(data: bytes, media_type: str, filename: str) -> Response:
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})


def _meeting(session: Session, event_id: int, meeting_id: int) -> dict[str, Any]:
    event = get_event(session, event_id)
    return meeting_views(session, event, [get_meeting(session, event_id, meeting_id)])[0]


# --- events and participants ------------------------------------------------------------------


@router.post("", status_code=201, response_model=EventPublic, summary="新建对接会")
def create(body: EventCreate, database: DatabaseDep, principal: Organiser) -> Any:
    with database.session(principal.actor) as session:
        event = create_event(session, EventSpec(**body.model_dump()))
        return event_view(session, event)


@router.get("", response_model=list[EventPublic], summary="对接会列表")
def index(database: DatabaseDep, principal: Member) -> Any:
    """Organisers see every event; enterprise and university users those they take part in."""
    organization = None if _is_organiser(principal) else (principal.organization_id or -1)
    with database.session(principal.actor) as session:
        return [event_view(session, e) for e in list_events(session, organization)]


@router.get("/{event_id}", response_model=EventPublic, summary="对接会详情")
def show(event_id: int, database: DatabaseDep, principal: Member) -> Any:
    with database.session(principal.actor) as session:
        _own(session, event_id, principal)
        return event_view(session, get_event(session, event_id))


@router.post(
    "/{event_id}/participants",
    status_code=201,
    response_model=ParticipantPublic,
    summary="添加参会方（企业带需求，科研团队带成果）",
)
def add(event_id: int, body: ParticipantCreate, database: DatabaseDep, principal: Organiser) -> Any:
    with database.session(principal.actor) as session:
        participant = add_participant(session, event_id, ParticipantSpec(**body.model_dump()))
        return participant_views(session, get_event(session, event_id), [participant])[0]


@router.get(
    "/{event_id}/participants", response_model=list[ParticipantPublic], summary="参会方名单"
)
def participants(event_id: int, database: DatabaseDep, principal: Member) -> Any:
    """Enterprise and university users see the list without contacts (to choose whom to
    request)."""
    with database.session(principal.actor) as session:
        own = _own(session, event_id, principal)
        event = get_event(session, event_id)
        viewer = None if own is None else principal.organization_id
        return participant_views(session, event, participants_of(session, event_id), viewer)


@router.put(
    "/{event_id}/participants/{participant_id}/availability",
    response_model=ParticipantPublic,
    summary="设置参会方的空闲时段和最多会谈数",
)
def availability(
    event_id: int,
    participant_id: int,
    body: Availability,
    database: DatabaseDep,
    principal: Organiser,
) -> Any:
    with database.session(principal.actor) as session:
        participant = set_availability(
            session, event_id, participant_id, body.available, body.max_meetings
        )
        return participant_views(session, get_event(session, event_id), [participant])[0]


# --- requests, proposals, decisions, schedule -------------------------------------------------


@router.post(
    "/{event_id}/requests",
    status_code=201,
    response_model=RequestPublic,
    summary="申请会谈（A 希望与 B 会谈）",
)
def request_meeting(
    event_id: int, body: RequestCreate, database: DatabaseDep, principal: Member
) -> Any:
    """Enterprise and university users request only as their own organization's participant."""
    with database.session(principal.actor) as session:
        own = _own(session, event_id, principal)
        if own is not None and body.requester not in own:
            raise Problem(403, "无权访问", "只能以本单位的参会方身份申请会谈")
        request, meeting = add_request(session, event_id, body.requester, body.target, body.note)
        return {
            "id": request.id,
            "requester": request.requester_id,
            "target": request.target_id,
            "note": request.note,
            "meeting": _meeting(session, event_id, meeting.id),
        }


@router.post(
    "/{event_id}/proposals", response_model=ProposalPublic, summary="由匹配引擎生成会谈推荐"
)
def proposals(
    event_id: int,
    body: ProposalCreate,
    request: Request,
    database: DatabaseDep,
    principal: Organiser,
) -> Any:
    engine = request.app.state.engine
    if engine is None:
        raise Problem(
            503, "匹配引擎未启用", "服务未加载匹配引擎，无法生成推荐；请求和人工添加仍可用"
        )
    options = ProposalOptions(**body.model_dump())
    report = propose_meetings(database, engine, event_id, options, principal.actor)
    with database.session(principal.actor) as session:
        event = get_event(session, event_id)
        views = meeting_views(session, event, meetings_of(session, event_id))
    return report.to_dict() | {"meetings": views}


@router.get("/{event_id}/meetings", response_model=list[MeetingPublic], summary="候选会谈")
def meetings(
    event_id: int,
    database: DatabaseDep,
    principal: Organiser,
    decision: Literal["pending", "accepted", "rejected"] | None = None,
) -> Any:
    with database.session(principal.actor) as session:
        event = get_event(session, event_id)
        return meeting_views(session, event, meetings_of(session, event_id, decision))


@router.post(
    "/{event_id}/decisions",
    response_model=list[MeetingPublic],
    summary="组织者接受、拒绝或添加会谈",
)
def decisions(
    event_id: int, body: DecisionsCreate, database: DatabaseDep, principal: Organiser
) -> Any:
    added = [
        AddedMeeting(**(item.model_dump() | {"priority": Priority(item.priority)}))
        for item in body.add
    ]
    choice = Decisions(
        accept=body.accept,
        reject=body.reject,
        accept_all_proposals=body.accept_all_proposals,
        add=added,
    )
    with database.session(principal.actor) as session:
        changed = decide(session, event_id, choice)
        return meeting_views(session, get_event(session, event_id), changed)


@router.post("/{event_id}/schedule", response_model=SchedulePublic, summary="排期")
def schedule(
    event_id: int, body: ScheduleCreate, database: DatabaseDep, principal: Organiser
) -> Any:
    """Places the accepted meetings; reports every one left out with its reason."""
    with database.session(principal.actor) as session:
        schedule_event(session, event_id, time_limit_s=body.time_limit_s)
        return schedule_view(session, event_id)


@router.get("/{event_id}/schedule", response_model=SchedulePublic, summary="当前排期")
def current_schedule(event_id: int, database: DatabaseDep, principal: Organiser) -> Any:
    with database.session(principal.actor) as session:
        return schedule_view(session, event_id)


# --- outputs ----------------------------------------------------------------------------------


@router.get("/{event_id}/grid", responses=FILES, summary="洽谈总表（时段 × 桌号）")
def grid(
    event_id: int, database: DatabaseDep, principal: Organiser, format: Format = "json"
) -> Any:
    with database.session(principal.actor) as session:
        table = event_grid(session, event_id)
        if format == "json":
            return table.to_dict()
        if format == "xlsx":
            return _file(grid_xlsx(table, event_agendas(session, event_id)), XLSX, "洽谈总表.xlsx")
        return _file(grid_pdf(table), "application/pdf", "洽谈总表.pdf")


def _agendas(
    session: Session,
    event_id: int,
    wanted: set[int] | None,
    principal: Principal,
    format: str,
    filename: str,
) -> Any:
    viewer = None if _is_organiser(principal) else principal.organization_id
    agendas = event_agendas(session, event_id, wanted, viewer)
    if format == "json":
        return [agenda.to_dict() for agenda in agendas]
    if format == "xlsx":
        return _file(agendas_xlsx(agendas), XLSX, f"{filename}.xlsx")
    header = event_grid(session, event_id).event
    return _file(agendas_pdf(header, agendas), "application/pdf", f"{filename}.pdf")


@router.get(
    "/{event_id}/agendas", responses=FILES, summary="参会方日程（企业、高校用户只见本单位）"
)
def agendas(
    event_id: int, database: DatabaseDep, principal: Member, format: Format = "json"
) -> Any:
    with database.session(principal.actor) as session:
        own = _own(session, event_id, principal)
        return _agendas(session, event_id, own, principal, format, "会谈日程")


@router.get("/{event_id}/agendas/{participant_id}", responses=FILES, summary="一个参会方的日程")
def agenda(
    event_id: int,
    participant_id: int,
    database: DatabaseDep,
    principal: Member,
    format: Format = "json",
) -> Any:
    with database.session(principal.actor) as session:
        own = _own(session, event_id, principal)
        participant = get_participant(session, event_id, participant_id)
        if own is not None and participant.id not in own:
            raise Problem(403, "无权访问", "只能查看本单位的日程")
        name = f"会谈日程-{participant.name}"
        found = _agendas(session, event_id, {participant.id}, principal, format, name)
        return found[0] if format == "json" else found


# --- outcomes ---------------------------------------------------------------------------------


@router.put(
    "/{event_id}/meetings/{meeting_id}/outcome",
    response_model=OutcomeRecorded,
    summary="登记会谈结果（写入匹配反馈）",
)
def outcome(
    event_id: int,
    meeting_id: int,
    body: OutcomeCreate,
    database: DatabaseDep,
    principal: Organiser,
) -> Any:
    with database.session(principal.actor) as session:
        _, feedback = record_outcome(session, event_id, meeting_id, Outcome(**body.model_dump()))
        return {
            "meeting": _meeting(session, event_id, meeting_id),
            "feedback_ids": [f.id for f in feedback],
        }


@router.get("/{event_id}/outcomes", response_model=OutcomeSummary, summary="对接会成效汇总")
def outcomes(event_id: int, database: DatabaseDep, principal: Organiser) -> Any:
    with database.session(principal.actor) as session:
        return outcome_summary(session, event_id)
