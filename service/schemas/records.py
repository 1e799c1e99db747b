"""Organizations, needs, results and experts: what the API answers and what it accepts.

Inputs take the importer's values: a stored identifier or its Chinese label (``"已发布"`` or
``"published"``), field codes or names, lists as JSON arrays or as ``"a；b"``. Their fields are
checked by ``matching.record_input`` (Chinese reasons), so the models here only describe them.
Contact data the caller may not see comes back as null with ``contact_hidden: true``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from matching.record_queries import RecordQuery
from matching.store.models import Expert, Need, Organization, Result
from matching.vocab import (
    ExpertStatus,
    Maturity,
    NeedStatus,
    NeedType,
    OrganizationKind,
    ResultStatus,
    label_of,
)

__all__ = [
    "ExpertInput",
    "ExpertPublic",
    "NeedInput",
    "NeedListParams",
    "NeedPublic",
    "OrganizationInput",
    "OrganizationListParams",
    "OrganizationPublic",
    "RecordListParams",
    "ResultInput",
    "ResultPublic",
]

# Inputs are typed loosely on purpose: the record parser gives every field a Chinese reason.
Text = Annotated[Any, WithJsonSchema({"type": "string"})]
Texts = Annotated[
    Any,
    WithJsonSchema({"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]}),
]
Number = Annotated[Any, WithJsonSchema({"type": "number"})]
Integer = Annotated[Any, WithJsonSchema({"type": "integer"})]
Flag = Annotated[Any, WithJsonSchema({"type": "boolean"})]
IpRights = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "array", "items": {"type": "object"}},
                {"type": "string"},
            ]
        }
    ),
]


def _field(description: str, example: Any = None) -> Any:
    return Field(None, description=description, examples=[example] if example else None)


class _Input(BaseModel):
    # Unknown keys reach the record parser, which names them in Chinese.
    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False})

    def values(self) -> dict[str, Any]:
        """The fields the caller sent (and only those)."""
        return self.model_dump(exclude_unset=True)


class _PlacedInput(_Input):
    region: Text = _field("地区（省+市+区县），拆分为 province/city/district", "安徽省铜陵市义安区")
    province: Text = _field("省")
    city: Text = _field("市")
    district: Text = _field("区县")


class OrganizationInput(_PlacedInput):
    name: Text = _field("单位全称（唯一，新建时必填）", "铜陵示例铜业有限公司")
    kind: Text = _field("企业、高校、科研院所 或 其他（省略时按名称推断）", "企业")
    credit_code: Text = _field("统一社会信用代码（18 位，核对校验位）")
    group_name: Text = _field("所属集团")
    contact_name: Text = _field("联系人")
    contact_phone: Text = _field("联系电话")
    contact_email: Text = _field("电子邮箱")


class _RecordInput(_PlacedInput):
    external_ref: Text = _field("编号（唯一；新建时省略则自动生成）")
    fields: Texts = _field("《学科分类与代码》一级学科：代码或名称", ["450", "冶金工程技术"])
    keywords: Texts = _field("关键词", ["制酸", "尾气"])
    organization_id: Integer = _field("所属单位 ID（企业用户、高校院所用户为本单位，不可改）")
    contact_phone: Text = _field("联系电话")
    status: Text = _field("状态：值或中文名称")


class NeedInput(_RecordInput):
    title: Text = _field("需求名称（新建时必填）", "铜冶炼烟气制酸转化率偏低")
    description: Text = _field("需求描述（新建时必填）")
    need_type: Text = _field("技术研发、成果引进转化、人才团队引进 或 平台共建", "技术研发")
    contact_name: Text = _field("联系人")
    cooperation_modes: Texts = _field("合作方式", ["合作开发", "技术许可"])
    budget_min: Number = _field("预算下限（万元）", 50)
    budget_max: Number = _field("预算上限（万元）", 100)
    target_indicators: Text = _field("目标指标")
    deadline: Text = _field("截止日期", "2027-06-30")
    source: Text = _field("来源")
    confidential: Flag = _field("是否保密（保密需求不对外显示企业）")


class ResultInput(_RecordInput):
    title: Text = _field("成果名称（新建时必填）", "高硫烟气低温催化氧化制酸新工艺")
    abstract: Text = _field("成果简介（新建时必填）")
    team_lead: Text = _field("团队负责人")
    team_members: Texts = _field("团队成员")
    maturity: Text = _field("研发、小试、中试 或 产业化", "中试")
    trl: Integer = _field("技术就绪度 1-9（须与成熟度一致）", 6)
    ip: IpRights = _field(
        "知识产权：文本“编号（类型，状态）；…”或 [{number, type, status}]",
        "ZL202110234567.8（发明专利，已授权）",
    )
    cooperation_modes: Texts = _field("合作方式")
    price_min: Number = _field("转让价格下限（万元）")
    price_max: Number = _field("转让价格上限（万元）")
    contact_name: Text = _field("联系人")
    source: Text = _field("来源")


class ExpertInput(_RecordInput):
    name: Text = _field("姓名（新建时必填）", "赵明")
    title: Text = _field("职称", "教授")
    profile: Text = _field("个人简介")
    conflict_organizations: Texts = _field("回避单位")
    contact_email: Text = _field("电子邮箱")


# --- answers ------------------------------------------------------------------------------


class _Timestamps(BaseModel):
    created_at: dt.datetime
    updated_at: dt.datetime


class OrganizationPublic(_Timestamps):
    id: int
    name: str
    kind: str
    kind_label: str
    credit_code: str
    group_name: str
    province: str
    city: str
    district: str
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    contact_hidden: bool

    @classmethod
    def of(cls, record: Organization, contacts: bool) -> OrganizationPublic:
        return cls(
            id=record.id,
            name=record.name,
            kind=record.kind,
            kind_label=label_of(OrganizationKind(record.kind)),
            credit_code=record.credit_code,
            group_name=record.group_name,
            province=record.province,
            city=record.city,
            district=record.district,
            contact_name=record.contact_name if contacts else None,
            contact_phone=record.contact_phone if contacts else None,
            contact_email=record.contact_email if contacts else None,
            contact_hidden=not contacts,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class _RecordPublic(_Timestamps):
    id: int
    external_ref: str
    fields: list[str]
    keywords: list[str]
    organization_id: int | None = Field(description="所属单位；保密需求对外为 null")
    organization_name: str | None
    province: str
    city: str
    district: str
    status: str
    status_label: str
    contact_phone: str | None
    contact_hidden: bool


class NeedPublic(_RecordPublic):
    title: str
    description: str
    need_type: str
    need_type_label: str
    cooperation_modes: list[str]
    budget_min: float | None = Field(description="万元")
    budget_max: float | None = Field(description="万元")
    target_indicators: str
    deadline: dt.date | None
    source: str
    confidential: bool
    owner_hidden: bool = Field(description="保密需求：不显示企业")
    contact_name: str | None
    duplicate_of_id: int | None

    @classmethod
    def of(cls, record: Need, contacts: bool, owner: bool = True) -> NeedPublic:
        return cls(
            id=record.id,
            external_ref=record.external_ref,
            title=record.title,
            description=record.description,
            need_type=record.need_type,
            need_type_label=label_of(NeedType(record.need_type)),
            fields=record.fields,
            keywords=record.keywords,
            organization_id=record.enterprise_id if owner else None,
            organization_name=record.enterprise.name if owner else None,
            owner_hidden=not owner,
            province=record.province,
            city=record.city,
            district=record.district,
            cooperation_modes=record.cooperation_modes,
            budget_min=record.budget_min,
            budget_max=record.budget_max,
            target_indicators=record.target_indicators,
            deadline=record.deadline,
            status=record.status,
            status_label=label_of(NeedStatus(record.status)),
            source=record.source,
            confidential=record.confidential,
            contact_name=record.contact_name if contacts else None,
            contact_phone=record.contact_phone if contacts else None,
            contact_hidden=not contacts,
            duplicate_of_id=record.duplicate_of_id,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class ResultPublic(_RecordPublic):
    title: str
    abstract: str
    team_lead: str
    team_members: list[str]
    maturity: str | None
    maturity_label: str | None
    trl: int | None
    ip: list[dict[str, str]]
    cooperation_modes: list[str]
    price_min: float | None = Field(description="万元")
    price_max: float | None = Field(description="万元")
    source: str
    contact_name: str | None

    @classmethod
    def of(cls, record: Result, contacts: bool) -> ResultPublic:
        return cls(
            id=record.id,
            external_ref=record.external_ref,
            title=record.title,
            abstract=record.abstract,
            fields=record.fields,
            keywords=record.keywords,
            organization_id=record.institution_id,
            organization_name=record.institution.name,
            province=record.province,
            city=record.city,
            district=record.district,
            team_lead=record.team_lead,
            team_members=record.team_members,
            maturity=record.maturity,
            maturity_label=label_of(Maturity(record.maturity)) if record.maturity else None,
            trl=record.trl,
            ip=record.ip,
            cooperation_modes=record.cooperation_modes,
            price_min=record.price_min,
            price_max=record.price_max,
            status=record.status,
            status_label=label_of(ResultStatus(record.status)),
            source=record.source,
            contact_name=record.contact_name if contacts else None,
            contact_phone=record.contact_phone if contacts else None,
            contact_hidden=not contacts,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class ExpertPublic(_RecordPublic):
    name: str
    title: str
    profile: str
    conflict_organizations: list[str]
    contact_email: str | None

    @classmethod
    def of(cls, record: Expert, contacts: bool) -> ExpertPublic:
        organization = record.organization
        return cls(
            id=record.id,
            external_ref=record.external_ref,
            name=record.name,
            title=record.title,
            fields=record.fields,
            keywords=record.keywords,
            profile=record.profile,
            conflict_organizations=record.conflict_organizations,
            organization_id=record.organization_id,
            organization_name=organization.name if organization else None,
            province=record.province,
            city=record.city,
            district=record.district,
            status=record.status,
            status_label=label_of(ExpertStatus(record.status)),
            contact_phone=record.contact_phone if contacts else None,
            contact_email=record.contact_email if contacts else None,
            contact_hidden=not contacts,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


# --- list parameters ----------------------------------------------------------------------


class _PageParams(BaseModel):
    sort: str = Field(
        "-updated_at", description="排序字段，前加 - 为倒序，如 -updated_at、title、ref"
    )
    page: int = Field(1, ge=1, le=1_000_000, description="页码，从 1 起")
    page_size: int = Field(20, ge=1, le=200, description="每页条数（最多 200）")


class OrganizationListParams(_PageParams):
    q: str = Field("", description="名称包含")
    kind: str = Field("", description="单位类型：值或中文名称")
    province: str = Field("", description="省（前缀匹配，“安徽”即安徽省）")
    city: str = Field("", description="市（前缀匹配）")

    def query(self) -> RecordQuery:
        return RecordQuery(
            text=self.q,
            kind=self.kind,
            province=self.province,
            city=self.city,
            sort=self.sort,
            page=self.page,
            page_size=self.page_size,
        )


class RecordListParams(_PageParams):
    q: str = Field("", description="名称（标题或姓名）或编号包含")
    status: list[str] = Field([], description="状态（可重复）：值或中文名称")
    field: str = Field("", description="领域：代码或名称")
    province: str = Field("", description="省（前缀匹配，“安徽”即安徽省）")
    city: str = Field("", description="市（前缀匹配）")
    organization_id: int | None = Field(None, ge=1, lt=2**31, description="所属单位 ID")

    def query(self) -> RecordQuery:
        return RecordQuery(
            text=self.q,
            statuses=tuple(self.status),
            field=self.field,
            province=self.province,
            city=self.city,
            organization_id=self.organization_id,
            sort=self.sort,
            page=self.page,
            page_size=self.page_size,
        )


class NeedListParams(RecordListParams):
    need_type: str = Field("", description="需求类型：值或中文名称")

    def query(self) -> RecordQuery:
        return replace(super().query(), need_type=self.need_type)
