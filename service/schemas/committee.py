"""Request bodies of the committee routes (``/api/v1/rounds``). Answers are the library's
dataclasses (``matching.committee*``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from matching.committee_forms import Answers

__all__ = [
    "AnswersIn",
    "ExpertsIn",
    "ItemIn",
    "ItemsIn",
    "OverrideIn",
    "ReasonIn",
    "RoundCreate",
    "RoundOptions",
    "RoundUpdate",
    "TierIn",
]


def _id_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


MAX_ID = 2_147_483_647

# An id (number) or a 编号; a JSON number is read as its digits.
Key = Annotated[str, BeforeValidator(_id_as_text), StringConstraints(min_length=1, max_length=64)]


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=32, description="等级名称，如 一等")
    share: float | None = Field(default=None, gt=0, le=1, description="按比例：占排名项目的比例")
    min_score: float | None = Field(default=None, description="按分数线：不低于此分（百分制）")


class RoundOptions(BaseModel):
    """How the round is aggregated and staffed."""

    model_config = ConfigDict(extra="forbid")

    normalise: bool = Field(default=False, description="按专家标准化（z 分数）后再汇总")
    veto_quorum: int = Field(default=1, ge=1, description="否决生效所需的专家人数")
    outlier_sd_factor: float = Field(
        default=2.0, gt=0, description="离群判定：其他专家标准差的倍数"
    )
    outlier_floor: float = Field(default=15.0, ge=0, description="离群判定的最小分差（分）")
    decimals: int = Field(default=2, ge=0, le=4, description="排名得分保留的小数位数")
    tiers: list[TierIn] | None = Field(
        default=None, description="等级划分；默认 一等/二等/三等 = 前 10%/20%/30%"
    )
    one_per_institution: bool = Field(default=False, description="每个评审组每个单位至多一位专家")

    def as_dict(self) -> dict[str, Any]:
        data = self.model_dump(exclude_none=True)
        if self.tiers is not None:
            data["tiers"] = [tier.model_dump(exclude_none=True) for tier in self.tiers]
        return data


class RoundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="评比批次名称")
    description: str = Field(default="", max_length=4000)
    template: dict[str, Any] | None = Field(
        default=None, description="评审表模板（JSON），缺省为企业技术需求评比默认模板"
    )
    reviewers_per_item: int = Field(default=5, ge=1, le=50, description="每个项目的评审专家数")
    max_load: int = Field(default=10, ge=1, le=1000, description="每位专家最多评审的项目数")
    min_load: int = Field(default=0, ge=0, le=1000, description="每位专家最少评审的项目数")
    deadline: dt.date | None = Field(default=None, description="评审截止日期")
    options: RoundOptions = Field(default_factory=RoundOptions)


class RoundUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    deadline: dt.date | None = None
    status: Literal["draft", "open", "closed"] | None = None
    reviewers_per_item: int | None = Field(default=None, ge=1, le=50)
    max_load: int | None = Field(default=None, ge=1, le=1000)
    min_load: int | None = Field(default=None, ge=0, le=1000)
    options: RoundOptions | None = None

    def changes(self) -> dict[str, Any]:
        """The fields sent (a sent null deadline clears it; other nulls are ignored)."""
        sent = self.model_dump(exclude_unset=True)
        changes = {k: v for k, v in sent.items() if v is not None or k == "deadline"}
        if self.options is not None:
            changes["options"] = self.options.as_dict()
        return changes


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["need", "result"] = Field(description="need（需求）或 result（成果）")
    key: Key = Field(description="ID 或编号")
    co_applicants: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, description="共同申请人或单位（与之相关的专家须回避）"
    )


class ItemsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    needs: list[Key] = Field(default_factory=list, description="需求 ID 或编号")
    results: list[Key] = Field(default_factory=list, description="成果 ID 或编号")
    items: list[ItemIn] = Field(default_factory=list, description="带共同申请人的项目")


class ExpertsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experts: list[Key] = Field(min_length=1, description="专家 ID 或编号")
    max_load: int | None = Field(default=None, ge=0, le=1000, description="这些专家的评审上限")


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: int = Field(ge=1, le=MAX_ID, description="评审项目 ID（本批次内）")
    expert_id: int = Field(ge=1, le=MAX_ID, description="专家 ID")
    kind: Literal["force", "forbid", "clear"] = Field(
        description="force 指定评审，forbid 排除，clear 取消"
    )
    reason: str = Field(default="", max_length=500)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=1000, description="理由")


class AnswersIn(BaseModel):
    """An expert's answers: scores by criterion key (number, or the grade label such as 良),
    comments by criterion key, the overall comment, vetoes raised (key → reason) and the
    conflict declaration (true: no conflict of interest; false: a conflict, then explain)."""

    model_config = ConfigDict(extra="forbid")

    scores: dict[str, float | str] = Field(default_factory=dict)
    comments: dict[str, Annotated[str, StringConstraints(max_length=4000)]] = Field(
        default_factory=dict
    )
    overall_comment: str = Field(default="", max_length=8000)
    vetoes: dict[str, Annotated[str, StringConstraints(max_length=2000)]] = Field(
        default_factory=dict
    )
    declared_no_conflict: bool | None = None
    conflict_reason: str = Field(default="", max_length=2000)

    def answers(self) -> Answers:
        return Answers(**self.model_dump())
