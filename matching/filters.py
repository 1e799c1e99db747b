"""Filters on match lists: field, region, maturity, cooperation mode, status, dates; and
reading them from what people type (the CLI's options, the API's query parameters)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from matching.corpus import Facets
from matching.errors import TechMatchError
from matching.fields import field_code_list
from matching.regions import parse_region
from matching.vocab import CooperationMode, Maturity, parse_value

__all__ = ["FilterError", "MatchFilters", "parse_filters"]


@dataclass(frozen=True)
class MatchFilters:
    """What a match list may contain. Empty collections mean "no restriction".

    ``fields``: any shared GB/T 13745 code; ``provinces`` / ``cities``: exact names;
    ``maturities``: result stages (research/lab/pilot/industrial); ``min_trl``: at least this
    readiness level; ``cooperation_modes``: any shared mode; ``statuses``: allowed statuses
    (default: the corpus's active ones); ``deadline_after``: needs open at least until then;
    ``organizations``: ids of the owning organizations (a need's enterprise, a result's
    institution, an expert's employer).
    """

    fields: frozenset[str] = field(default_factory=frozenset)
    provinces: frozenset[str] = field(default_factory=frozenset)
    cities: frozenset[str] = field(default_factory=frozenset)
    maturities: frozenset[str] = field(default_factory=frozenset)
    min_trl: int | None = None
    cooperation_modes: frozenset[str] = field(default_factory=frozenset)
    statuses: frozenset[str] = field(default_factory=frozenset)
    deadline_after: dt.date | None = None
    organizations: frozenset[int] = field(default_factory=frozenset)

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
            not self.organizations or facets.organization_id in self.organizations,
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


class FilterError(TechMatchError):
    """A filter value that cannot be read; ``field`` names the filter as the CLI option and the
    API query parameter spell it (``field``, ``province``, ``maturity``, ``min_trl`` ...)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"筛选条件「{field}」有误：{reason}")
        self.field = field
        self.reason = reason


def _read(name: str, texts: Iterable[str], read: Callable[[str], str]) -> frozenset[str]:
    values = set()
    for text in texts:
        if not text.strip():
            continue
        try:
            values.add(read(text.strip()))
        except ValueError as error:
            raise FilterError(name, str(error)) from None
    return frozenset(values)


def _province(text: str) -> str:
    try:
        province = parse_region(text).province
    except ValueError:
        province = ""
    if not province:
        raise ValueError(f"「{text}」不是省级行政区名称，如：安徽省")
    return province


def parse_filters(
    fields: Iterable[str] = (),
    provinces: Iterable[str] = (),
    cities: Iterable[str] = (),
    maturities: Iterable[str] = (),
    min_trl: int | None = None,
    cooperation_modes: Iterable[str] = (),
    deadline_after: dt.date | None = None,
) -> MatchFilters:
    """Filters from typed values: fields as GB/T 13745 codes or names, provinces with or
    without their suffix (安徽 / 安徽省), maturities and cooperation modes as Chinese labels
    or values, ``min_trl`` 1-9. Blank values are ignored. Raises ``FilterError`` naming the
    first filter that cannot be read."""
    if min_trl is not None and not 1 <= min_trl <= 9:
        raise FilterError("min_trl", "技术就绪度应在 1 到 9 之间")
    return MatchFilters(
        fields=_read("field", fields, field_code_list().parse),
        provinces=_read("province", provinces, _province),
        cities=_read("city", cities, str),
        maturities=_read("maturity", maturities, lambda text: parse_value(Maturity, text).value),
        min_trl=min_trl,
        cooperation_modes=_read(
            "cooperation_mode",
            cooperation_modes,
            lambda text: parse_value(CooperationMode, text).value,
        ),
        deadline_after=deadline_after,
    )
