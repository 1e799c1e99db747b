"""Regions: free-written places split into province, city and district, and written back."""

from __future__ import annotations

import pytest

from matching.regions import PROVINCES, Region, parse_region

MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")

EXAMPLES: list[tuple[str, Region]] = [
    # Full names.
    ("安徽省铜陵市义安区", Region("安徽省", "铜陵市", "义安区")),
    ("广东省深圳市南山区", Region("广东省", "深圳市", "南山区")),
    ("黑龙江省哈尔滨市南岗区", Region("黑龙江省", "哈尔滨市", "南岗区")),
    ("安徽铜陵市义安区", Region("安徽省", "铜陵市", "义安区")),
    ("安徽省铜陵市", Region("安徽省", "铜陵市", "")),
    ("安徽省", Region("安徽省", "", "")),
    ("安徽", Region("安徽省", "", "")),
    # Separated forms.
    ("安徽 铜陵 义安区", Region("安徽省", "铜陵市", "义安区")),
    ("安徽省 铜陵市 义安区", Region("安徽省", "铜陵市", "义安区")),
    ("安徽/铜陵市", Region("安徽省", "铜陵市", "")),
    ("安徽、铜陵、义安区", Region("安徽省", "铜陵市", "义安区")),
    ("安徽,铜陵,义安区", Region("安徽省", "铜陵市", "义安区")),
    ("安徽-铜陵-义安区", Region("安徽省", "铜陵市", "义安区")),
    ("安徽>铜陵>义安区", Region("安徽省", "铜陵市", "义安区")),
    ("安徽·铜陵", Region("安徽省", "铜陵市", "")),
    ("  安徽　铜陵　义安区  ", Region("安徽省", "铜陵市", "义安区")),
    ("安徽省 铜陵市义安区", Region("安徽省", "铜陵市", "义安区")),
    ("安徽省铜陵市 义安区", Region("安徽省", "铜陵市", "义安区")),
    ("安徽 义安区", Region("安徽省", "", "义安区")),
    # Municipalities: the city is the municipality itself.
    ("北京市海淀区", Region("北京市", "北京市", "海淀区")),
    ("北京海淀区", Region("北京市", "北京市", "海淀区")),
    ("北京 海淀区", Region("北京市", "北京市", "海淀区")),
    ("上海浦东新区", Region("上海市", "上海市", "浦东新区")),
    ("天津市滨海新区", Region("天津市", "天津市", "滨海新区")),
    ("重庆市", Region("重庆市", "重庆市", "")),
    ("重庆市石柱土家族自治县", Region("重庆市", "重庆市", "石柱土家族自治县")),
    # Autonomous regions and special administrative regions, full and short.
    ("内蒙古自治区呼和浩特市新城区", Region("内蒙古自治区", "呼和浩特市", "新城区")),
    ("广西壮族自治区南宁市青秀区", Region("广西壮族自治区", "南宁市", "青秀区")),
    ("广西南宁市青秀区", Region("广西壮族自治区", "南宁市", "青秀区")),
    ("新疆维吾尔自治区乌鲁木齐市天山区", Region("新疆维吾尔自治区", "乌鲁木齐市", "天山区")),
    ("西藏拉萨市城关区", Region("西藏自治区", "拉萨市", "城关区")),
    ("宁夏银川市兴庆区", Region("宁夏回族自治区", "银川市", "兴庆区")),
    ("香港特别行政区", Region("香港特别行政区", "", "")),
    # 盟, 自治州 and 地区 at city level; 旗 and 自治县 at district level.
    ("内蒙古锡林郭勒盟", Region("内蒙古自治区", "锡林郭勒盟", "")),
    ("内蒙古锡林郭勒盟锡林浩特市", Region("内蒙古自治区", "锡林郭勒盟", "锡林浩特市")),
    ("内蒙古 锡林郭勒盟 锡林浩特市", Region("内蒙古自治区", "锡林郭勒盟", "锡林浩特市")),
    ("内蒙古呼伦贝尔市鄂温克族自治旗", Region("内蒙古自治区", "呼伦贝尔市", "鄂温克族自治旗")),
    ("内蒙古阿拉善盟阿拉善左旗", Region("内蒙古自治区", "阿拉善盟", "阿拉善左旗")),
    ("湖北省恩施土家族苗族自治州恩施市", Region("湖北省", "恩施土家族苗族自治州", "恩施市")),
    ("湖北省恩施土家族苗族自治州来凤县", Region("湖北省", "恩施土家族苗族自治州", "来凤县")),
    ("新疆伊犁哈萨克自治州伊宁市", Region("新疆维吾尔自治区", "伊犁哈萨克自治州", "伊宁市")),
    ("云南省大理白族自治州大理市", Region("云南省", "大理白族自治州", "大理市")),
    ("黑龙江省大兴安岭地区漠河市", Region("黑龙江省", "大兴安岭地区", "漠河市")),
    ("广东省清远市连山壮族瑶族自治县", Region("广东省", "清远市", "连山壮族瑶族自治县")),
    # County-level cities.
    ("江苏省苏州市昆山市", Region("江苏省", "苏州市", "昆山市")),
    ("浙江省金华市义乌市", Region("浙江省", "金华市", "义乌市")),
    ("河南省济源市", Region("河南省", "济源市", "")),
    # A city that shares its province's short name.
    ("吉林省吉林市船营区", Region("吉林省", "吉林市", "船营区")),
    ("吉林吉林市船营区", Region("吉林省", "吉林市", "船营区")),
    ("吉林市船营区", Region("吉林省", "吉林市", "船营区")),
    ("吉林 吉林市 船营区", Region("吉林省", "吉林市", "船营区")),
    # Province left out.
    ("铜陵市义安区", Region("", "铜陵市", "义安区")),
    ("苏州市", Region("", "苏州市", "")),
    ("恩施土家族苗族自治州恩施市", Region("", "恩施土家族苗族自治州", "恩施市")),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES)
