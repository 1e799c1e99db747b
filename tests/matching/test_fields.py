"""Technical fields: the shipped GB/T 13745-2009 list, parsing what people type, distance."""

from __future__ import annotations

import pytest

from matching.fields import Field, FieldCodeList, field_code_list

CATEGORIES = {"自然科学", "农业科学", "医药科学", "工程与技术科学", "人文与社会科学"}


@pytest.fixture(scope="module")
def fields() -> FieldCodeList:
    return field_code_list()


def test_the_shipped_list_has_the_62_first_level_disciplines(fields: FieldCodeList) -> None:
    codes = [field.code for field in fields.fields]
    assert len(codes) == 62
    assert len(set(codes)) == 62
    assert len({field.name for field in fields.fields}) == 62
    assert all(len(code) == 3 and code.isdigit() for code in codes)
    assert codes == sorted(codes)
    assert {field.category for field in fields.fields} == CATEGORIES


@pytest.mark.parametrize(
    ("code", "name", "category"),
    [
        ("110", "数学", "自然科学"),
        ("230", "畜牧、兽医科学", "农业科学"),
        ("360", "中医学与中药学", "医药科学"),
        ("430", "材料科学", "工程与技术科学"),
        ("450", "冶金工程技术", "工程与技术科学"),
        ("910", "统计学", "人文与社会科学"),
    ],
)
def test_the_shipped_list_holds_known_disciplines(
    fields: FieldCodeList, code: str, name: str, category: str
) -> None:
    assert code in fields
    assert fields[code] == Field(code, name, category)


def test_field_code_list_is_loaded_once() -> None:
    assert field_code_list() is field_code_list()


def test_display_is_code_then_name(fields: FieldCodeList) -> None:
    assert fields["450"].display == "450 冶金工程技术"


def test_membership_and_lookup_are_by_code_only(fields: FieldCodeList) -> None:
    assert "450" in fields
    assert "冶金工程技术" not in fields
    assert "999" not in fields
    assert 450 not in fields
    with pytest.raises(KeyError):
        fields["999"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("450", "450"),
        (" 450 ", "450"),
        ("冶金工程技术", "450"),
        (" 冶金工程技术 ", "450"),
        ("450 冶金工程技术", "450"),
        ("450　冶金工程技术", "450"),
        ("畜牧、兽医科学", "230"),
        ("冶金", "450"),
        ("计算机", "520"),
        ("统计", "910"),
        ("数学", "110"),
    ],
)
def test_parse_reads_a_code_a_name_code_and_name_or_a_unique_part(
    fields: FieldCodeList, text: str, code: str
) -> None:
    assert fields.parse(text) == code


def test_parse_prefers_an_exact_name_over_names_that_contain_it(fields: FieldCodeList) -> None:
    # "化学" is also part of "化学工程"; the exact name wins.
    assert fields.parse("化学") == "150"
    assert fields.parse("物理学") == "140"


def test_parse_of_an_ambiguous_part_lists_every_candidate(fields: FieldCodeList) -> None:
    with pytest.raises(ValueError) as caught:
        fields.parse("医学")
    assert str(caught.value) == (
        "领域「医学」不唯一，可能是：310 基础医学、320 临床医学、330 预防医学与公共卫生学、"
        "340 军事医学与特种医学、360 中医学与中药学"
    )


def test_parse_of_an_ambiguous_part_names_candidates_across_categories(
    fields: FieldCodeList,
) -> None:
    with pytest.raises(ValueError, match="不唯一") as caught:
        fields.parse("工程")
    message = str(caught.value)
    for display in ("460 机械工程", "530 化学工程", "570 水利工程", "450 冶金工程技术"):
        assert display in message
    assert "110 数学" not in message


@pytest.mark.parametrize("text", ["量子烹饪", "999", "999 量子烹饪", "", "   "])
def test_parse_of_an_unknown_field_names_the_standard(fields: FieldCodeList, text: str) -> None:
    with pytest.raises(ValueError) as caught:
        fields.parse(text)
    assert str(caught.value) == (
        f"领域「{text.strip()}」不在《学科分类与代码》(GB/T 13745-2009) 一级学科中"
    )


@pytest.mark.parametrize(
    ("code_a", "code_b", "distance"),
    [
        ("450", "450", 0),
        ("430", "450", 1),
        ("110", "190", 1),
        ("710", "910", 1),
        ("110", "450", 2),
        ("210", "310", 2),
        ("360", "910", 2),
    ],
)
def test_distance_is_0_for_the_same_field_1_for_the_same_category_else_2(
    fields: FieldCodeList, code_a: str, code_b: str, distance: int
) -> None:
    assert fields.distance(code_a, code_b) == distance
    assert fields.distance(code_b, code_a) == distance


def test_distance_of_an_unknown_code_raises(fields: FieldCodeList) -> None:
    with pytest.raises(KeyError):
        fields.distance("450", "999")


def test_a_list_built_in_code_parses_and_measures_its_own_fields() -> None:
    custom = FieldCodeList(
        [
            Field("A1", "铜加工", "冶金"),
            Field("A2", "铜冶炼", "冶金"),
            Field("B1", "机器视觉", "信息"),
        ]
    )
    assert custom.parse("A2") == "A2"
    assert custom.parse("A2 随便写的名字") == "A2"
    assert custom.parse("机器视觉") == "B1"
    assert custom.parse("视觉") == "B1"
    with pytest.raises(ValueError, match="可能是：A1 铜加工、A2 铜冶炼"):
        custom.parse("铜")
    assert custom.distance("A1", "A2") == 1
    assert custom.distance("A1", "B1") == 2
    assert "450" not in custom
