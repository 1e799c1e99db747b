"""Evaluation forms of the needs-evaluation committee: templates (criteria, vetoes, conflict
declaration), an expert's filled-in form, its validation and its weighted total (0-100 points).

A template is usually read from JSON (``load_form_template``); the shipped default for
企业技术需求评比 is ``default_needs_template()`` (``resources/form_needs_default.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from matching.errors import TechMatchError

__all__ = [
    "DEFAULT_GRADES",
    "Criterion",
    "FieldError",
    "FormResponse",
    "FormTemplate",
    "GradeScale",
    "InvalidFormTemplate",
    "InvalidResponse",
    "NumericScale",
    "ScoreValue",
    "VetoItem",
    "default_needs_template",
    "load_form_template",
    "parse_form_template",
    "template_errors",
    "validate_response",
    "weighted_total",
]

ScoreValue = float | str
"""An answer to one criterion: a number (numeric scale) or a grade label (grade scale)."""

DEFAULT_GRADES: tuple[tuple[str, float], ...] = (("优", 9.0), ("良", 7.5), ("中", 6.0), ("差", 3.0))


@dataclass(frozen=True)
class FieldError:
    """One problem: ``field`` is a path (``criteria[2].weight``, ``scores.clarity``); ``message``
    is Chinese and names the criterion or field."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


