"""Tables of the domain store (SQLAlchemy 2 declarative). The SQL store is the source of truth."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "ApiKey",
    "BackgroundJob",
    "Base",
    "ChangeRecord",
    "EvaluationRound",
    "Event",
    "EventMeeting",
    "EventParticipant",
    "EventRequest",
    "Expert",
    "Feedback",
    "Need",
    "Organization",
    "PendingUpload",
    "Result",
    "ReviewAssignment",
    "ReviewForm",
    "RoundExpert",
    "RoundItem",
    "RoundOverride",
    "User",
    "utc_now",
]


class AwareDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that always comes back aware (UTC). SQLite keeps no zone, so its values are
    read as the UTC they were written in; PostgreSQL's timestamptz needs nothing."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


def utc_now() -> dt.datetime:
    """Aware UTC time, the only clock the store uses."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[dict[str, str]]: JSON,
    }


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(AwareDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(
        AwareDateTime(), default=utc_now, onupdate=utc_now
    )


class Placed:
    province: Mapped[str] = mapped_column(String(32), default="")
    city: Mapped[str] = mapped_column(String(64), default="")
    district: Mapped[str] = mapped_column(String(64), default="")


class Organization(Timestamped, Placed, Base):
    """An enterprise, university, research institute or other body."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), default="")
    group_name: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    contact_email: Mapped[str] = mapped_column(String(128), default="")


class Need(Timestamped, Placed, Base):
    """An enterprise technical need (企业技术需求). Money in 万元."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    need_type: Mapped[str] = mapped_column(String(16), default="research")
    fields: Mapped[list[str]] = mapped_column(default=list)
    keywords: Mapped[list[str]] = mapped_column(default=list)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    budget_min: Mapped[float | None] = mapped_column(Float, default=None)
    budget_max: Mapped[float | None] = mapped_column(Float, default=None)
    cooperation_modes: Mapped[list[str]] = mapped_column(default=list)
    target_indicators: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[dt.date | None] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(24), default="submitted", index=True)
    source: Mapped[str] = mapped_column(String(200), default="")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"), default=None)

    enterprise: Mapped[Organization] = relationship(lazy="joined")
    duplicate_of: Mapped[Need | None] = relationship(remote_side=[id])


