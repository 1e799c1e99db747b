"""Controlled vocabularies of the domain, each value with the Chinese label users see.

Values are stable English identifiers stored in the database; labels are what spreadsheets,
forms and pages show. ``parse_value`` accepts either.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

__all__ = [
    "CooperationMode",
    "ExpertStatus",
    "FeedbackAction",
    "IpStatus",
    "IpType",
    "Maturity",
    "NeedStatus",
    "NeedType",
    "OrganizationKind",
    "RejectReason",
    "ResultStatus",
    "Role",
    "Vocabulary",
    "label_of",
    "labels_of",
    "parse_value",
]

V = TypeVar("V", bound="Vocabulary")


class Vocabulary(StrEnum):
    """Base of the vocabularies: subclasses define ``_labels`` (value → Chinese label)."""

    @classmethod
    def labels(cls) -> dict[str, str]:
        raise NotImplementedError


class OrganizationKind(Vocabulary):
    ENTERPRISE = "enterprise"
    UNIVERSITY = "university"
    INSTITUTE = "institute"
    OTHER = "other"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {
            "enterprise": "企业",
            "university": "高校",
            "institute": "科研院所",
            "other": "其他",
        }


class NeedType(Vocabulary):
    RESEARCH = "research"
    ADOPTION = "adoption"
    TALENT = "talent"
    PLATFORM = "platform"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {
            "research": "技术研发",
            "adoption": "成果引进转化",
            "talent": "人才团队引进",
            "platform": "平台共建",
        }


class NeedStatus(Vocabulary):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_EVALUATION = "under_evaluation"
    PUBLISHED = "published"
    MATCHED = "matched"
    SIGNED = "signed"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {
            "draft": "草稿",
            "submitted": "已提交",
            "under_evaluation": "评审中",
            "published": "已发布",
            "matched": "已对接",
            "signed": "已签约",
            "closed": "已关闭",
            "withdrawn": "已撤回",
        }


class ResultStatus(Vocabulary):
    DRAFT = "draft"
    PUBLISHED = "published"
    TRANSFERRED = "transferred"
    WITHDRAWN = "withdrawn"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {
            "draft": "草稿",
            "published": "已发布",
            "transferred": "已转化",
            "withdrawn": "已撤回",
        }


class ExpertStatus(Vocabulary):
    ACTIVE = "active"
    INACTIVE = "inactive"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {"active": "在库", "inactive": "停用"}


class Maturity(Vocabulary):
    RESEARCH = "research"
    LAB = "lab"
    PILOT = "pilot"
    INDUSTRIAL = "industrial"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {"research": "研发", "lab": "小试", "pilot": "中试", "industrial": "产业化"}

    @property
    def trl_range(self) -> tuple[int, int]:
        """The technology readiness levels (1-9) this stage spans."""
        return {
            "research": (1, 3),
            "lab": (4, 5),
            "pilot": (6, 7),
            "industrial": (8, 9),
        }[self.value]


class CooperationMode(Vocabulary):
    TRANSFER = "transfer"
    LICENSE = "license"
    JOINT_DEVELOPMENT = "joint_development"
    COMMISSIONED_DEVELOPMENT = "commissioned_development"
    CONSULTING = "consulting"
    EQUITY = "equity"
    TALENT_TRAINING = "talent_training"
    JOINT_PLATFORM = "joint_platform"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {
            "transfer": "技术转让",
            "license": "技术许可",
            "joint_development": "合作开发",
            "commissioned_development": "委托开发",
            "consulting": "技术咨询与服务",
            "equity": "作价入股",
            "talent_training": "人才培养",
            "joint_platform": "共建平台",
        }


class IpType(Vocabulary):
    INVENTION_PATENT = "invention_patent"
    UTILITY_MODEL = "utility_model"
    DESIGN_PATENT = "design_patent"
    SOFTWARE_COPYRIGHT = "software_copyright"
    PLANT_VARIETY = "plant_variety"
    IC_LAYOUT = "ic_layout"
    KNOW_HOW = "know_how"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {
            "invention_patent": "发明专利",
            "utility_model": "实用新型专利",
            "design_patent": "外观设计专利",
            "software_copyright": "软件著作权",
            "plant_variety": "植物新品种权",
            "ic_layout": "集成电路布图设计",
            "know_how": "技术秘密",
        }


class IpStatus(Vocabulary):
    GRANTED = "granted"
    EXAMINATION = "examination"
    FILED = "filed"
    REGISTERED = "registered"
    EXPIRED = "expired"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {
            "granted": "已授权",
            "examination": "实审中",
            "filed": "已受理",
            "registered": "已登记",
            "expired": "已失效",
        }


class FeedbackAction(Vocabulary):
    """What happened to a proposed pair, from weakest to strongest signal."""

    SHOWN = "shown"
    OPENED = "opened"
    CONTACTED = "contacted"
    MEETING = "meeting"
    NEGOTIATING = "negotiating"
    SIGNED = "signed"
    REJECTED = "rejected"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {
            "shown": "已展示",
            "opened": "已查看",
            "contacted": "已联系",
            "meeting": "已洽谈",
            "negotiating": "谈判中",
            "signed": "已签约",
            "rejected": "不合适",
        }


class RejectReason(Vocabulary):
    IRRELEVANT = "irrelevant"
    IMMATURE = "immature"
    PRICE = "price"
    REGION = "region"
    EXISTING_PARTNER = "existing_partner"
    OTHER = "other"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {
            "irrelevant": "不相关",
            "immature": "成熟度不够",
            "price": "价格不合适",
            "region": "地域",
            "existing_partner": "已有合作",
            "other": "其他",
        }


class Role(Vocabulary):
    """Account roles. Enterprise and university users act for their own organization only."""

    ADMIN = "admin"
    STAFF = "staff"
    ORGANISER = "organiser"
    EXPERT = "expert"
    ENTERPRISE = "enterprise"
    UNIVERSITY = "university"

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {
            "admin": "系统管理员",
            "staff": "转移中心工作人员",
            "organiser": "活动组织者",
            "expert": "评审专家",
            "enterprise": "企业用户",
            "university": "高校院所用户",
        }


# Spellings people write in forms for the same value.
_SYNONYMS: dict[type[Vocabulary], dict[str, str]] = {
    OrganizationKind: {
        "大学": "university",
        "高等院校": "university",
        "院所": "institute",
        "研究院": "institute",
        "研究所": "institute",
        "公司": "enterprise",
    },
    CooperationMode: {
        "技术咨询": "consulting",
        "技术服务": "consulting",
        "技术入股": "equity",
        "联合开发": "joint_development",
        "平台共建": "joint_platform",
        "许可": "license",
        "转让": "transfer",
    },
    IpType: {
        "发明": "invention_patent",
        "实用新型": "utility_model",
        "外观设计": "design_patent",
        "软著": "software_copyright",
        "计算机软件著作权": "software_copyright",
    },
    Maturity: {
        "研发阶段": "research",
        "实验室阶段": "research",
        "小试阶段": "lab",
        "中试阶段": "pilot",
        "产业化阶段": "industrial",
        "已产业化": "industrial",
    },
    NeedStatus: {"待评审": "under_evaluation", "对接中": "matched", "已完成": "closed"},
    IpStatus: {
        "授权": "granted",
        "已授予": "granted",
        "审查中": "examination",
        "申请中": "filed",
        "受理": "filed",
    },
}


def labels_of(vocabulary: type[V]) -> list[str]:
    """The Chinese labels of a vocabulary, in declaration order."""
    return [vocabulary.labels()[member.value] for member in vocabulary]


def label_of(value: Vocabulary) -> str:
    """The Chinese label of one value."""
    return type(value).labels()[value.value]


def parse_value(vocabulary: type[V], text: str) -> V:
    """Read a value from its Chinese label, a known synonym or its English identifier.

    Raises ``ValueError`` with the allowed labels when the text matches none.
    """
    cleaned = text.strip()
    by_label = {lbl: value for value, lbl in vocabulary.labels().items()}
    if cleaned in by_label:
        return vocabulary(by_label[cleaned])
    synonym = _SYNONYMS.get(vocabulary, {}).get(cleaned)
    if synonym is not None:
        return vocabulary(synonym)
    lowered = cleaned.lower()
    for member in vocabulary:
        if lowered in (member.value, member.name.lower()):
            return member
    raise ValueError("应为以下之一：" + "、".join(labels_of(vocabulary)))