class InvalidFormTemplate(TechMatchError):
    """A form template is malformed; ``errors`` lists every problem."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("评审表模板有误：" + "；".join(str(e) for e in errors))
        self.errors = errors


class InvalidResponse(TechMatchError):
    """A filled-in form cannot be scored or submitted; ``errors`` lists every problem."""

    def __init__(self, message: str, errors: list[FieldError]) -> None:
        super().__init__(message + "：" + "；".join(str(e) for e in errors))
        self.errors = errors


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class NumericScale:
    """Numbers from ``minimum`` to ``maximum`` (points) on a grid of ``step`` (None: any value)."""

    minimum: float = 0.0
    maximum: float = 10.0
    step: float | None = 0.5

    def value_of(self, answer: ScoreValue) -> float:
        """The number for ``answer``; ``ValueError`` with a Chinese reason when it does not fit."""
        if not _is_number(answer) or not math.isfinite(float(answer)):
            raise ValueError(f"应填写 {self.minimum:g}–{self.maximum:g} 之间的数字")
        value = float(answer)
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"分数 {value:g} 超出范围 {self.minimum:g}–{self.maximum:g}")
        if self.step is not None:
            steps = (value - self.minimum) / self.step
            if abs(steps - round(steps)) > 1e-9:
                raise ValueError(f"分数 {value:g} 须按 {self.step:g} 分一档填写")
        return value


@dataclass(frozen=True)
class GradeScale:
    """Grade labels mapped to numbers (e.g. 优=9, 良=7.5, 中=6, 差=3) on ``minimum``-``maximum``."""

    grades: tuple[tuple[str, float], ...] = DEFAULT_GRADES
    minimum: float = 0.0
    maximum: float = 10.0

    def value_of(self, answer: ScoreValue) -> float:
        """The number for a grade label; ``ValueError`` with a Chinese reason otherwise."""
        for label, value in self.grades:
            if answer == label:
                return value
        labels = "/".join(label for label, _ in self.grades)
        raise ValueError(f"「{answer}」不是有效等级，应为 {labels} 之一")


@dataclass(frozen=True)
class Criterion:
    """One scored criterion. ``weight`` is relative (shares are weight / sum of weights)."""

    key: str
    name: str
    weight: float
    scale: NumericScale | GradeScale = field(default_factory=NumericScale)
    description: str = ""
    comment_required: bool = False


@dataclass(frozen=True)
class VetoItem:
    """A veto (一票否决项) an expert may raise, with a reason, e.g. 需求不真实."""

    key: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class FormTemplate:
    """An evaluation form: criteria, vetoes and what a submission must contain.

    Constructing one checks it (``template_errors``) and raises ``InvalidFormTemplate``.
    """

    name: str
    criteria: tuple[Criterion, ...]
    vetoes: tuple[VetoItem, ...] = ()
    requires_conflict_declaration: bool = True
    overall_comment_required: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        errors = template_errors(self)
        if errors:
            raise InvalidFormTemplate(errors)

    def criterion(self, key: str) -> Criterion:
        """The criterion with ``key``; ``KeyError`` when there is none."""
        for criterion in self.criteria:
            if criterion.key == key:
                return criterion
        raise KeyError(key)

    @property
    def weight_shares(self) -> dict[str, float]:
        """Criterion key → its share of the total (the shares sum to 1)."""
        total = sum(criterion.weight for criterion in self.criteria)
        return {criterion.key: criterion.weight / total for criterion in self.criteria}

    @property
    def veto_names(self) -> dict[str, str]:
        return {veto.key: veto.name for veto in self.vetoes}


def _scale_errors(scale: NumericScale | GradeScale, path: str, label: str) -> list[FieldError]:
    errors = []
    if not scale.minimum < scale.maximum:
        errors.append(FieldError(path, f"{label}的评分范围下限须小于上限"))
    if isinstance(scale, NumericScale):
        if scale.step is not None and not scale.step > 0:
            errors.append(FieldError(f"{path}.step", f"{label}的分档须为正数"))
        elif scale.step is not None:
            steps = (scale.maximum - scale.minimum) / scale.step
            if abs(steps - round(steps)) > 1e-9:
                errors.append(FieldError(f"{path}.step", f"{label}的分档不能整除评分范围"))
        return errors
    labels = [grade for grade, _ in scale.grades]
    if not labels:
        errors.append(FieldError(f"{path}.grades", f"{label}至少需要一个等级"))
    if len(set(labels)) != len(labels) or not all(labels):
        errors.append(FieldError(f"{path}.grades", f"{label}的等级名称须非空且不重复"))
    for grade, value in scale.grades:
        if not (math.isfinite(value) and scale.minimum <= value <= scale.maximum):
            errors.append(
                FieldError(f"{path}.grades.{grade}", f"{label}的等级「{grade}」对应分数超出范围")
            )
    return errors


def _key_errors(keys: list[str], path: str, what: str) -> list[FieldError]:
    errors, seen = [], set()
    for index, key in enumerate(keys):
        if not key.strip():
            errors.append(FieldError(f"{path}[{index}].key", f"第 {index + 1} 个{what}缺少键"))
        elif key in seen:
            errors.append(FieldError(f"{path}[{index}].key", f"{what}的键「{key}」重复"))
        seen.add(key)
    return errors


def template_errors(template: FormTemplate) -> list[FieldError]:
    """Every problem of a template: empty names, duplicate keys, non-positive weights, scales."""
    errors = []
    if not template.name.strip():
        errors.append(FieldError("name", "评审表名称不能为空"))
    if not template.criteria:
        errors.append(FieldError("criteria", "评审表至少需要一个评分指标"))
    errors += _key_errors([c.key for c in template.criteria], "criteria", "评分指标")
    for index, criterion in enumerate(template.criteria):
        path = f"criteria[{index}]"
        label = f"指标「{criterion.name or criterion.key}」"
        if not criterion.name.strip():
            errors.append(FieldError(f"{path}.name", f"第 {index + 1} 个评分指标缺少名称"))
        if not (math.isfinite(criterion.weight) and criterion.weight > 0):
            errors.append(
                FieldError(f"{path}.weight", f"{label}的权重须为正数，现为 {criterion.weight:g}")
            )
        errors += _scale_errors(criterion.scale, f"{path}.scale", label)
    errors += _key_errors([v.key for v in template.vetoes], "vetoes", "否决项")
    for index, veto in enumerate(template.vetoes):
        if not veto.name.strip():
            errors.append(FieldError(f"vetoes[{index}].name", f"第 {index + 1} 个否决项缺少名称"))
    return errors


# ---- JSON --------------------------------------------------------------------------------------

_KINDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "text": (str, "文本"),
    "number": ((int, float), "数字"),
    "bool": (bool, "true 或 false"),
    "list": (list, "列表"),
    "object": (dict, "对象"),
}
_REQUIRED = object()


class _Reader:
    """Reads typed fields out of JSON objects and collects every problem with its path."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def get(self, data: Mapping[str, Any], key: str, kind: str, path: str, default: Any) -> Any:
        """``data[key]`` if it has the right kind, else None (and an error); ``default`` when
        absent (``_REQUIRED``: an error)."""
        where = f"{path}.{key}" if path else key
        # Name the criterion or veto in the message when the object has a usable name.
        owner = data.get("name") if path else None
        prefix = f"「{owner}」" if isinstance(owner, str) and owner.strip() else ""
        if key not in data:
            if default is _REQUIRED:
                self.errors.append(FieldError(where, f"{prefix}缺少字段「{where}」"))
            return None if default is _REQUIRED else default
        value = data[key]
        types, label = _KINDS[kind]
        if not isinstance(value, types) or (kind == "number" and isinstance(value, bool)):
            self.errors.append(FieldError(where, f"{prefix}字段「{where}」应为{label}"))
            return None
        return float(data[key]) if kind == "number" else data[key]

    def only(self, data: Mapping[str, Any], known: set[str], path: str) -> None:
        for key in sorted(set(data) - known):
            where = f"{path}.{key}" if path else key
            self.errors.append(FieldError(where, f"字段「{where}」无法识别"))


