"""Evaluation form templates, filled-in forms, their validation and weighted totals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.evaluation_form import (
    Criterion,
    FormResponse,
    FormTemplate,
    GradeScale,
    InvalidFormTemplate,
    InvalidResponse,
    NumericScale,
    VetoItem,
    default_needs_template,
    load_form_template,
    parse_form_template,
    validate_response,
    weighted_total,
)

CRITERIA = [
    "authenticity_urgency",
    "advancement_difficulty",
    "industrial_benefit",
    "enterprise_capacity",
    "clarity",
]


def complete_form(**changes: Any) -> FormResponse:
    """A complete, valid submission on the default template."""
    form = FormResponse(
        expert_id="E1",
        item_id="N1",
        scores={
            "authenticity_urgency": 8,
            "advancement_difficulty": 7,
            "industrial_benefit": 6,
            "enterprise_capacity": 9,
            "clarity": "良",
        },
        comments={"advancement_difficulty": "对标国外同类产品，指标接近国际先进水平"},
        overall_comment="需求真实明确，建议发布",
        declared_no_conflict=True,
        status="submitted",
    )
    for name, value in changes.items():
        setattr(form, name, value)
    return form


def template_json(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "测试评审表",
        "criteria": [
            {"key": "a", "name": "指标甲", "weight": 60},
            {"key": "b", "name": "指标乙", "weight": 40, "scale": {"type": "grade"}},
        ],
        "vetoes": [{"key": "fake", "name": "需求不真实"}],
    }
    data.update(changes)
    return data


def messages(error: InvalidFormTemplate | InvalidResponse) -> str:
    return "；".join(str(problem) for problem in error.errors)


# ---- the default template ----------------------------------------------------------------------


def test_default_template_has_the_domain_criteria_vetoes_and_declaration() -> None:
    template = default_needs_template()
    assert template.name == "企业技术需求评比"
    assert [c.key for c in template.criteria] == CRITERIA
    assert [c.name for c in template.criteria] == [
        "需求真实性与紧迫性",
        "技术先进性与难度",
        "产业带动与经济社会效益",
        "企业承接能力与投入",
        "需求表述清晰度",
    ]
    assert all(c.description for c in template.criteria)
    assert sum(template.weight_shares.values()) == pytest.approx(1.0)
    assert template.weight_shares["authenticity_urgency"] == pytest.approx(0.25)
    assert {"需求不真实", "存在知识产权纠纷", "涉密或违法"} <= set(template.veto_names.values())
    assert template.requires_conflict_declaration
    assert template.overall_comment_required
    assert isinstance(template.criterion("clarity").scale, GradeScale)
    # The descriptions carry the checks of the public calls for needs.
    text = "".join(c.description for c in template.criteria)
    for phrase in ("迫切、真实、有效", "对标国内外先进水平", "产业化前景", "量化指标", "决策归属"):
        assert phrase in text


def test_default_template_is_loaded_once() -> None:
    assert default_needs_template() is default_needs_template()


# ---- loading and checking templates -------------------------------------------------------------


def test_parse_reads_scales_and_normalises_weights() -> None:
    template = parse_form_template(template_json())
    assert template.weight_shares == {"a": pytest.approx(0.6), "b": pytest.approx(0.4)}
    assert template.criterion("a").scale == NumericScale(0.0, 10.0, 0.5)
    assert template.criterion("b").scale == GradeScale()
    assert template.vetoes == (VetoItem("fake", "需求不真实"),)


def test_parse_reads_a_custom_grade_mapping_and_a_continuous_scale() -> None:
    data = template_json()
    data["criteria"][1]["scale"] = {"type": "grade", "min": 0, "max": 5, "grades": {"A": 5, "B": 3}}
    data["criteria"][0]["scale"] = {"type": "numeric", "min": 0, "max": 100, "step": None}
    template = parse_form_template(data)
    assert template.criterion("b").scale == GradeScale((("A", 5.0), ("B", 3.0)), 0.0, 5.0)
    assert template.criterion("a").scale == NumericScale(0.0, 100.0, None)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d["criteria"][0].update(weight=-1), "criteria[0].weight", ["指标甲", "正数"]),
        (lambda d: d["criteria"][0].update(weight="高"), "criteria[0].weight", ["指标甲", "数字"]),
        (lambda d: d["criteria"][1].update(key="a"), "criteria[1].key", ["「a」重复"]),
        (lambda d: d["criteria"][0].pop("name"), "criteria[0].name", ["缺少字段"]),
        (lambda d: d["criteria"][0].update(wieght=3), "criteria[0].wieght", ["无法识别"]),
        (lambda d: d.update(name=""), "name", ["名称不能为空"]),
        (lambda d: d.update(criteria=[]), "criteria", ["至少需要一个评分指标"]),
        (lambda d: d["vetoes"].append({"key": "fake", "name": "重复"}), "vetoes[1].key", ["重复"]),
        (
            lambda d: d["criteria"][0].update(scale={"type": "numeric", "step": 3}),
            "criteria[0].scale.step",
            ["指标甲", "整除"],
        ),
        (
            lambda d: d["criteria"][1].update(scale={"type": "grade", "grades": {"优": 12}}),
            "criteria[1].scale.grades.优",
            ["指标乙", "超出范围"],
        ),
        (
            lambda d: d["criteria"][0].update(scale={"type": "stars"}),
            "criteria[0].scale.type",
            ["numeric 或 grade"],
        ),
    ],
)
def test_bad_templates_name_the_field(change: Any, field: str, words: list[str]) -> None:
    data = template_json()
    change(data)
    with pytest.raises(InvalidFormTemplate) as caught:
        parse_form_template(data)
    assert field in [problem.field for problem in caught.value.errors]
    for word in words:
        assert word in messages(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    data = template_json()
    data["criteria"][0]["weight"] = 0
    data["criteria"][1]["key"] = "a"
    with pytest.raises(InvalidFormTemplate) as caught:
        parse_form_template(data)
    assert [p.field for p in caught.value.errors] == ["criteria[1].key", "criteria[0].weight"]


def test_constructing_a_bad_template_in_code_fails_too() -> None:
    with pytest.raises(InvalidFormTemplate, match="权重须为正数"):
        FormTemplate("表", (Criterion("a", "甲", 0.0),))


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "form.json"
    path.write_text(json.dumps(template_json(), ensure_ascii=False), "utf-8")
    assert load_form_template(path).name == "测试评审表"
    path.write_text("{not json", "utf-8")
    with pytest.raises(InvalidFormTemplate, match=r"无法读取评审表模板 form\.json"):
        load_form_template(path)
    path.write_text("[]", "utf-8")
    with pytest.raises(InvalidFormTemplate, match="应为 JSON 对象"):
        load_form_template(path)


# ---- validating forms ---------------------------------------------------------------------------


def fields_of(form: FormResponse) -> dict[str, str]:
    return {e.field: e.message for e in validate_response(default_needs_template(), form)}


def test_a_complete_submission_is_valid() -> None:
    assert fields_of(complete_form()) == {}


def test_missing_scores_name_the_criterion() -> None:
    form = complete_form()
    del form.scores["industrial_benefit"]
    assert fields_of(form) == {"scores.industrial_benefit": "指标「产业带动与经济社会效益」未评分"}


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("authenticity_urgency", 11, ["需求真实性与紧迫性", "超出范围 0–10"]),
        ("authenticity_urgency", -1, ["超出范围"]),
        ("authenticity_urgency", 8.3, ["按 0.5 分一档"]),
        ("authenticity_urgency", "良", ["应填写 0–10 之间的数字"]),
        ("authenticity_urgency", True, ["数字"]),
        ("authenticity_urgency", float("nan"), ["数字"]),
        ("clarity", "很好", ["需求表述清晰度", "不是有效等级", "优/良/中/差"]),
        ("clarity", 9, ["不是有效等级"]),
    ],
)
def test_invalid_values_name_the_criterion(key: str, value: Any, words: list[str]) -> None:
    form = complete_form()
    form.scores[key] = value
    problems = fields_of(form)
    assert list(problems) == [f"scores.{key}"]
    for word in words:
        assert word in problems[f"scores.{key}"]


def test_required_comments_declaration_and_veto_reasons() -> None:
    form = complete_form(comments={}, overall_comment=" ", declared_no_conflict=None)
    form.vetoes = {"ip_dispute": ""}
    assert fields_of(form) == {
        "declared_no_conflict": "提交前须声明是否存在利益冲突（回避声明）",
        "comments.advancement_difficulty": "指标「技术先进性与难度」须填写评语",
        "overall_comment": "须填写总体评价意见",
        "vetoes.ip_dispute": "否决项「存在知识产权纠纷」须说明理由",
    }


def test_unknown_keys_are_rejected() -> None:
    form = complete_form(vetoes={"bribery": "有"})
    form.scores["beauty"] = 5
    form.comments["beauty"] = "好看"
    assert set(fields_of(form)) == {"scores.beauty", "comments.beauty", "vetoes.bribery"}


def test_a_declared_conflict_needs_only_its_reason() -> None:
    form = FormResponse("E1", "N1", declared_no_conflict=False, status="submitted")
    assert fields_of(form) == {"conflict_reason": "声明存在利益冲突时须说明情况"}
    form.conflict_reason = "本人曾为该企业提供咨询"
    assert fields_of(form) == {}


def test_drafts_may_be_partial_but_not_wrong() -> None:
    draft = FormResponse("E1", "N1", scores={"clarity": "优"})
    assert fields_of(draft) == {}
    draft.scores["industrial_benefit"] = 10.5
    assert list(fields_of(draft)) == ["scores.industrial_benefit"]


def test_a_template_without_declaration_does_not_ask_for_one() -> None:
    template = parse_form_template(template_json(requires_conflict_declaration=False))
    form = FormResponse("E1", "N1", scores={"a": 5, "b": "中"}, status="submitted")
    assert validate_response(template, form) == []


# ---- weighted totals ----------------------------------------------------------------------------


def test_weighted_total_by_hand() -> None:
    """Weights 25/20/20/20/15 of 100; scores 8, 7, 6, 9 of 10 and 良 = 7.5 of 10:
    (25·8 + 20·7 + 20·6 + 20·9 + 15·7.5) / 100 · 10 = 752.5 / 10 = 75.25 points."""
    assert weighted_total(default_needs_template(), complete_form()) == pytest.approx(75.25)


def test_weighted_total_spans_0_to_100_over_the_scale() -> None:
    template = default_needs_template()
    top = complete_form(scores=dict.fromkeys(CRITERIA[:4], 10) | {"clarity": "优"})
    bottom = complete_form(scores=dict.fromkeys(CRITERIA[:4], 0) | {"clarity": "差"})
    assert weighted_total(template, top) == pytest.approx(85 + 15 * 0.9)
    assert weighted_total(template, bottom) == pytest.approx(15 * 0.3)


def test_weighted_total_uses_each_scale_range() -> None:
    """a: 3 of 1-5 → (3-1)/4 = 50 %, share 0.6; b: B = 3 of 0-5 → 60 %, share 0.4; 30 + 24 = 54."""
    template = FormTemplate(
        "表",
        (
            Criterion("a", "甲", 3, NumericScale(1, 5, 1)),
            Criterion("b", "乙", 2, GradeScale((("A", 5.0), ("B", 3.0)), 0, 5)),
        ),
    )
    form = FormResponse("E1", "N1", scores={"a": 3, "b": "B"})
    assert weighted_total(template, form) == pytest.approx(54.0)


def test_weighted_total_refuses_incomplete_or_recused_forms() -> None:
    template = default_needs_template()
    form = complete_form()
    del form.scores["clarity"]
    with pytest.raises(InvalidResponse, match="需求表述清晰度"):
        weighted_total(template, form)
    with pytest.raises(InvalidResponse, match="利益冲突"):
        weighted_total(template, complete_form(declared_no_conflict=False))


@given(
    numbers=st.lists(st.integers(0, 20), min_size=4, max_size=4),
    grade=st.sampled_from(["优", "良", "中", "差"]),
)
def test_weighted_total_lies_in_0_100(numbers: list[int], grade: str) -> None:
    scores: dict[str, float | str] = {k: n / 2 for k, n in zip(CRITERIA, numbers, strict=False)}
    scores["clarity"] = grade
    total = weighted_total(default_needs_template(), complete_form(scores=scores))
    assert 0.0 <= total <= 100.0
