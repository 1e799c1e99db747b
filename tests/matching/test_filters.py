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


def test_organization_filter() -> None:
    assert MatchFilters(organizations=frozenset({11, 13})).allowed(FACETS) == {2, 4}
    assert MatchFilters(organizations=frozenset({11})).as_dict() == {"organizations": [11]}


def test_parse_filters_reads_what_people_type() -> None:
    from matching.filters import parse_filters

    parsed = parse_filters(
        fields=["冶金工程技术", "610 环境科学技术及资源科学技术", " "],
        provinces=["安徽", "宁夏回族自治区"],
        cities=[" 铜陵市 "],
        maturities=["中试", "industrial"],
        min_trl=6,
        cooperation_modes=["技术许可", "转让"],
        deadline_after=dt.date(2027, 1, 1),
    )
    assert parsed == MatchFilters(
        fields=frozenset({"450", "610"}),
        provinces=frozenset({"安徽省", "宁夏回族自治区"}),
        cities=frozenset({"铜陵市"}),
        maturities=frozenset({"pilot", "industrial"}),
        min_trl=6,
        cooperation_modes=frozenset({"license", "transfer"}),
        deadline_after=dt.date(2027, 1, 1),
    )
    assert parse_filters() == MatchFilters()


def test_parse_filters_names_the_bad_filter() -> None:
    import pytest

    from matching.filters import FilterError, parse_filters

    cases = [
        ({"fields": ["炼金术"]}, "field", "不在《学科分类与代码》"),
        ({"provinces": ["铜陵"]}, "province", "不是省级行政区名称"),
        ({"maturities": ["成熟"]}, "maturity", "研发、小试、中试、产业化"),
        ({"min_trl": 0}, "min_trl", "1 到 9"),
        ({"cooperation_modes": ["赠送"]}, "cooperation_mode", "技术转让"),
    ]
    for kwargs, field_name, words in cases:
        with pytest.raises(FilterError) as caught:
            parse_filters(**kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field_name
        assert str(caught.value).startswith(f"筛选条件「{field_name}」有误：") and words in str(
            caught.value
        )