def test_parse_region_splits_the_levels(text: str, expected: Region) -> None:
    assert parse_region(text) == expected


@pytest.mark.parametrize(("text", "expected"), EXAMPLES)
def test_str_of_a_parsed_region_parses_back_to_the_same_region(text: str, expected: Region) -> None:
    region = parse_region(text)
    assert parse_region(str(region)) == region


@pytest.mark.parametrize("province", PROVINCES)
def test_parse_region_knows_every_province_by_full_name(province: str) -> None:
    region = parse_region(province + "测试区")
    assert region.province == province
    assert region.district == "测试区"
    assert region.city == (province if province in MUNICIPALITIES else "")


@pytest.mark.parametrize("province", [p for p in PROVINCES if p not in MUNICIPALITIES])
def test_parse_region_reads_a_city_and_district_under_every_province(province: str) -> None:
    assert parse_region(f"{province}测试市测试区") == Region(province, "测试市", "测试区")
    assert parse_region(f"{province} 测试 测试区") == Region(province, "测试市", "测试区")


@pytest.mark.parametrize(
    ("short", "province"),
    [
        ("北京", "北京市"),
        ("河北", "河北省"),
        ("黑龙江", "黑龙江省"),
        ("内蒙古", "内蒙古自治区"),
        ("广西", "广西壮族自治区"),
        ("西藏", "西藏自治区"),
        ("宁夏", "宁夏回族自治区"),
        ("新疆", "新疆维吾尔自治区"),
        ("香港", "香港特别行政区"),
        ("澳门", "澳门特别行政区"),
        ("台湾", "台湾省"),
    ],
)
def test_parse_region_knows_short_province_names(short: str, province: str) -> None:
    assert parse_region(short).province == province


@pytest.mark.parametrize("text", ["", "   ", "///", " , 、 "])
def test_parse_region_rejects_empty_text(text: str) -> None:
    with pytest.raises(ValueError, match="地区为空"):
        parse_region(text)


@pytest.mark.parametrize("text", ["abc", "某某某", "12345", "不详", "朝阳区"])
def test_parse_region_rejects_text_with_no_province_or_city(text: str) -> None:
    with pytest.raises(ValueError, match=f"无法识别地区「{text}」，请写成“省\\+市\\+区县”"):
        parse_region(text)


@pytest.mark.parametrize(
    ("region", "text"),
    [
        (Region("安徽省", "铜陵市", "义安区"), "安徽省铜陵市义安区"),
        (Region("北京市", "北京市", "海淀区"), "北京市海淀区"),
        (Region("北京市", "北京市", ""), "北京市"),
        (Region("", "铜陵市", "义安区"), "铜陵市义安区"),
        (Region("安徽省", "", ""), "安徽省"),
        (Region(), ""),
    ],
)
def test_str_writes_the_levels_without_repeating_a_municipality(region: Region, text: str) -> None:
    assert str(region) == text


def test_region_is_immutable_and_hashable() -> None:
    region = Region("安徽省", "铜陵市", "义安区")
    with pytest.raises(AttributeError):
        region.city = "合肥市"  # type: ignore[misc]
    assert len({region, Region("安徽省", "铜陵市", "义安区")}) == 1