class Result(Timestamped, Placed, Base):
    """A research result (科技成果). Money in 万元; ``trl`` is the readiness level 1-9."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    abstract: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[str]] = mapped_column(default=list)
    keywords: Mapped[list[str]] = mapped_column(default=list)
    institution_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    team_lead: Mapped[str] = mapped_column(String(64), default="")
    team_members: Mapped[list[str]] = mapped_column(default=list)
    maturity: Mapped[str | None] = mapped_column(String(16), default=None)
    trl: Mapped[int | None] = mapped_column(Integer, default=None)
    ip: Mapped[list[dict[str, str]]] = mapped_column(default=list)
    cooperation_modes: Mapped[list[str]] = mapped_column(default=list)
    price_min: Mapped[float | None] = mapped_column(Float, default=None)
    price_max: Mapped[float | None] = mapped_column(Float, default=None)
    status: Mapped[str] = mapped_column(String(24), default="published", index=True)
    source: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")

    institution: Mapped[Organization] = relationship(lazy="joined")


class Expert(Timestamped, Placed, Base):
    """A reviewer or adviser. ``conflict_organizations`` are names of bodies to avoid."""

    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), index=True, default=None
    )
    title: Mapped[str] = mapped_column(String(64), default="")
    fields: Mapped[list[str]] = mapped_column(default=list)
    keywords: Mapped[list[str]] = mapped_column(default=list)
    profile: Mapped[str] = mapped_column(Text, default="")
    conflict_organizations: Mapped[list[str]] = mapped_column(default=list)
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    contact_email: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")

    organization: Mapped[Organization | None] = relationship(lazy="joined")


class ChangeRecord(Base):
    """One change to a tracked entity: who, when, what, with the values before and after."""

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[dt.datetime] = mapped_column(AwareDateTime(), default=utc_now, index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Feedback(Base):
    """What happened to one proposed pair: shown, opened, contacted, meeting held, negotiating,
    signed (``amount`` in 万元) or rejected (with ``reason``). Append-only; the ranking model
    learns from it. The pair is a need with a result or with an expert; ``ranker`` is the ranking
    model version that made the list, ``rank`` the pair's position in it."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_pair", "need_id", "result_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"), default=None)
    expert_id: Mapped[int | None] = mapped_column(
        ForeignKey("experts.id"), index=True, default=None
    )
    direction: Mapped[str] = mapped_column(String(24), default="need→results")
    action: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(String(16), default=None)
    amount: Mapped[float | None] = mapped_column(Float, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    ranker: Mapped[str] = mapped_column(String(64), default="")
    rank: Mapped[int | None] = mapped_column(Integer, default=None)
    actor: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[dt.datetime] = mapped_column(AwareDateTime(), default=utc_now, index=True)


class User(Timestamped, Base):
    """An account. ``role`` is one of ``matching.vocab.Role``; an enterprise or university user
    belongs to ``organization_id``, a committee expert is ``expert_id``. Only the argon2 hash of
    the password is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(24), index=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), index=True, default=None
    )
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id"), default=None)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(AwareDateTime(), default=None)


class ApiKey(Base):
    """A key for a machine client, acting as ``user_id``. The key is shown once; only its
    ``prefix`` (for lookup) and the argon2 hash of the whole key are stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(AwareDateTime(), default=utc_now)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(AwareDateTime(), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(AwareDateTime(), default=None)


class EvaluationRound(Timestamped, Base):
    """An evaluation round (评比批次): items scored by a pool of experts on one form ``template``
    (the JSON of ``matching.evaluation_form``). ``status`` is draft, open or closed; ``options``
    holds the aggregation policy (veto quorum, normalisation, tiers)."""

    __tablename__ = "evaluation_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reviewers_per_item: Mapped[int] = mapped_column(Integer, default=5)
    max_load: Mapped[int] = mapped_column(Integer, default=10)
    min_load: Mapped[int] = mapped_column(Integer, default=0)
    deadline: Mapped[dt.date | None] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(128), default="")


class RoundItem(Timestamped, Base):
    """A need or a result to be scored in a round. ``co_applicants`` names the people or bodies
    that applied with it (an expert among them is in conflict)."""

    __tablename__ = "round_items"
    __table_args__ = (
        Index("ux_round_items_need", "round_id", "need_id", unique=True),
        Index("ux_round_items_result", "round_id", "result_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"), default=None)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"), default=None)
    co_applicants: Mapped[list[str]] = mapped_column(default=list)

    need: Mapped[Need | None] = relationship(lazy="joined")
    result: Mapped[Result | None] = relationship(lazy="joined")


class RoundExpert(Timestamped, Base):
    """An expert in a round's pool; ``max_load`` overrides the round's; ``status`` is active or
    withdrawn."""

    __tablename__ = "round_experts"
    __table_args__ = (Index("ux_round_experts", "round_id", "expert_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    max_load: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(AwareDateTime(), default=None)
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")

    expert: Mapped[Expert] = relationship(lazy="joined")


class RoundOverride(Timestamped, Base):
    """A manual decision on one pair: ``kind`` force (must review) or forbid (must not)."""

    __tablename__ = "round_overrides"
    __table_args__ = (Index("ux_round_overrides", "item_id", "expert_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("round_items.id"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    kind: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text, default="")


class ReviewAssignment(Timestamped, Base):
    """An expert asked to review an item. ``affinity`` is the matching score (0-1); ``source``
    is solver, forced or reassigned; ``active`` is false once the expert has withdrawn."""

    __tablename__ = "review_assignments"
    __table_args__ = (Index("ux_review_assignments", "item_id", "expert_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("round_items.id"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    affinity: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(16), default="solver")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ReviewForm(Timestamped, Base):
    """One expert's form for one item: ``answers`` is the ``FormResponse`` as JSON; ``status``
    is draft or submitted (then locked); ``total`` is the weighted total (0-100 points) once
    submitted (None for a declared conflict); ``source`` is web or paper. An admin's reopening
    counts in ``reopen_count`` with its ``reopen_reason``."""

    __tablename__ = "review_forms"
    __table_args__ = (Index("ux_review_forms", "item_id", "expert_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("round_items.id"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total: Mapped[float | None] = mapped_column(Float, default=None)
    source: Mapped[str] = mapped_column(String(8), default="web")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(AwareDateTime(), default=None)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_reason: Mapped[str] = mapped_column(Text, default="")


class Event(Timestamped, Base):
    """A matchmaking event (成果推介对接会) on ``date`` at ``venue``: ``slots`` time slots of
    ``slot_minutes`` minutes from ``start`` ("HH:MM"), ``tables`` tables. ``max_meetings`` is
    each participant's most meetings unless their own says otherwise (None: only the slots
    limit). ``status`` is planning, scheduled or held (outcomes recorded: the plan is frozen);
    ``schedule`` holds the last solver run (solver, status, proof, seconds, counts)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    venue: Mapped[str] = mapped_column(String(200), default="")
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    start: Mapped[str] = mapped_column(String(5), default="09:00")
    slot_minutes: Mapped[int] = mapped_column(Integer, default=20)
    slots: Mapped[int] = mapped_column(Integer)
    tables: Mapped[int] = mapped_column(Integer)
    max_meetings: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(16), default="planning", index=True)
    schedule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(128), default="")


class EventParticipant(Timestamped, Base):
    """An enterprise (``kind`` enterprise, bringing ``need_ids``) or a research team (``kind``
    team, bringing ``result_ids``) of ``organization_id`` at an event. ``available`` holds the
    slot numbers (1-based) they can meet in, None for all; ``max_meetings`` None for the event's
    default."""

    __tablename__ = "event_participants"
    __table_args__ = (Index("ux_event_participants", "event_id", "kind", "name", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    need_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    result_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    available: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True), default=None)
    max_meetings: Mapped[int | None] = mapped_column(Integer, default=None)
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")

    organization: Mapped[Organization] = relationship(lazy="joined")


class EventRequest(Timestamped, Base):
    """A participant asks to meet another one of the other side (A wants to meet B)."""

    __tablename__ = "event_requests"
    __table_args__ = (Index("ux_event_requests", "requester_id", "target_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128), default="")


class EventMeeting(Timestamped, Base):
    """A candidate meeting of an enterprise and a team about ``need_id`` and ``result_id``.

    ``source`` is request, proposal or organiser; ``priority`` mutual, one_sided or proposed;
    ``score`` combines ``enterprise_score`` and ``team_score`` (the engine's fused scores of
    the two directions); ``decision`` pending, accepted or rejected. After scheduling: ``slot``
    and ``table_number`` (1-based), or ``unplaced_code`` and ``unplaced_reason``. After the
    event: ``attendance`` held or no_show, ``follow_up``, ``intention`` (none, interested,
    negotiating, signed), ``amount`` (万元, when signed), ``outcome_reason`` (a reject reason
    with intention none) and ``feedback_ids`` (the feedback events the outcome wrote)."""

    __tablename__ = "event_meetings"
    __table_args__ = (
        Index("ux_event_meetings", "event_id", "enterprise_id", "team_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"), default=None)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"), default=None)
    source: Mapped[str] = mapped_column(String(16), default="proposal")
    priority: Mapped[str] = mapped_column(String(16), default="proposed")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    enterprise_score: Mapped[float] = mapped_column(Float, default=0.0)
    team_score: Mapped[float] = mapped_column(Float, default=0.0)
    decision: Mapped[str] = mapped_column(String(16), default="pending")
    slot: Mapped[int | None] = mapped_column(Integer, default=None)
    table_number: Mapped[int | None] = mapped_column(Integer, default=None)
    unplaced_code: Mapped[str | None] = mapped_column(String(24), default=None)
    unplaced_reason: Mapped[str] = mapped_column(Text, default="")
    attendance: Mapped[str | None] = mapped_column(String(16), default=None)
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    intention: Mapped[str | None] = mapped_column(String(16), default=None)
    amount: Mapped[float | None] = mapped_column(Float, default=None)
    outcome_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    outcome_at: Mapped[dt.datetime | None] = mapped_column(AwareDateTime(), default=None)
    feedback_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class BackgroundJob(Base):
    """A long piece of work started from a page (an import, an assignment, a schedule, a
    training): its progress and outcome, kept in the store so that every service process shows
    it and a restart does not lose it. ``runner`` is ``host:pid:instance`` of the runner of the
    process running it: a job still marked active whose runner is gone was interrupted.
    ``outcome`` holds the finished job's summary, lines and link."""

    __tablename__ = "background_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    runner: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(AwareDateTime(), default=utc_now, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(AwareDateTime(), default=None)


class PendingUpload(Base):
    """An import file checked (dry run) and waiting for its owner to confirm it: kept in the
    store so that the confirmation may reach any service process. One per user; stale after
    an hour."""

    __tablename__ = "pending_uploads"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[int] = mapped_column(Integer, unique=True)
    entity: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    suffix: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(AwareDateTime(), default=utc_now)
