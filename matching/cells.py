"""Reading and writing the values of spreadsheet cells: money ranges, dates, lists, IP rights,
credit codes. Parsers raise ``ValueError`` with a Chinese reason; formatters are their inverse,
so that export → import gives back the same values.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from matching.vocab import IpStatus, IpType, label_of, parse_value

__all__ = [
    "escape_formula",
    "format_date",
    "format_ip",
    "format_list",
    "format_money",
    "format_number",
    "parse_bool",
    "parse_credit_code",
    "parse_date",
    "parse_email",
    "parse_ip",
    "parse_list",
    "parse_money",
    "parse_phone",
    "unescape_formula",
]

LIST_SEPARATORS = re.compile(r"\s*[；;、,，\n|]\s*")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NEGOTIABLE = {"面议", "议价", "协商", "待定", "商议"}


def escape_formula(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would run as a formula (CSV/formula injection)."""
    # Text already starting with "'" before a formula character gets one more "'", so that
    # unescape_formula gives it back unchanged.
    return "'" + text if text.lstrip("'").startswith(FORMULA_PREFIXES) else text


def unescape_formula(text: str) -> str:
    """Undo ``escape_formula``."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def parse_list(text: str) -> list[str]:
    """Split "a；b、c" into items; separators: ；; 、 , ， | and new lines. Order kept,
    duplicates dropped."""
    items: list[str] = []
    for item in LIST_SEPARATORS.split(text.strip()):
        if item and item not in items:
            items.append(item)
    return items


def format_list(items: list[str]) -> str:
    return "；".join(items)


def format_number(value: float) -> str:
    """50.0 → "50", 12.5 → "12.5"."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


_NUMBER = r"(\d+(?:\.\d+)?)"
_UNIT = r"\s*(?:万元|万)?\s*"


def parse_money(value: Any) -> tuple[float | None, float | None]:
    """A sum or range in 万元: "50-100", "80", "100万", "50以下", "200以上", "面议".

    Returns ``(minimum, maximum)``; "面议" and empty give ``(None, None)``.
    """
    if isinstance(value, bool):
        raise ValueError("应为金额（万元）")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("金额不能为负数")
        return float(value), float(value)
    text = str(value).strip().replace("，", "").replace(",", "")
    if not text or text in NEGOTIABLE:
        return None, None
    if match := re.fullmatch(_NUMBER + _UNIT, text):
        amount = float(match.group(1))
        return amount, amount
    if match := re.fullmatch(_NUMBER + _UNIT + r"(?:-|~|～|—|－|至|到)\s*" + _NUMBER + _UNIT, text):
        low, high = float(match.group(1)), float(match.group(2))
        if low > high:
            raise ValueError(f"范围下限 {format_number(low)} 大于上限 {format_number(high)}")
        return low, high
    if match := re.fullmatch(
        r"(?:不超过|最多|≤|<=)?\s*" + _NUMBER + _UNIT + r"(?:以下|以内)?", text
    ):
        return None, float(match.group(1))
    if match := re.fullmatch(r"(?:不低于|至少|≥|>=)?\s*" + _NUMBER + _UNIT + r"(?:以上)?", text):
        return float(match.group(1)), None
    raise ValueError("应为金额（万元），如 80、50-100、200以上 或 面议")


