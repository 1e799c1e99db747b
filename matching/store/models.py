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
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ApiKey",
    "Base",
    "ChangeRecord",
    "Expert",
    "Feedback",
    "Need",
    "Organization",
    "Result",
    "User",
    "utc_now",
]


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
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, onupdate=utc_now
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
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now, index=True)
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
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now, index=True)


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
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class ApiKey(Base):
    """A key for a machine client, acting as ``user_id``. The key is shown once; only its
    ``prefix`` (for lookup) and the argon2 hash of the whole key are stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
