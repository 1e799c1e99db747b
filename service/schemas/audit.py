"""The change log as the API shows it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from matching.store.models import ChangeRecord

__all__ = ["ChangePublic", "FieldChange"]


class FieldChange(BaseModel):
    before: Any
    after: Any


class ChangePublic(BaseModel):
    id: int
    entity_type: str = Field(
        description="need、result、expert、organization、feedback、user 或 api_key"
    )
    entity_id: int
    action: str = Field(description="create、update 或 delete")
    actor: str = Field(description="谁改的：user:<用户名>、cli、import 等")
    at: dt.datetime
    changes: dict[str, FieldChange] = Field(description="每个改动的字段：改前与改后的值")

    @classmethod
    def of(cls, record: ChangeRecord) -> ChangePublic:
        changes = {
            key: FieldChange(before=values[0], after=values[1])
            for key, values in (record.changes or {}).items()
        }
        return cls(
            id=record.id,
            entity_type=record.entity_type,
            entity_id=record.entity_id,
            action=record.action,
            actor=record.actor,
            at=record.at,
            changes=changes,
        )