def format_money(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return "面议"
    if low is None:
        return f"{format_number(high or 0)}以下"
    if high is None:
        return f"{format_number(low)}以上"
    if low == high:
        return format_number(low)
    return f"{format_number(low)}-{format_number(high)}"


def _end_of_month(year: int, month: int) -> dt.date:
    dt.date(year, month, 1)  # raises ValueError for a month outside 1-12
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def parse_date(value: Any) -> dt.date:
    """ "2027-06-30", "2027/6/30", "2027.6.30", "2027年6月30日", "20270630", a typed Excel
    date, or a month ("2027-06", "2027年6月": its last day)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        if match := re.fullmatch(
            r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text
        ):
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match := re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text):
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match := re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?", text):
            return _end_of_month(int(match.group(1)), int(match.group(2)))
    except ValueError as error:
        raise ValueError(f"日期不存在：{text}") from error
    raise ValueError("应为日期，如 2027-06-30 或 2027年6月30日")


def format_date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


_TRUE = {"是", "y", "yes", "true", "1", "保密", "√"}
_FALSE = {"否", "n", "no", "false", "0", "公开", "不保密", "×"}


def parse_bool(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("应为“是”或“否”")


_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def parse_credit_code(value: Any) -> str:
    """A unified social credit code (统一社会信用代码, GB 32100-2015), checksum verified."""
    code = str(value).strip().upper()
    if len(code) != 18:
        raise ValueError(f"统一社会信用代码应为 18 位，这里是 {len(code)} 位")
    if any(char not in _CREDIT_ALPHABET for char in code):
        raise ValueError("统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）")
    total = sum(
        _CREDIT_ALPHABET.index(c) * w for c, w in zip(code[:17], _CREDIT_WEIGHTS, strict=True)
    )
    check = _CREDIT_ALPHABET[(31 - total % 31) % 31]
    if code[17] != check:
        raise ValueError("统一社会信用代码校验位不正确，请核对")
    return code


def parse_phone(value: Any) -> str:
    text = str(value).strip()
    # An area code may come first in brackets: "(0562)1234567".
    if not re.fullmatch(r"[+\d(（][\d\s()（）\-转]{5,30}", text):
        raise ValueError("电话号码格式不正确，如 13812345678 或 0562-1234567")
    return text


def parse_email(value: Any) -> str:
    text = str(value).strip()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        raise ValueError("电子邮箱格式不正确")
    return text


_IP_ITEM = re.compile(r"^(?P<number>[^（(]+?)\s*(?:[（(](?P<detail>[^）)]*)[）)])?$")


def _infer_ip_type(number: str) -> IpType:
    compact = number.upper().replace(" ", "")
    if "SR" in compact:
        return IpType.SOFTWARE_COPYRIGHT
    digits = re.sub(r"\D", "", compact)
    kind = digits[4:5] if len(digits) >= 12 else ""
    if kind in ("1", "8"):
        return IpType.INVENTION_PATENT
    if kind in ("2", "9"):
        return IpType.UTILITY_MODEL
    if kind == "3":
        return IpType.DESIGN_PATENT
    raise ValueError(
        f"无法从编号「{number}」判断知识产权类型，请在括号中注明，如（发明专利，已授权）"
    )


def parse_ip(text: str) -> list[dict[str, str]]:
    """ "ZL202110234567.8（发明专利，已授权）；2023SR0123456" → [{number, type, status}].

    Type and status may be left out: a ZL number is a granted patent whose type its 5th digit
    gives; an SR number is a registered software copyright.
    """
    rights = []
    for item in re.split(r"\s*[；;\n]\s*", text.strip()):
        if not item:
            continue
        match = _IP_ITEM.match(item)
        if not match:
            raise ValueError(f"知识产权「{item}」格式不正确，应为：编号（类型，状态）")
        number = match.group("number").strip()
        ip_type: IpType | None = None
        status: IpStatus | None = None
        for part in parse_list(match.group("detail") or ""):
            try:
                ip_type = parse_value(IpType, part)
                continue
            except ValueError:
                pass
            try:
                status = parse_value(IpStatus, part)
            except ValueError as error:
                raise ValueError(f"知识产权「{item}」中的「{part}」既不是类型也不是状态") from error
        ip_type = ip_type or _infer_ip_type(number)
        if status is None:
            if number.upper().startswith("ZL"):
                status = IpStatus.GRANTED
            elif ip_type is IpType.SOFTWARE_COPYRIGHT:
                status = IpStatus.REGISTERED
            else:
                status = IpStatus.FILED
        rights.append({"number": number, "type": ip_type.value, "status": status.value})
    return rights


def format_ip(rights: list[dict[str, str]]) -> str:
    return "；".join(
        f"{right['number']}（{label_of(IpType(right['type']))}，{label_of(IpStatus(right['status']))}）"
        for right in rights
    )