def _read_scale(reader: _Reader, data: Any, path: str) -> NumericScale | GradeScale | None:
    if data is None:
        return NumericScale()
    kind = reader.get(data, "type", "text", path, "numeric")
    low = reader.get(data, "min", "number", path, 0.0)
    high = reader.get(data, "max", "number", path, 10.0)
    if kind == "grade":
        reader.only(data, {"type", "min", "max", "grades"}, path)
        raw = reader.get(data, "grades", "object", path, dict(DEFAULT_GRADES))
        grades = {k: reader.get(raw or {}, k, "number", f"{path}.grades", 0.0) for k in raw or {}}
        if None in (low, high) or None in grades.values():
            return None
        return GradeScale(tuple(grades.items()), low, high)
    reader.only(data, {"type", "min", "max", "step"}, path)
    # An explicit null step means "any value in the range".
    continuous = "step" in data and data["step"] is None
    step = None if continuous else reader.get(data, "step", "number", path, 0.5)
    if kind != "numeric":
        reader.errors.append(FieldError(f"{path}.type", f"「{path}.type」应为 numeric 或 grade"))
    if None in (low, high) or kind != "numeric" or (step is None and not continuous):
        return None
    return NumericScale(low, high, step)


def _read_criterion(reader: _Reader, data: Any, path: str) -> Criterion | None:
    if not isinstance(data, dict):
        reader.errors.append(FieldError(path, f"「{path}」应为对象"))
        return None
    known = {"key", "name", "weight", "scale", "description", "comment_required"}
    reader.only(data, known, path)
    key = reader.get(data, "key", "text", path, _REQUIRED)
    name = reader.get(data, "name", "text", path, _REQUIRED)
    weight = reader.get(data, "weight", "number", path, _REQUIRED)
    scale_data = reader.get(data, "scale", "object", path, None)
    scale = _read_scale(reader, scale_data, f"{path}.scale")
    description = reader.get(data, "description", "text", path, "")
    comment = reader.get(data, "comment_required", "bool", path, False)
    if scale is None or None in (key, name, weight, description, comment):
        return None
    return Criterion(key, name, weight, scale, description, comment)


