"""The columns of the import/export spreadsheets for needs, results and experts.

One list per entity drives import (header matching, parsing), export (formatting), the XLSX
templates (drop-down lists, the help sheet) and the docs, so they cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matching import cells
from matching.fields import field_code_list
from matching.regions import parse_region
from matching.vocab import (
    CooperationMode,
    ExpertStatus,
    Maturity,
    NeedStatus,
    NeedType,
    OrganizationKind,
    ResultStatus,
    Vocabulary,
    label_of,
    labels_of,
    parse_value,
)

__all__ = ["ENTITY_COLUMNS", "Column", "header_key", "resolve_headers"]


@dataclass(frozen=True)
class Column:
    """One spreadsheet column.

    ``parse`` turns a non-empty cell into the stored value (``ValueError`` with a Chinese reason
    otherwise); ``format`` turns the stored value back into the cell text.
    """

    key: str
    header: str
    help: str
    example: str
    parse: Callable[[Any], Any]
    format: Callable[[Any], Any]
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    multiple: bool = False


def _text(max_length: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = cells.unescape_formula(str(value).strip())
        if len(text) > max_length:
            raise ValueError(f"过长：{len(text)} 字，最多 {max_length} 字")
        return text

    return parse


def _identity(value: Any) -> Any:
    return value if value is not None else ""


def _one(vocabulary: type[Vocabulary]) -> Callable[[Any], str]:
    return lambda value: parse_value(vocabulary, str(value)).value


def _many(vocabulary: type[Vocabulary]) -> Callable[[Any], list[str]]:
    return lambda value: [
        parse_value(vocabulary, item).value for item in cells.parse_list(str(value))
    ]


def _show_one(vocabulary: type[Vocabulary]) -> Callable[[Any], str]:
    return lambda value: label_of(vocabulary(value)) if value else ""


def _show_many(vocabulary: type[Vocabulary]) -> Callable[[Any], str]:
    return lambda values: cells.format_list([label_of(vocabulary(v)) for v in values or []])


def _parse_fields(value: Any) -> list[str]:
    codes = field_code_list()
    parsed: list[str] = []
    for item in cells.parse_list(str(value)):
        code = codes.parse(item)
        if code not in parsed:
            parsed.append(code)
    return parsed


def _format_fields(codes: list[str]) -> str:
    fields = field_code_list()
    return cells.format_list([fields[code].display if code in fields else code for code in codes])


def _parse_keywords(value: Any) -> list[str]:
    items = cells.parse_list(cells.unescape_formula(str(value)))
    if any(len(item) > 40 for item in items):
        raise ValueError("关键词过长（每个最多 40 字），请用“；”或“、”分隔多个关键词")
    return items


def _parse_region(value: Any) -> tuple[str, str, str]:
    region = parse_region(str(value))
    return region.province, region.city, region.district


def _format_region(value: tuple[str, str, str]) -> str:
    from matching.regions import Region

    return str(Region(*value)) if value else ""


def _parse_trl(value: Any) -> int:
    text = str(value).strip().upper().removeprefix("TRL")
    if not re.fullmatch(r"\d", text.strip()) or not 1 <= int(text) <= 9:
        raise ValueError("技术就绪度应为 1-9 的整数")
    return int(text)


def _format_bool(value: Any) -> str:
    return "是" if value else "否"


def _format_money(value: tuple[float | None, float | None]) -> str:
    return cells.format_money(*value) if value else "面议"


def _ref(header: str, example: str, what: str) -> Column:
    return Column(
        "external_ref",
        header,
        f"{what}的唯一编号。再次导入同一编号会更新原记录而不是新增；留空时按名称自动生成。",
        example,
        _text(64),
        _identity,
        aliases=("编号", "external_ref", "ref", "id"),
    )


_REGION = Column(
    "region",
    "所在地区",
    "省 + 市 + 区县，如：安徽省铜陵市义安区；也可分隔书写：安徽 铜陵 义安区。",
    "安徽省铜陵市义安区",
    _parse_region,
    _format_region,
    aliases=("地区", "所在地", "region"),
)
_FIELDS = Column(
    "fields",
    "所属领域",
    "《学科分类与代码》(GB/T 13745-2009) 一级学科，写代码或名称，多个用“；”分隔。",
    "450 冶金工程技术；610 环境科学技术及资源科学技术",
    _parse_fields,
    _format_fields,
    aliases=("领域", "技术领域", "fields"),
    choices=tuple(f.display for f in field_code_list().fields),
    multiple=True,
)
_COOPERATION = Column(
    "cooperation_modes",
    "合作方式",
    "可多选，用“；”分隔：" + "、".join(labels_of(CooperationMode)),
    "合作开发；技术许可",
    _many(CooperationMode),
    _show_many(CooperationMode),
    aliases=("期望合作方式", "cooperation_modes"),
    choices=tuple(labels_of(CooperationMode)),
    multiple=True,
)
_CONTACT_NAME = Column(
    "contact_name",
    "联系人",
    "联系人姓名。",
    "王工",
    _text(64),
    _identity,
    aliases=("contact_name",),
)
_CONTACT_PHONE = Column(
    "contact_phone",
    "联系电话",
    "手机或座机。",
    "0562-2881234",
    cells.parse_phone,
    _identity,
    aliases=("电话", "手机", "contact_phone"),
)

NEED_COLUMNS: tuple[Column, ...] = (
    _ref("需求编号", "TL-2027-001", "需求"),
    Column(
        "title",
        "需求名称",
        "一句话说明要解决的技术问题，最多 200 字。",
        "铜冶炼烟气制酸转化率偏低",
        _text(200),
        _identity,
        required=True,
        aliases=("需求标题", "标题", "title"),
    ),
    Column(
        "description",
        "需求描述",
        "现状、问题、已做过的尝试、约束条件，越具体越好。",
        "现有两转两吸制酸系统 SO2 转化率约 99.6%，尾气 SO2 排放波动在 150-300mg/m³……",
        _text(10000),
        _identity,
        required=True,
        aliases=("需求内容", "描述", "description"),
    ),
    Column(
        "need_type",
        "需求类型",
        "：".join(["可选", "、".join(labels_of(NeedType))]) + "；默认 技术研发。",
        "技术研发",
        _one(NeedType),
        _show_one(NeedType),
        aliases=("类型", "need_type"),
        choices=tuple(labels_of(NeedType)),
    ),
    _FIELDS,
    Column(
        "keywords",
        "关键词",
        "3-6 个，用“；”或“、”分隔。",
        "制酸；尾气；SO2",
        _parse_keywords,
        cells.format_list,
        aliases=("keywords",),
        multiple=True,
    ),
    Column(
        "enterprise",
        "企业名称",
        "提出需求的企业全称。",
        "铜陵示例铜业有限公司",
        _text(200),
        _identity,
        required=True,
        aliases=("单位名称", "企业", "enterprise"),
    ),
    Column(
        "credit_code",
        "统一社会信用代码",
        "18 位，系统会核对校验位。",
        "91350100M000100Y43",
        cells.parse_credit_code,
        _identity,
        aliases=("信用代码", "credit_code"),
    ),
    Column(
        "group_name",
        "所属集团",
        "企业所属集团（用于评审回避），没有则留空。",
        "",
        _text(200),
        _identity,
        aliases=("集团", "group_name"),
    ),
    _REGION,
    _CONTACT_NAME,
    _CONTACT_PHONE,
    _COOPERATION,
    Column(
        "budget",
        "预算(万元)",
        "计划投入，单位万元：80、50-100、200以上 或 面议。",
        "50-100",
        cells.parse_money,
        _format_money,
        aliases=("预算", "计划投入(万元)", "拟投入资金(万元)", "budget"),
    ),
    Column(
        "target_indicators",
        "目标指标",
        "希望达到的量化指标。",
        "SO2 排放浓度稳定低于 100mg/m³",
        _text(5000),
        _identity,
        aliases=("技术指标", "target_indicators"),
    ),
    Column(
        "deadline",
        "截止日期",
        "希望完成或对接的日期，如 2027-06-30。",
        "2027-06-30",
        cells.parse_date,
        cells.format_date,
        aliases=("完成时间", "期望完成时间", "deadline"),
    ),
    Column(
        "status",
        "状态",
        "、".join(labels_of(NeedStatus)) + "；默认 已提交。",
        "已提交",
        _one(NeedStatus),
        _show_one(NeedStatus),
        aliases=("status",),
        choices=tuple(labels_of(NeedStatus)),
    ),
    Column(
        "source",
        "来源",
        "需求从哪里征集来的，如 2026年铜陵市需求征集。",
        "2026年需求征集",
        _text(200),
        _identity,
        aliases=("需求来源", "source"),
    ),
    Column(
        "confidential",
        "是否保密",
        "是 / 否；保密需求不对外公开企业信息。",
        "否",
        cells.parse_bool,
        _format_bool,
        aliases=("保密", "confidential"),
        choices=("是", "否"),
    ),
)

RESULT_COLUMNS: tuple[Column, ...] = (
    _ref("成果编号", "CSU-2026-017", "成果"),
    Column(
        "title",
        "成果名称",
        "成果的名称，最多 200 字。",
        "高硫烟气低温催化氧化制酸新工艺",
        _text(200),
        _identity,
        required=True,
        aliases=("名称", "标题", "title"),
    ),
    Column(
        "abstract",
        "成果简介",
        "技术原理、关键参数、已达到的性能、应用情况。",
        "采用铯促进钒系低温催化剂……",
        _text(10000),
        _identity,
        required=True,
        aliases=("成果介绍", "简介", "摘要", "abstract"),
    ),
    _FIELDS,
    Column(
        "keywords",
        "关键词",
        "3-6 个，用“；”或“、”分隔。",
        "低温催化；钒催化剂；SO2氧化",
        _parse_keywords,
        cells.format_list,
        aliases=("keywords",),
        multiple=True,
    ),
    Column(
        "institution",
        "完成单位",
        "高校或科研院所全称。",
        "中南大学",
        _text(200),
        _identity,
        required=True,
        aliases=("单位名称", "所属单位", "institution"),
    ),
    Column(
        "institution_kind",
        "单位类型",
        "高校、科研院所、企业 或 其他；默认 高校。",
        "高校",
        _one(OrganizationKind),
        _show_one(OrganizationKind),
        aliases=("institution_kind",),
        choices=tuple(labels_of(OrganizationKind)),
    ),
    _REGION,
    Column(
        "team_lead",
        "团队负责人",
        "成果负责人姓名。",
        "张三",
        _text(64),
        _identity,
        aliases=("负责人", "team_lead"),
    ),
    Column(
        "team_members",
        "团队成员",
        "用“；”或“、”分隔。",
        "李四；王五",
        lambda value: cells.parse_list(str(value)),
        cells.format_list,
        aliases=("成员", "team_members"),
        multiple=True,
    ),
    Column(
        "maturity",
        "成熟度",
        "研发、小试、中试 或 产业化。",
        "中试",
        _one(Maturity),
        _show_one(Maturity),
        aliases=("成熟度阶段", "maturity"),
        choices=tuple(labels_of(Maturity)),
    ),
    Column(
        "trl",
        "技术就绪度(TRL)",
        "1-9；须与成熟度一致：研发 1-3、小试 4-5、中试 6-7、产业化 8-9。",
        "6",
        _parse_trl,
        lambda value: value if value is not None else "",
        aliases=("技术就绪度", "TRL", "trl"),
    ),
    Column(
        "ip",
        "知识产权",
        "编号（类型，状态），多个用“；”分隔。",
        "ZL202110234567.8（发明专利，已授权）",
        lambda value: cells.parse_ip(str(value)),
        cells.format_ip,
        aliases=("专利", "知识产权情况", "ip"),
    ),
    _COOPERATION,
    Column(
        "price",
        "转让价格(万元)",
        "期望价格，单位万元：120、100-200 或 面议。",
        "面议",
        cells.parse_money,
        _format_money,
        aliases=("价格(万元)", "转让价格", "asking_price", "price"),
    ),
    _CONTACT_NAME,
    _CONTACT_PHONE,
    Column(
        "status",
        "状态",
        "、".join(labels_of(ResultStatus)) + "；默认 已发布。",
        "已发布",
        _one(ResultStatus),
        _show_one(ResultStatus),
        aliases=("status",),
        choices=tuple(labels_of(ResultStatus)),
    ),
    Column(
        "source",
        "来源",
        "成果从哪里收集来的。",
        "2026年高校成果征集",
        _text(200),
        _identity,
        aliases=("成果来源", "source"),
    ),
)

EXPERT_COLUMNS: tuple[Column, ...] = (
    _ref("专家编号", "ZJ-0001", "专家"),
    Column(
        "name",
        "姓名",
        "专家姓名。",
        "赵明",
        _text(64),
        _identity,
        required=True,
        aliases=("专家姓名", "name"),
    ),
    Column(
        "institution",
        "工作单位",
        "单位全称；评审时自动回避本单位。",
        "中南大学",
        _text(200),
        _identity,
        aliases=("单位", "所在单位", "institution"),
    ),
    Column(
        "title",
        "职称",
        "如 教授、研究员、正高级工程师。",
        "教授",
        _text(64),
        _identity,
        aliases=("专业技术职称", "title"),
    ),
    Column(
        "fields",
        "专业领域",
        _FIELDS.help,
        "450 冶金工程技术",
        _parse_fields,
        _format_fields,
        aliases=("所属领域", "领域", "fields"),
        choices=_FIELDS.choices,
        multiple=True,
    ),
    Column(
        "keywords",
        "研究方向",
        "3-6 个关键词，用“；”或“、”分隔。",
        "有色冶金；烟气治理",
        _parse_keywords,
        cells.format_list,
        aliases=("关键词", "keywords"),
        multiple=True,
    ),
    Column(
        "profile",
        "个人简介",
        "研究方向、代表性项目与成果、产业服务经历。",
        "长期从事……",
        _text(10000),
        _identity,
        aliases=("简介", "profile"),
    ),
    Column(
        "conflict_organizations",
        "回避单位",
        "需要回避的单位（兼职、顾问、前雇主等），用“；”分隔。",
        "铜陵示例铜业有限公司",
        lambda value: cells.parse_list(cells.unescape_formula(str(value))),
        cells.format_list,
        aliases=("利益冲突单位", "conflict_organizations"),
        multiple=True,
    ),
    _REGION,
    _CONTACT_PHONE,
    Column(
        "contact_email",
        "电子邮箱",
        "",
        "zhaoming@example.edu.cn",
        cells.parse_email,
        _identity,
        aliases=("邮箱", "email", "contact_email"),
    ),
    Column(
        "status",
        "状态",
        "在库 或 停用；默认 在库。",
        "在库",
        _one(ExpertStatus),
        _show_one(ExpertStatus),
        aliases=("status",),
        choices=tuple(labels_of(ExpertStatus)),
    ),
)

ENTITY_COLUMNS: dict[str, tuple[Column, ...]] = {
    "needs": NEED_COLUMNS,
    "results": RESULT_COLUMNS,
    "experts": EXPERT_COLUMNS,
}


def header_key(text: str) -> str:
    """Normalise a header for matching: no spaces, no required-marks, half-width brackets."""
    cleaned = text.strip().replace("（", "(").replace("）", ")").replace("＊", "*")
    return re.sub(r"[\s*：:]", "", cleaned).lower()


def resolve_headers(entity: str, headers: list[str]) -> dict[str, Column]:
    """Map each header found in a file to its column (unknown headers are left out)."""
    by_name: dict[str, Column] = {}
    for column in ENTITY_COLUMNS[entity]:
        for name in (column.header, *column.aliases, column.key):
            by_name.setdefault(header_key(name), column)
    return {
        header: by_name[header_key(header)] for header in headers if header_key(header) in by_name
    }
