"""Change history: every insert, update or delete of a tracked entity writes a ChangeRecord.

Hooked on the session's flush, so no write path can forget it. The acting user is read from
``session.info["actor"]`` (set by ``session_scope(actor=...)``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from matching.store.models import (
    ApiKey,
    ChangeRecord,
    EvaluationRound,
    Event,
    EventMeeting,
    EventParticipant,
    EventRequest,
    Expert,
    Feedback,
    Need,
    Organization,
    Result,
    ReviewAssignment,
    ReviewForm,
    RoundExpert,
    RoundItem,
    RoundOverride,
    User,
    utc_now,
)

__all__ = ["TRACKED", "install_history"]

TRACKED: dict[type[Any], str] = {
    Need: "need",
    Result: "result",
    Expert: "expert",
    Organization: "organization",
    Feedback: "feedback",
    User: "user",
    ApiKey: "api_key",
    EvaluationRound: "evaluation_round",
    RoundItem: "round_item",
    RoundExpert: "round_expert",
    RoundOverride: "round_override",
    ReviewAssignment: "review_assignment",
    ReviewForm: "review_form",
    Event: "event",
    EventParticipant: "event_participant",
    EventRequest: "event_request",
    EventMeeting: "event_meeting",
}
# Secrets never reach the change log: only the fact that they changed.
_SECRET = {"password_hash", "key_hash"}
_SKIPPED = {"id", "created_at", "updated_at"}


def _jsonable(value: Any, key: str = "") -> Any:
    if key in _SECRET:
        return "(已更改)" if value else value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _columns(obj: Any) -> list[str]:
    return [attr.key for attr in inspect(obj).mapper.column_attrs if attr.key not in _SKIPPED]


def _snapshot(obj: Any) -> dict[str, Any]:
    return {key: _jsonable(getattr(obj, key), key) for key in _columns(obj)}


def _diff(obj: Any) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for key in _columns(obj):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before != after:
            changes[key] = [_jsonable(before, key), _jsonable(after, key)]
    return changes


def _record_changes(session: Session, _context: Any) -> None:
    rows: list[dict[str, Any]] = []
    actor = str(session.info.get("actor", ""))
    now = utc_now()
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            entity_type = TRACKED.get(type(obj))
            if entity_type is None:
                continue
            if action == "create":
                changes: dict[str, Any] = {k: [None, v] for k, v in _snapshot(obj).items()}
            elif action == "update":
                changes = _diff(obj)
                if not changes:
                    continue
            else:
                changes = {k: [v, None] for k, v in _snapshot(obj).items()}
            rows.append(
                {
                    "entity_type": entity_type,
                    "entity_id": obj.id,
                    "action": action,
                    "actor": actor,
                    "at": now,
                    "changes": changes,
                }
            )
    if rows:
        session.connection().execute(insert(ChangeRecord), rows)


def install_history(session_class: type[Session]) -> None:
    """Attach the history hook to a session class (idempotent)."""
    if not event.contains(session_class, "after_flush", _record_changes):
        event.listen(session_class, "after_flush", _record_changes)