def _read_veto(reader: _Reader, data: Any, path: str) -> VetoItem | None:
    if not isinstance(data, dict):
        reader.errors.append(FieldError(path, f"「{path}」应为对象"))
        return None
    reader.only(data, {"key", "name", "description"}, path)
    key = reader.get(data, "key", "text", path, _REQUIRED)
    name = reader.get(data, "name", "text", path, _REQUIRED)
    description = reader.get(data, "description", "text", path, "")
    return None if None in (key, name, description) else VetoItem(key, name, description)


def parse_form_template(data: Mapping[str, Any]) -> FormTemplate:
    """A template from its JSON object; ``InvalidFormTemplate`` names every bad field."""
    reader = _Reader()
    known = {"name", "description", "criteria", "vetoes"}
    reader.only(data, known | {"requires_conflict_declaration", "overall_comment_required"}, "")
    name = reader.get(data, "name", "text", "", _REQUIRED)
    description = reader.get(data, "description", "text", "", "")
    raw_criteria = reader.get(data, "criteria", "list", "", _REQUIRED) or []
    raw_vetoes = reader.get(data, "vetoes", "list", "", []) or []
    conflict = reader.get(data, "requires_conflict_declaration", "bool", "", True)
    overall = reader.get(data, "overall_comment_required", "bool", "", False)
    criteria = [_read_criterion(reader, c, f"criteria[{i}]") for i, c in enumerate(raw_criteria)]
    vetoes = [_read_veto(reader, v, f"vetoes[{i}]") for i, v in enumerate(raw_vetoes)]
    if reader.errors:
        raise InvalidFormTemplate(reader.errors)
    return FormTemplate(
        name=name,
        criteria=tuple(c for c in criteria if c is not None),
        vetoes=tuple(v for v in vetoes if v is not None),
        requires_conflict_declaration=conflict,
        overall_comment_required=overall,
        description=description,
    )


