"""Match filters over facets."""

from __future__ import annotations

import datetime as dt

from matching.corpus import Facets
from matching.filters import MatchFilters

FACETS = {
    1: Facets(
        "published", frozenset({"450"}), "安徽省", "铜陵市", 10, "pilot", 6, frozenset({"license"})
    ),
    2: Facets(
        "published",
        frozenset({"230", "550"}),
        "宁夏回族自治区",
        "银川市",
        11,
        "lab",
        4,
        frozenset({"joint_development"}),
    ),
    3: Facets(
        "transferred",
        frozenset({"450", "610"}),
        "四川省",
        "攀枝花市",
        12,
        "industrial",
        9,
        frozenset({"transfer", "license"}),
    ),
    4: Facets(
        "submitted", frozenset({"610"}), "湖北省", "宜昌市", 13, deadline=dt.date(2027, 3, 31)
    ),
}


def test_empty_filter_allows_everything() -> None:
    assert MatchFilters().allowed(FACETS) is None
    assert MatchFilters().empty


def test_each_filter_restricts() -> None:
    assert MatchFilters(fields=frozenset({"450"})).allowed(FACETS) == {1, 3}
    assert MatchFilters(provinces=frozenset({"四川省", "湖北省"})).allowed(FACETS) == {3, 4}
    assert MatchFilters(cities=frozenset({"银川市"})).allowed(FACETS) == {2}
    assert MatchFilters(maturities=frozenset({"pilot", "industrial"})).allowed(FACETS) == {1, 3}
    assert MatchFilters(min_trl=6).allowed(FACETS) == {1, 3}
    assert MatchFilters(cooperation_modes=frozenset({"license"})).allowed(FACETS) == {1, 3}
    assert MatchFilters(statuses=frozenset({"transferred"})).allowed(FACETS) == {3}
    assert MatchFilters(deadline_after=dt.date(2027, 1, 1)).allowed(FACETS) == {4}
    assert MatchFilters(deadline_after=dt.date(2027, 6, 1)).allowed(FACETS) == set()


def test_filters_combine_and_serialise() -> None:
    both = MatchFilters(fields=frozenset({"450", "610"}), min_trl=7)
    assert both.allowed(FACETS) == {3}
    assert both.as_dict() == {"fields": ["450", "610"], "min_trl": 7}
