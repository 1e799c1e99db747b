"""Filters on match lists: field, region, maturity, cooperation mode, status, dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from matching.corpus import Facets

__all__ = ["MatchFilters"]


@dataclass(frozen=True)
class MatchFilters:
    """What a match list may contain. Empty collections mean "no restriction".

    ``fields``: any shared GB/T 13745 code; ``provinces`` / ``cities``: exact names;
    ``maturities``: result stages (research/lab/pilot/industrial); ``min_trl``: at least this
    readiness level; ``cooperation_modes``: any shared mode; ``statuses``: allowed statuses
    (default: the corpus's active ones); ``deadline_after``: needs open at least until then.
    """

    fields: frozenset[str] = field(default_factory=frozenset)
    provinces: frozenset[str] = field(default_factory=frozenset)
    cities: frozenset[str] = field(default_factory=frozenset)
    maturities: frozenset[str] = field(default_factory=frozenset)
    min_trl: int | None = None
    cooperation_modes: frozenset[str] = field(default_factory=frozenset)
    statuses: frozenset[str] = field(default_factory=frozenset)
    deadline_after: dt.date | None = None

    @property
    def empty(self) -> bool:
        return self == MatchFilters()

    def accepts(self, facets: Facets) -> bool:
        """Whether an entity with these facets may appear."""
        checks = (
            not self.fields or bool(self.fields & facets.fields),
            not self.provinces or facets.province in self.provinces,
            not self.cities or facets.city in self.cities,
            not self.maturities or facets.maturity in self.maturities,
            self.min_trl is None or (facets.trl is not None and facets.trl >= self.min_trl),
            not self.cooperation_modes or bool(self.cooperation_modes & facets.cooperation_modes),
            not self.statuses or facets.status in self.statuses,
            self.deadline_after is None
            or (facets.deadline is not None and facets.deadline >= self.deadline_after),
        )
        return all(checks)

    def allowed(self, facets: Mapping[int, Facets]) -> set[int] | None:
        """The ids that pass, or None when nothing is filtered."""
        if self.empty:
            return None
        return {
            entity_id for entity_id, entity_facets in facets.items() if self.accepts(entity_facets)
        }

    def as_dict(self) -> dict[str, object]:
        return {
            key: sorted(value)
            if isinstance(value, frozenset)
            else (value.isoformat() if isinstance(value, dt.date) else value)
            for key, value in self.__dict__.items()
            if value not in (None, frozenset())
        }