def load_form_template(path: Path) -> FormTemplate:
    """Read a template from a UTF-8 JSON file; ``InvalidFormTemplate`` on any problem."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problem = FieldError("", f"无法读取评审表模板 {path.name}：{error}")
        raise InvalidFormTemplate([problem]) from error
    if not isinstance(data, dict):
        raise InvalidFormTemplate([FieldError("", "评审表模板应为 JSON 对象")])
    return parse_form_template(data)


@cache
def default_needs_template() -> FormTemplate:
    """The shipped form for 企业技术需求评比 (``resources/form_needs_default.json``)."""
    text = resources.files("matching").joinpath("resources/form_needs_default.json")
    return parse_form_template(json.loads(text.read_text("utf-8")))


# ---- Responses ---------------------------------------------------------------------------------


@dataclass
class FormResponse:
    """One expert's form for one item (a need).

    ``scores``: criterion key → number or grade label; ``comments``: criterion key → text;
    ``vetoes``: veto key → reason. ``declared_no_conflict`` is None until the expert declares:
    True means no conflict of interest, False a declared conflict (the form is then not scored
    and ``conflict_reason`` says why).
    """

    expert_id: str
    item_id: str
    scores: dict[str, ScoreValue] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    overall_comment: str = ""
    vetoes: dict[str, str] = field(default_factory=dict)
    declared_no_conflict: bool | None = None
    conflict_reason: str = ""
    status: Literal["draft", "submitted"] = "draft"

    @property
    def has_conflict(self) -> bool:
        """The expert declared a conflict of interest (回避): the form is not scored."""
        return self.declared_no_conflict is False


def _value_errors(template: FormTemplate, response: FormResponse) -> list[FieldError]:
    """Problems even a draft may not have: unknown keys and answers that do not fit."""
    errors = []
    keys = {criterion.key for criterion in template.criteria}
    for key, answer in response.scores.items():
        if key not in keys:
            errors.append(FieldError(f"scores.{key}", f"「{key}」不是本评审表的评分指标"))
            continue
        criterion = template.criterion(key)
        try:
            criterion.scale.value_of(answer)
        except ValueError as reason:
            errors.append(FieldError(f"scores.{key}", f"指标「{criterion.name}」：{reason}"))
    for key in response.comments:
        if key not in keys:
            errors.append(FieldError(f"comments.{key}", f"「{key}」不是本评审表的评分指标"))
    for key in response.vetoes:
        if key not in template.veto_names:
            errors.append(FieldError(f"vetoes.{key}", f"「{key}」不是本评审表的否决项"))
    if response.status not in ("draft", "submitted"):
        errors.append(FieldError("status", f"状态「{response.status}」应为 draft 或 submitted"))
    return errors


def _submission_errors(template: FormTemplate, response: FormResponse) -> list[FieldError]:
    errors = []
    if not response.expert_id.strip() or not response.item_id.strip():
        errors.append(FieldError("expert_id", "评审表须注明专家和评审对象"))
    if response.declared_no_conflict is None and template.requires_conflict_declaration:
        errors.append(
            FieldError("declared_no_conflict", "提交前须声明是否存在利益冲突（回避声明）")
        )
    if response.has_conflict:
        if not response.conflict_reason.strip():
            errors.append(FieldError("conflict_reason", "声明存在利益冲突时须说明情况"))
        return errors
    for criterion in template.criteria:
        if criterion.key not in response.scores:
            errors.append(FieldError(f"scores.{criterion.key}", f"指标「{criterion.name}」未评分"))
        if criterion.comment_required and not response.comments.get(criterion.key, "").strip():
            message = f"指标「{criterion.name}」须填写评语"
            errors.append(FieldError(f"comments.{criterion.key}", message))
    if template.overall_comment_required and not response.overall_comment.strip():
        errors.append(FieldError("overall_comment", "须填写总体评价意见"))
    for key, reason in response.vetoes.items():
        if key in template.veto_names and not reason.strip():
            message = f"否决项「{template.veto_names[key]}」须说明理由"
            errors.append(FieldError(f"vetoes.{key}", message))
    return errors


def validate_response(template: FormTemplate, response: FormResponse) -> list[FieldError]:
    """Every problem of a form (empty when fine). A draft may be partial, but what it holds must
    fit; a submitted form must be complete: every criterion scored, required comments and the
    conflict declaration present, each raised veto with a reason. A form with a declared conflict
    needs only the declaration and its reason."""
    errors = _value_errors(template, response)
    if response.status == "submitted":
        errors += _submission_errors(template, response)
    return errors


def weighted_total(template: FormTemplate, response: FormResponse) -> float:
    """The form's total on 0-100 points: Σ share_c · (value_c − min_c) / (max_c − min_c) · 100.

    share_c = weight_c / Σ weights; min_c, max_c are the ends of criterion c's scale (a grade's
    number lies on its scale's range, e.g. 良 = 7.5 of 0-10 counts 75 %). Raises
    ``InvalidResponse`` when a score is missing or invalid or the expert declared a conflict.
    """
    if response.has_conflict:
        problem = FieldError("declared_no_conflict", "已声明利益冲突，该表单不计分")
        raise InvalidResponse("无法计算总分", [problem])
    errors = [e for e in _value_errors(template, response) if e.field.startswith("scores.")]
    errors += [
        FieldError(f"scores.{c.key}", f"指标「{c.name}」未评分")
        for c in template.criteria
        if c.key not in response.scores
    ]
    if errors:
        raise InvalidResponse("无法计算总分", errors)
    shares = template.weight_shares
    total = 0.0
    for criterion in template.criteria:
        scale = criterion.scale
        value = scale.value_of(response.scores[criterion.key])
        total += shares[criterion.key] * (value - scale.minimum) / (scale.maximum - scale.minimum)
    return 100.0 * total
