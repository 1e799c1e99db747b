"""Cell values: money, dates, lists, booleans, credit codes, contacts, IP rights, formulas."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.cells import (
    escape_formula,
    format_date,
    format_ip,
    format_list,
    format_money,
    format_number,
    parse_bool,
    parse_credit_code,
    parse_date,
    parse_email,
    parse_ip,
    parse_list,
    parse_money,
    parse_phone,
    unescape_formula,
)

VALID_CREDIT_CODE = "91350100M000100Y43"
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# --- money ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80", (80.0, 80.0)),
        ("12.5", (12.5, 12.5)),
        ("100万", (100.0, 100.0)),
        ("100万元", (100.0, 100.0)),
        (" 100 万元 ", (100.0, 100.0)),
        ("1,000", (1000.0, 1000.0)),
        ("1，000", (1000.0, 1000.0)),
        ("50-100", (50.0, 100.0)),
        ("50 - 100", (50.0, 100.0)),
        ("50~100", (50.0, 100.0)),
        ("50～100", (50.0, 100.0)),
        ("50—100", (50.0, 100.0)),
        ("50－100", (50.0, 100.0)),
        ("50至100", (50.0, 100.0)),
        ("50到100", (50.0, 100.0)),
        ("50万-100万元", (50.0, 100.0)),
        ("50-50", (50.0, 50.0)),
        ("50以下", (None, 50.0)),
        ("50万以内", (None, 50.0)),
        ("不超过50", (None, 50.0)),
        ("最多50万", (None, 50.0)),
        ("≤50", (None, 50.0)),
        ("<=50", (None, 50.0)),
        ("200以上", (200.0, None)),
        ("200万元以上", (200.0, None)),
        ("不低于200", (200.0, None)),
        ("至少200", (200.0, None)),
        ("≥200", (200.0, None)),
        (">=200", (200.0, None)),
        ("面议", (None, None)),
        ("议价", (None, None)),
        ("协商", (None, None)),
        ("待定", (None, None)),
        ("商议", (None, None)),
        ("", (None, None)),
        ("   ", (None, None)),
    ],
)
def test_parse_money_reads_sums_ranges_and_bounds(
    text: str, expected: tuple[float | None, float | None]
) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(80, (80.0, 80.0)), (12.5, (12.5, 12.5)), (0, (0.0, 0.0))]
)
def test_parse_money_takes_typed_numbers_from_excel(
    value: float, expected: tuple[float, float]
) -> None:
    low, high = parse_money(value)
    assert (low, high) == expected
    assert isinstance(low, float)
    assert isinstance(high, float)


def test_parse_money_rejects_a_range_whose_low_end_is_above_its_high_end() -> None:
    with pytest.raises(ValueError, match="范围下限 100 大于上限 50"):
        parse_money("100-50")


def test_parse_money_rejects_negative_numbers() -> None:
    with pytest.raises(ValueError, match="金额不能为负数"):
        parse_money(-5)


@pytest.mark.parametrize("value", [True, False])
def test_parse_money_rejects_booleans(value: bool) -> None:
    with pytest.raises(ValueError, match="应为金额"):
        parse_money(value)


@pytest.mark.parametrize(
    "text", ["一百万", "-5", "50-", "abc", "50-100-200", "约50", "50元以上以下"]
)
def test_parse_money_rejects_text_that_is_no_amount(text: str) -> None:
    with pytest.raises(ValueError, match="应为金额（万元），如 80、50-100、200以上 或 面议"):
        parse_money(text)


@pytest.mark.parametrize(
    ("value", "expected"), [(50.0, "50"), (50, "50"), (12.5, "12.5"), (0.05, "0.05"), (0.0, "0")]
)
def test_format_number_drops_the_decimal_point_of_whole_numbers(
    value: float, expected: str
) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (None, None, "面议"),
        (None, 50.0, "50以下"),
        (None, 0.0, "0以下"),
        (200.0, None, "200以上"),
        (80.0, 80.0, "80"),
        (50.0, 100.0, "50-100"),
        (12.5, 99.95, "12.5-99.95"),
    ],
)
def test_format_money_writes_each_form(
    low: float | None, high: float | None, expected: str
) -> None:
    assert format_money(low, high) == expected


_CENTS = st.one_of(st.none(), st.integers(min_value=0, max_value=10**12))


@given(_CENTS, _CENTS)
def test_format_money_then_parse_money_gives_back_the_same_range(
    low_cents: int | None, high_cents: int | None
) -> None:
    if low_cents is not None and high_cents is not None and low_cents > high_cents:
        low_cents, high_cents = high_cents, low_cents
    low = None if low_cents is None else low_cents / 100
    high = None if high_cents is None else high_cents / 100
    assert parse_money(format_money(low, high)) == (low, high)


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2027-06-30",
        "2027-6-30",
        "2027/6/30",
        "2027/06/30",
        "2027.6.30",
        "2027年6月30日",
        "2027年6月30",
        "2027 年 6 月 30 日",
        "  2027-06-30  ",
        "20270630",
    ],
)
def test_parse_date_reads_every_written_form(text: str) -> None:
    assert parse_date(text) == dt.date(2027, 6, 30)


def test_parse_date_takes_dates_excel_already_typed() -> None:
    assert parse_date(dt.datetime(2027, 6, 30, 14, 5)) == dt.date(2027, 6, 30)
    assert parse_date(dt.date(2027, 6, 30)) == dt.date(2027, 6, 30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-06", dt.date(2027, 6, 30)),
        ("2027-6", dt.date(2027, 6, 30)),
        ("2027/6", dt.date(2027, 6, 30)),
        ("2027.6", dt.date(2027, 6, 30)),
        ("2027年6月", dt.date(2027, 6, 30)),
        ("2027年1月", dt.date(2027, 1, 31)),
        ("2027-02", dt.date(2027, 2, 28)),
        ("2028-02", dt.date(2028, 2, 29)),
        ("2027-11", dt.date(2027, 11, 30)),
        ("2027-12", dt.date(2027, 12, 31)),
    ],
)
def test_parse_date_reads_a_month_as_its_last_day(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2027-02-30",
        "2027年2月30日",
        "20270230",
        "2027-06-31",
        "2027-13-01",
        "2027-13",
        "2027-00",
        "2027年13月",
        "2027-24",
    ],
)
def test_parse_date_names_an_impossible_date_in_chinese(text: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(f'日期不存在：{text}')}$"):
        parse_date(text)


@pytest.mark.parametrize("text", ["明年年底", "", "2027", "27-6-30", "2027-06-30 12:00", "六月"])
def test_parse_date_rejects_text_that_is_no_date(text: str) -> None:
    with pytest.raises(ValueError, match="应为日期，如 2027-06-30 或 2027年6月30日"):
        parse_date(text)


def test_format_date_writes_iso_and_empty_for_none() -> None:
    assert format_date(dt.date(2027, 6, 3)) == "2027-06-03"
    assert format_date(None) == ""


@given(st.dates(min_value=dt.date(1000, 1, 1)))
def test_format_date_then_parse_date_gives_back_the_same_date(day: dt.date) -> None:
    assert parse_date(format_date(day)) == day


# --- lists ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("铜带；退火；氧化色差", ["铜带", "退火", "氧化色差"]),
        ("a;b", ["a", "b"]),
        ("a、b", ["a", "b"]),
        ("a,b", ["a", "b"]),
        ("a，b", ["a", "b"]),
        ("a|b", ["a", "b"]),
        ("a\nb", ["a", "b"]),
        (" a ； b 、 c ", ["a", "b", "c"]),
        ("a；；b", ["a", "b"]),
        ("b；a；b；a", ["b", "a"]),
        ("单项", ["单项"]),
        ("", []),
        ("  ", []),
    ],
)
def test_parse_list_splits_on_every_separator_keeps_order_and_drops_duplicates(
    text: str, expected: list[str]
) -> None:
    assert parse_list(text) == expected


def test_format_list_joins_with_the_chinese_semicolon_and_parses_back() -> None:
    items = ["合作开发", "技术咨询与服务", "作价入股"]
    assert format_list(items) == "合作开发；技术咨询与服务；作价入股"
    assert parse_list(format_list(items)) == items
    assert format_list([]) == ""


# --- booleans ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["是", "y", "Y", "yes", "YES", "true", "True", "1", "保密", "√", True, 1]
)
def test_parse_bool_reads_yes(value: object) -> None:
    assert parse_bool(value) is True


@pytest.mark.parametrize(
    "value", ["否", "n", "No", "false", "0", "公开", "不保密", "×", " 否 ", False, 0]
)
def test_parse_bool_reads_no(value: object) -> None:
    assert parse_bool(value) is False


@pytest.mark.parametrize("value", ["也许", "", "2", "ok"])
def test_parse_bool_rejects_anything_else(value: str) -> None:
    with pytest.raises(ValueError, match="应为“是”或“否”"):
        parse_bool(value)


# --- credit codes --------------------------------------------------------------------------


def test_parse_credit_code_accepts_a_valid_code() -> None:
    assert parse_credit_code(VALID_CREDIT_CODE) == VALID_CREDIT_CODE


def test_parse_credit_code_strips_and_upper_cases() -> None:
    assert parse_credit_code(f"  {VALID_CREDIT_CODE.lower()} ") == VALID_CREDIT_CODE


@pytest.mark.parametrize(
    ("code", "length"), [(VALID_CREDIT_CODE[:-1], 17), (VALID_CREDIT_CODE + "0", 19), ("", 0)]
)
def test_parse_credit_code_rejects_a_wrong_length(code: str, length: int) -> None:
    with pytest.raises(ValueError, match=f"应为 18 位，这里是 {length} 位"):
        parse_credit_code(code)


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V", "-", "中"])
def test_parse_credit_code_rejects_letters_the_standard_leaves_out(letter: str) -> None:
    code = VALID_CREDIT_CODE[:8] + letter + VALID_CREDIT_CODE[9:]
    with pytest.raises(ValueError, match="含有不允许的字符"):
        parse_credit_code(code)


def test_parse_credit_code_rejects_a_wrong_check_character() -> None:
    with pytest.raises(ValueError, match="校验位不正确"):
        parse_credit_code(VALID_CREDIT_CODE[:-1] + "4")


def test_parse_credit_code_catches_every_single_character_typo() -> None:
    # 31 is prime and no weight is a multiple of it, so any one changed character changes the
    # check character.
    for position in range(17):
        for char in CREDIT_ALPHABET:
            if char == VALID_CREDIT_CODE[position]:
                continue
            typo = VALID_CREDIT_CODE[:position] + char + VALID_CREDIT_CODE[position + 1 :]
            with pytest.raises(ValueError, match="校验位不正确"):
                parse_credit_code(typo)


# --- phone and email -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        "0562-1234567",
        "+86 138 1234 5678",
        "(0562)1234567",
        "（0562）1234567",
        "0562-1234567转8001",
        "123456",
    ],
)
def test_parse_phone_accepts_common_forms(text: str) -> None:
    assert parse_phone(f" {text} ") == text


@pytest.mark.parametrize(
    "text", ["12345", "", "abc", "电话13812345678", "138-abcd-1234", "-13812345678"]
)
def test_parse_phone_rejects_malformed_numbers(text: str) -> None:
    with pytest.raises(ValueError, match="电话号码格式不正确"):
        parse_phone(text)


@pytest.mark.parametrize("text", ["zhang.san@ahu.edu.cn", "a@b.cn", "li+need@example.com"])
def test_parse_email_accepts_addresses(text: str) -> None:
    assert parse_email(f" {text} ") == text


@pytest.mark.parametrize("text", ["zhangsan", "a@b", "a b@c.cn", "a@b@c.cn", "@b.cn", "a@.", ""])
def test_parse_email_rejects_malformed_addresses(text: str) -> None:
    with pytest.raises(ValueError, match="电子邮箱格式不正确"):
        parse_email(text)


# --- intellectual property -----------------------------------------------------------------


def _right(number: str, ip_type: str, status: str) -> dict[str, str]:
    return {"number": number, "type": ip_type, "status": status}


@pytest.mark.parametrize(
    ("number", "ip_type"),
    [
        ("ZL202110234567.8", "invention_patent"),
        ("ZL202180234567.8", "invention_patent"),
        ("ZL202120234567.8", "utility_model"),
        ("ZL202190234567.8", "utility_model"),
        ("ZL202130234567.8", "design_patent"),
        ("ZL 2021 1 0234567.8", "invention_patent"),
    ],
)
def test_parse_ip_infers_a_granted_patent_type_from_the_fifth_digit_of_a_zl_number(
    number: str, ip_type: str
) -> None:
    assert parse_ip(number) == [_right(number, ip_type, "granted")]


def test_parse_ip_reads_an_application_number_without_zl_as_filed() -> None:
    assert parse_ip("202110234567.8") == [_right("202110234567.8", "invention_patent", "filed")]


@pytest.mark.parametrize("number", ["2023SR0123456", "2023sr0123456", "软著登字第2023SR0123456号"])
def test_parse_ip_reads_an_sr_number_as_a_registered_software_copyright(number: str) -> None:
    assert parse_ip(number) == [_right(number, "software_copyright", "registered")]


@pytest.mark.parametrize(
    "text",
    [
        "ZL202110234567.8（发明专利，已授权）",
        "ZL202110234567.8（已授权，发明专利）",
        "ZL202110234567.8(发明专利,已授权)",
        "ZL202110234567.8 （发明，授权）",
        "ZL202110234567.8（发明专利、已授权）",
    ],
)
def test_parse_ip_reads_explicit_type_and_status_in_either_order(text: str) -> None:
    assert parse_ip(text) == [_right("ZL202110234567.8", "invention_patent", "granted")]


def test_parse_ip_explicit_type_overrides_the_inferred_one() -> None:
    assert parse_ip("ZL202110234567.8（实用新型专利）") == [
        _right("ZL202110234567.8", "utility_model", "granted")
    ]


def test_parse_ip_explicit_status_overrides_the_default() -> None:
    assert parse_ip("202110234567.8（实审中）") == [
        _right("202110234567.8", "invention_patent", "examination")
    ]
    assert parse_ip("ZL202110234567.8（已失效）") == [
        _right("ZL202110234567.8", "invention_patent", "expired")
    ]


def test_parse_ip_takes_a_number_it_cannot_classify_when_the_type_is_given() -> None:
    assert parse_ip("GPD2023-0012（植物新品种权，已授权）") == [
        _right("GPD2023-0012", "plant_variety", "granted")
    ]
    assert parse_ip("BS.21500123.4（集成电路布图设计）") == [
        _right("BS.21500123.4", "ic_layout", "filed")
    ]


def test_parse_ip_splits_several_rights_on_semicolons_and_new_lines() -> None:
    text = "ZL202110234567.8（发明专利，已授权）；2023SR0123456;\nZL201620123456.7"
    assert parse_ip(text) == [
        _right("ZL202110234567.8", "invention_patent", "granted"),
        _right("2023SR0123456", "software_copyright", "registered"),
        _right("ZL201620123456.7", "utility_model", "granted"),
    ]


@pytest.mark.parametrize("text", ["", "  ", "；"])
def test_parse_ip_of_empty_text_is_no_rights(text: str) -> None:
    assert parse_ip(text) == []


def test_parse_ip_names_a_detail_that_is_neither_type_nor_status() -> None:
    text = "ZL202110234567.8（发明专利，很好）"
    with pytest.raises(ValueError) as caught:
        parse_ip(text)
    assert str(caught.value) == f"知识产权「{text}」中的「很好」既不是类型也不是状态"


@pytest.mark.parametrize("number", ["ABC123", "ZL2021", "ZL202140234567.8", "专利一项"])
def test_parse_ip_asks_for_the_type_when_the_number_does_not_tell(number: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"无法从编号「{number}」判断知识产权类型")):
        parse_ip(number)


@pytest.mark.parametrize(
    "text", ["ZL202110234567.8（发明专利", "（发明专利）", "ZL2021（发明）（已授权）"]
)
def test_parse_ip_rejects_malformed_items(text: str) -> None:
    with pytest.raises(ValueError, match="格式不正确，应为：编号（类型，状态）"):
        parse_ip(text)


def test_format_ip_writes_labels_and_parses_back() -> None:
    rights = [
        _right("ZL202110234567.8", "invention_patent", "granted"),
        _right("2023SR0123456", "software_copyright", "registered"),
        _right("202210999999.1", "invention_patent", "examination"),
    ]
    text = format_ip(rights)
    assert text == (
        "ZL202110234567.8（发明专利，已授权）；2023SR0123456（软件著作权，已登记）；"
        "202210999999.1（发明专利，实审中）"
    )
    assert parse_ip(text) == rights
    assert format_ip([]) == ""


# --- formula escaping ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=SUM(A1:A9)", "+86 138", "-5", "@cmd", "\tx", "\rx"])
def test_escape_formula_prefixes_what_a_spreadsheet_would_run(text: str) -> None:
    assert escape_formula(text) == "'" + text
    assert unescape_formula("'" + text) == text


@pytest.mark.parametrize("text", ["铜带退火", "", "'引用", "a=b", "50-100"])
def test_escape_formula_leaves_harmless_text_alone(text: str) -> None:
    assert escape_formula(text) == text
    assert unescape_formula(text) == text


def test_escape_formula_keeps_text_that_already_starts_with_an_apostrophe() -> None:
    assert escape_formula("'=1") == "''=1"
    assert unescape_formula("''=1") == "'=1"


@given(st.text())
def test_unescape_formula_undoes_escape_formula_for_any_text(text: str) -> None:
    escaped = escape_formula(text)
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unescape_formula(escaped) == text


@given(st.text(alphabet="'=+-@\t\rab", max_size=6))
def test_unescape_formula_undoes_escape_formula_for_apostrophes_and_formula_marks(
    text: str,
) -> None:
    assert unescape_formula(escape_formula(text)) == text
