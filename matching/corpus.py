"""What of each entity is searched: the text of needs, results and experts, and the facets
that filters look at."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from matching.fields import field_code_list
from matching.store.models import Expert, Need, Result
from matching.vocab import NeedStatus, ResultStatus

__all__ = [
    "ACTIVE_STATUSES",
    "CorpusKind",
    "Facets",
    "document_text",
    "facets_of",
]

CorpusKind = Literal["needs", "results", "experts"]

# Only these are matchable; a withdrawn, closed or draft record leaves the indexes.
ACTIVE_STATUSES: dict[str, frozenset[str]] = {
    "needs": frozenset(
        {
            NeedStatus.SUBMITTED,
            NeedStatus.UNDER_EVALUATION,
            NeedStatus.PUBLISHED,
            NeedStatus.MATCHED,
        }
    ),
    "results": frozenset({ResultStatus.PUBLISHED, ResultStatus.TRANSFERRED}),
    "experts": frozenset({"active"}),
}


def document_text(entity: Need | Result | Expert) -> str:
    """The text embedded and indexed for an entity: title, body and keywords (for experts:
    profile, research directions and field names)."""
    if isinstance(entity, Need):
        parts = [entity.title, entity.description, "；".join(entity.keywords)]
    elif isinstance(entity, Result):
        parts = [entity.title, entity.abstract, "；".join(entity.keywords)]
    else:
        codes = field_code_list()
        fields = [codes[code].name for code in entity.fields if code in codes]
        parts = [entity.profile, "；".join(entity.keywords), "；".join(fields)]
    return "\n".join(part for part in parts if part)


@dataclass(frozen=True)
class Facets:
    """The filterable attributes of one indexed entity."""

    status: str
    fields: frozenset[str]
    province: str
    city: str
    organization_id: int | None
    maturity: str | None = None
    trl: int | None = None
    cooperation_modes: frozenset[str] = frozenset()
    deadline: dt.date | None = None
    updated_at: dt.datetime | None = None


def facets_of(entity: Need | Result | Expert) -> Facets:
    if isinstance(entity, Need):
        return Facets(
            entity.status,
            frozenset(entity.fields),
            entity.province,
            entity.city,
            entity.enterprise_id,
            cooperation_modes=frozenset(entity.cooperation_modes),
            deadline=entity.deadline,
            updated_at=entity.updated_at,
        )
    if isinstance(entity, Result):
        return Facets(
            entity.status,
            frozenset(entity.fields),
            entity.province,
            entity.city,
            entity.institution_id,
            maturity=entity.maturity,
            trl=entity.trl,
            cooperation_modes=frozenset(entity.cooperation_modes),
            updated_at=entity.updated_at,
        )
    return Facets(
        entity.status,
        frozenset(entity.fields),
        entity.province,
        entity.city,
        entity.organization_id,
        updated_at=entity.updated_at,
    )
