"""Chinese administrative regions: split "安徽省铜陵市义安区" into province, city and district."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PROVINCES", "Region", "parse_region"]

PROVINCES: tuple[str, ...] = (
    "北京市",
    "天津市",
    "上海市",
    "重庆市",
    "河北省",
    "山西省",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "海南省",
    "四川省",
    "贵州省",
    "云南省",
    "陕西省",
    "甘肃省",
    "青海省",
    "台湾省",
    "内蒙古自治区",
    "广西壮族自治区",
    "西藏自治区",
    "宁夏回族自治区",
    "新疆维吾尔自治区",
    "香港特别行政区",
    "澳门特别行政区",
)
_MUNICIPALITIES = {"北京市", "天津市", "上海市", "重庆市"}
_SHORT_NAMES = {
    re.sub(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$", "", name): name
    for name in PROVINCES
}
_CITY = re.compile(r"^(.+?(?:自治州|地区|盟|市))")
_DISTRICT = re.compile(r"^(.+?(?:自治县|自治旗|新区|区|县|旗|市))")


@dataclass(frozen=True)
class Region:
    """A place; empty strings where a level is unknown."""

    province: str = ""
    city: str = ""
    district: str = ""

    def __str__(self) -> str:
        if self.province in _MUNICIPALITIES and self.city == self.province:
            return self.province + self.district
        return self.province + self.city + self.district


def _split_province(text: str) -> tuple[str, str]:
    for name in PROVINCES:
        if text.startswith(name):
            return name, text[len(name) :]
    for short, name in sorted(_SHORT_NAMES.items(), key=lambda item: -len(item[0])):
        if text.startswith(short):
            rest = text[len(short) :]
            # "吉林市船营区" is the city 吉林市 of 吉林省, not 吉林省 followed by "市船营区".
            return name, text if rest.startswith("市") else rest
    return "", text


def _with_city_suffix(name: str) -> str:
    return name if re.search(r"(市|自治州|地区|盟)$", name) else name + "市"


def parse_region(text: str) -> Region:
    """Split a free-written region into its levels.

    Accepts "安徽省铜陵市义安区", "安徽 铜陵 义安区", "安徽/铜陵市", "北京市海淀区",
    "内蒙古锡林郭勒盟". Raises ``ValueError`` (Chinese reason) when nothing can be read.
    """
    parts = [part for part in re.split(r"[\s/、,，\-－—·>]+", text.strip()) if part]
    if not parts:
        raise ValueError("地区为空")
    province, rest = _split_province(parts[0])
    if len(parts) >= 2 and province and not rest:
        # Written with separators: "安徽 铜陵 义安区".
        if province in _MUNICIPALITIES:
            return Region(province, province, "".join(parts[1:]))
        # Only a bare name ("铜陵") or a whole city ("铜陵市") is the city; "铜陵市义安区" or
        # "义安区" are read as if written without separators.
        city_match = _CITY.match(parts[1])
        bare = city_match is None and _DISTRICT.match(parts[1]) is None
        if bare or (city_match is not None and city_match.group(1) == parts[1]):
            return Region(province, _with_city_suffix(parts[1]), "".join(parts[2:]))
    province, rest = _split_province("".join(parts))
    city = ""
    if province in _MUNICIPALITIES:
        city = province
    elif rest:
        match = _CITY.match(rest)
        if match and len(match.group(1)) <= 12:
            city, rest = match.group(1), rest[len(match.group(1)) :]
    district = ""
    if rest:
        match = _DISTRICT.match(rest)
        district = match.group(1) if match else rest
    if not province and not city:
        raise ValueError(
            f"无法识别地区「{text.strip()}」，请写成“省+市+区县”，如：安徽省铜陵市义安区"
        )
    return Region(province, city, district)
