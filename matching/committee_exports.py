"""The results workbook of a round: a summary sheet (ranking, tiers, ties, vetoes, outliers,
notes and agreement), then one sheet per item with every expert's scores and comments."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy.orm import Session

from matching.cells import escape_formula
from matching.committee import (
    get_round,
    round_template,
)
from matching.committee_results import ItemResultView, RoundResults, round_results
from matching.evaluation_form import (
    FormTemplate,
)

__all__ = ["cell_text", "results_workbook", "sheet_title", "workbook_bytes"]

_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


def sheet_title(base: str, used: set[str]) -> str:
    """A sheet title Excel accepts (≤ 31 characters, no []:*?/\\), unique in the workbook."""
    clean = _BAD_TITLE.sub("_", base).strip("'") or "表"
    title, number = clean[:31], 2
    while title in used:
        suffix = f"_{number}"
        title, number = clean[: 31 - len(suffix)] + suffix, number + 1
    used.add(title)
    return title


def cell_text(value: Any) -> Any:
    """Text safe for a cell: control characters Excel refuses removed, formulas escaped."""
    if not isinstance(value, str):
        return value
    return escape_formula(ILLEGAL_CHARACTERS_RE.sub("", value))


def workbook_bytes(workbook: Any) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---- results --------------------------------------------------------------------------------

_SUMMARY_HEADER = [
    "排名",
    "等级",
    "并列",
    "项目编号",
    "项目名称",
    "类型",
    "所属单位",
    "有效评审数",
    "得分（截尾均分）",
    "平均分",
    "标准差",
    "否决",
    "离群评分专家",
]


def _summary_row(view: ItemResultView) -> list[Any]:
    return [
        view.rank,
        view.tier or "",
        "是" if view.tied else "",
        view.item.ref,
        view.item.title,
        "需求" if view.item.kind == "need" else "成果",
        view.item.organization,
        view.n_reviews,
        view.score,
        None if view.mean is None else round(view.mean, 2),
        None if view.sd is None else round(view.sd, 2),
        "；".join(f"{v.name}（{v.expert_name}：{v.reason}）" for v in view.vetoes),
        "、".join(o.expert_name for o in view.outliers),
    ]


def _agreement_lines(results: RoundResults) -> list[str]:
    lines = []
    icc = results.agreement.icc
    if icc is not None:
        lines.append(
            f"组内相关系数（{icc.model}）：单个专家 {icc.single}（{icc.single_band}），"
            f"{icc.k:g} 位专家平均 {icc.average}（{icc.average_band}）。{icc.note}"
        )
    for panel in results.agreement.kendall:
        lines.append(
            f"Kendall's W（专家 {'、'.join(panel.experts)}；{len(panel.items)} 个项目）："
            f"{panel.w}（{panel.band}），χ² = {panel.chi2}，自由度 {panel.df}，p = {panel.p_value}"
        )
    return lines + results.agreement.notes


def _item_sheet(sheet: Any, view: ItemResultView, template: FormTemplate) -> None:
    from openpyxl.styles import Alignment, Font

    sheet.append(["项目编号", cell_text(view.item.ref), "项目名称", cell_text(view.item.title)])
    sheet.append(["排名", view.rank, "得分", view.score, "等级", view.tier or ""])
    sheet.append([])
    shares = template.weight_shares
    header = ["专家编号", "专家", *[f"{c.name}（{shares[c.key]:.0%}）" for c in template.criteria]]
    header += ["总分", "采用分", "离群", "利益冲突", "否决", "各指标评语", "总体评价意见"]
    sheet.append(header)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    names = {c.key: c.name for c in template.criteria}
    vetoes = template.veto_names
    for review in view.reviews:
        answers = review.answers
        conflict = "有：" + answers.conflict_reason if review.recused else "无"
        row = [review.ref, review.name, *[answers.scores.get(c.key) for c in template.criteria]]
        row += [
            None if review.total is None else round(review.total, 2),
            None if review.score is None else round(review.score, 2),
            "是" if review.outlier else "",
            conflict,
            "；".join(f"{vetoes.get(k, k)}：{r}" for k, r in answers.vetoes.items()),
            "\n".join(f"{names.get(k, k)}：{t}" for k, t in answers.comments.items() if t),
            answers.overall_comment,
        ]
        sheet.append([cell_text(value) for value in row])
    for row in sheet.iter_rows(min_row=5):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "C5"


def results_workbook(session: Session, round_id: int, normalise: bool | None = None) -> bytes:
    """The round's results as XLSX: 汇总 (ranking, notes, agreement), then one sheet per item."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    results = round_results(session, round_id, normalise)
    template = round_template(get_round(session, round_id))
    workbook = Workbook()
    summary = workbook.active
    summary.title = "汇总"
    used = {"汇总"}
    scale = "（标准化后）" if results.normalised else ""
    state = "（尚有评审表未提交，结果为临时结果）" if results.provisional else ""
    summary.append([cell_text(f"{results.round_name}：评审结果{scale}{state}")])
    summary.append([])
    summary.append(_SUMMARY_HEADER)
    for cell in summary[3]:
        cell.font = Font(bold=True)
    for view in results.items:
        summary.append([cell_text(value) for value in _summary_row(view)])
    summary.append([])
    for line in [*results.notes, *(f.name + "：" + f.reason for f in results.expert_flags)]:
        summary.append(["说明", cell_text(line)])
    for line in _agreement_lines(results):
        summary.append(["一致性", cell_text(line)])
    for letter, width in zip(
        "ABCDEFGHIJKLM", (6, 6, 6, 14, 36, 6, 24, 10, 14, 8, 8, 30, 16), strict=True
    ):
        summary.column_dimensions[letter].width = width
    summary.freeze_panes = "A4"
    for view in results.items:
        _item_sheet(workbook.create_sheet(sheet_title(view.item.ref, used)), view, template)
    return workbook_bytes(workbook)
