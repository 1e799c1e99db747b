"""Paper forms for committees that still score on paper: a printable XLSX form per expert and
item, and the import of the filled-in forms back into the round.

A paper form keeps its round, item and expert ids in a hidden first column, with one key per
row (``score:<criterion>``, ``veto:<key>``, ``conflict``, ``overall``); people fill column G
(评分 / 是否) and H (评语 / 理由), and the overall comment in the wide cell from column D. An
import is all or nothing: every problem is reported with its sheet, row and field, and nothing
is written unless every filled-in sheet is valid.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.cells import parse_bool, unescape_formula
from matching.committee import (
    InvalidRoundInput,
    RoundStateError,
    get_round,
    item_view,
    round_template,
)
from matching.committee_exports import cell_text, sheet_title, workbook_bytes
from matching.committee_forms import Answers, response_of, submit_form
from matching.evaluation_form import (
    FieldError,
    FormTemplate,
    GradeScale,
    NumericScale,
    validate_response,
)
from matching.store.models import (
    EvaluationRound,
    Expert,
    ReviewAssignment,
    ReviewForm,
    RoundItem,
)

__all__ = [
    "FORM_MARK",
    "ImportedForm",
    "PaperImport",
    "import_paper_forms",
    "paper_forms_workbook",
]

FORM_MARK = "techmatch-paper-form"
_SCORE, _NOTE = 7, 8  # columns G and H: what people fill in

# ---- paper forms ----------------------------------------------------------------------------


def _scale_text(scale: NumericScale | GradeScale) -> str:
    if isinstance(scale, GradeScale):
        return "按等级：" + "、".join(f"{label}（{value:g} 分）" for label, value in scale.grades)
    step = f"，按 {scale.step:g} 分一档" if scale.step is not None else ""
    return f"{scale.minimum:g}–{scale.maximum:g} 分{step}"


def _paper_sheet(
    sheet: Any,
    evaluation_round: EvaluationRound,
    template: FormTemplate,
    item: RoundItem,
    expert: Expert,
) -> None:
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.worksheet.datavalidation import DataValidation

    view = item_view(item)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    rows: list[list[Any]] = [
        [FORM_MARK, None, cell_text(f"{template.name} 专家评审表")],
        [f"round={evaluation_round.id}", None, "评比批次", cell_text(evaluation_round.name)],
        [f"item={item.id}", None, "评审项目", cell_text(f"{view.ref} {view.title}")],
        [
            f"expert={expert.id}",
            None,
            "评审专家",
            cell_text(f"{expert.name}（{expert.external_ref}）"),
        ],
        [
            None,
            None,
            "说明",
            "请在「评分」列填写分数或等级，在「评语」列填写意见；是/否 栏填“是”或“否”。",
        ],
        [None, "序号", "评分指标", "权重", "评分标准", "指标说明", "评分", "评语"],
    ]
    shares = template.weight_shares
    for number, criterion in enumerate(template.criteria, start=1):
        note = "（须填写评语）" if criterion.comment_required else ""
        rows.append(
            [
                f"score:{criterion.key}",
                number,
                cell_text(criterion.name),
                f"{shares[criterion.key]:.0%}",
                _scale_text(criterion.scale),
                cell_text(criterion.description + note),
            ]
        )
    rows.append([None, None, "一票否决项", None, None, "说明", "是否否决", "理由"])
    for veto in template.vetoes:
        rows.append(
            [
                f"veto:{veto.key}",
                None,
                cell_text(veto.name),
                None,
                None,
                cell_text(veto.description),
            ]
        )
    rows.append([None, None, "回避声明", None, None, None, "是/否", "说明"])
    rows.append(
        [
            "conflict",
            None,
            "本人与该项目是否存在利益冲突",
            None,
            None,
            "存在利益冲突的须回避，并说明情况",
        ]
    )
    overall = "总体评价意见（必填）" if template.overall_comment_required else "总体评价意见"
    rows.append(["overall", None, overall])
    rows.append([None, None, "专家签字：", None, None, "日期："])
    for row in rows:
        sheet.append(row)
    sheet.column_dimensions["A"].hidden = True
    for letter, width in zip("BCDEFGH", (6, 22, 8, 20, 40, 10, 36), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet["C1"].font = Font(bold=True, size=14)
    yes_no = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    sheet.add_data_validation(yes_no)
    for index, criterion in enumerate(template.criteria, start=7):
        if isinstance(criterion.scale, GradeScale):
            labels = ",".join(label for label, _ in criterion.scale.grades)
            rule = DataValidation(type="list", formula1=f'"{labels}"', allow_blank=True)
        else:
            low, high = criterion.scale.minimum, criterion.scale.maximum
            rule = DataValidation(
                type="decimal",
                operator="between",
                formula1=str(low),
                formula2=str(high),
                allow_blank=True,
            )
        sheet.add_data_validation(rule)
        rule.add(f"G{index}")
    last = sheet.max_row
    for row in sheet.iter_rows(min_row=6, max_row=last - 1, min_col=2, max_col=8):
        for cell in row:
            cell.border = box
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row_number in range(7, last + 1):
        key = sheet.cell(row_number, 1).value or ""
        if key.startswith("veto:") or key == "conflict":
            yes_no.add(f"G{row_number}")
        if key == "overall":
            sheet.merge_cells(f"D{row_number}:H{row_number}")
            sheet.row_dimensions[row_number].height = 80
    sheet.print_title_rows = "1:6"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def paper_forms_workbook(
    session: Session,
    round_id: int,
    expert_id: int | None = None,
    item_id: int | None = None,
) -> bytes:
    """Printable forms, one sheet per active assignment (optionally of one expert or one item),
    after a 填写说明 sheet. ``InvalidRoundInput`` when nothing matches."""
    from openpyxl import Workbook

    evaluation_round = get_round(session, round_id)
    template = round_template(evaluation_round)
    query = select(ReviewAssignment).where(
        ReviewAssignment.round_id == round_id, ReviewAssignment.active.is_(True)
    )
    if expert_id is not None:
        query = query.where(ReviewAssignment.expert_id == expert_id)
    if item_id is not None:
        query = query.where(ReviewAssignment.item_id == item_id)
    rows = list(
        session.scalars(query.order_by(ReviewAssignment.expert_id, ReviewAssignment.item_id))
    )
    if not rows:
        raise InvalidRoundInput(
            [FieldError("assignments", "没有符合条件的评审分配，无法生成纸质评审表")]
        )
    workbook = Workbook()
    guide = workbook.active
    guide.title = "填写说明"
    for line in (
        f"{evaluation_round.name}：纸质评审表（共 {len(rows)} 份，每份一个工作表）",
        "1. 每个工作表对应一位专家评审一个项目；请勿增删行、勿改动工作表结构。",
        "2. 在「评分」列填写分数（数字）或等级；需填写评语的指标请在「评语」列填写。",
        "3. 一票否决项：填“是”并写明理由，或填“否”/留空。",
        "4. 回避声明必填：与项目无利益冲突填“否”；存在利益冲突填“是”并说明情况（该表不计分）。",
        "5. 填好后由组织方上传导入系统；有错误时系统会指明工作表、行和栏目，全部无误才会导入。",
    ):
        guide.append([line])
    guide.column_dimensions["A"].width = 100
    used = {"填写说明"}
    for row in rows:
        item, expert = session.get(RoundItem, row.item_id), session.get(Expert, row.expert_id)
        assert item is not None and expert is not None
        sheet = workbook.create_sheet(sheet_title(f"{expert.name}-{item_view(item).ref}", used))
        _paper_sheet(sheet, evaluation_round, template, item, expert)
    return workbook_bytes(workbook)


# ---- importing paper forms -------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedForm:
    sheet: str
    item_id: int
    expert_id: int
    total: float | None


@dataclass(frozen=True)
class PaperImport:
    """Forms submitted from paper, and the sheets skipped because nothing was filled in."""

    imported: list[ImportedForm]
    skipped: list[str]


@dataclass
class _Sheet:
    title: str
    ids: dict[str, int]
    answers: Answers
    rows: dict[str, int]
    errors: list[FieldError]
    blank: bool


def _where(title: str, row: int, label: str) -> str:
    return f"工作表「{title}」第 {row} 行「{label}」"


def _cell(sheet: Any, row: int, column: int) -> Any:
    value = sheet.cell(row, column).value
    if isinstance(value, str):
        value = unescape_formula(value.strip())
        return value or None
    return value


def _score(value: Any) -> float | str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return text


def _read_sheet(sheet: Any, template: FormTemplate) -> _Sheet:
    title = sheet.title
    ids: dict[str, int] = {}
    errors: list[FieldError] = []
    for row in range(2, 5):
        key, _, number = str(sheet.cell(row, 1).value or "").partition("=")
        if not number.isdigit():
            errors.append(
                FieldError(_where(title, row, "标识"), "表头标识被改动，无法识别评审项目或专家")
            )
            continue
        ids[key] = int(number)
    scores: dict[str, float | str] = {}
    comments: dict[str, str] = {}
    vetoes: dict[str, str] = {}
    overall, declared, reason = "", None, ""
    rows: dict[str, int] = {}
    filled = False
    names = {c.key: c.name for c in template.criteria} | template.veto_names
    for row in range(5, sheet.max_row + 1):
        key = str(sheet.cell(row, 1).value or "")
        kind, _, name = key.partition(":")
        if not ((kind in ("score", "veto") and name in names) or key in ("conflict", "overall")):
            continue
        rows[key] = row
        value, note = _cell(sheet, row, _SCORE), _cell(sheet, row, _NOTE)
        filled = filled or value is not None or note is not None
        if kind == "score":
            if value is not None:
                scores[name] = _score(value)
            if note is not None:
                comments[name] = str(note)
        elif kind == "veto" and value is not None:
            try:
                if parse_bool(value):
                    vetoes[name] = str(note or "")
            except ValueError as error:
                errors.append(FieldError(_where(title, row, names[name]), str(error)))
        elif key == "conflict" and value is not None:
            try:
                declared = not parse_bool(value)
            except ValueError as error:
                errors.append(FieldError(_where(title, row, "回避声明"), str(error)))
            reason = str(note or "")
        elif key == "overall":
            # The overall comment sits in the merged cell that starts at column D.
            text = _cell(sheet, row, 4)
            overall = str(text) if text is not None else ""
            filled = filled or bool(overall)
    answers = Answers(scores, comments, overall, vetoes, declared, reason)
    return _Sheet(title, ids, answers, rows, errors, not filled and not errors)


def _row_of(field: str, rows: dict[str, int]) -> tuple[int, str]:
    head, _, key = field.partition(".")
    if head in ("scores", "comments"):
        return rows.get(f"score:{key}", 1), key
    if head == "vetoes":
        return rows.get(f"veto:{key}", 1), key
    if head in ("declared_no_conflict", "conflict_reason"):
        return rows.get("conflict", 1), "回避声明"
    if head == "overall_comment":
        return rows.get("overall", 1), "总体评价意见"
    return 1, "表头"


def _check_sheet(
    session: Session, evaluation_round: EvaluationRound, template: FormTemplate, found: _Sheet
) -> list[FieldError]:
    errors = list(found.errors)
    if errors:
        return errors
    where = _where(found.title, 2, "标识")
    if found.ids.get("round") != evaluation_round.id:
        return [FieldError(where, f"该表不属于评比批次「{evaluation_round.name}」")]
    item = session.get(RoundItem, found.ids.get("item", 0))
    expert = session.get(Expert, found.ids.get("expert", 0))
    row = session.scalar(
        select(ReviewAssignment).where(
            ReviewAssignment.item_id == found.ids.get("item"),
            ReviewAssignment.expert_id == found.ids.get("expert"),
            ReviewAssignment.active.is_(True),
        )
    )
    if item is None or expert is None or row is None or item.round_id != evaluation_round.id:
        return [FieldError(where, "该专家当前没有此项目的评审分配")]
    form = session.scalar(
        select(ReviewForm).where(ReviewForm.item_id == item.id, ReviewForm.expert_id == expert.id)
    )
    if form is not None and form.status == "submitted":
        return [FieldError(where, f"专家「{expert.name}」对该项目的评审表已提交，不能重复导入")]
    response = response_of(found.answers, expert, item, "submitted")
    for error in validate_response(template, response):
        number, label = _row_of(error.field, found.rows)
        label = {c.key: c.name for c in template.criteria}.get(
            label, template.veto_names.get(label, label)
        )
        errors.append(FieldError(_where(found.title, number, label), error.message))
    return errors


def import_paper_forms(session: Session, round_id: int, data: bytes) -> PaperImport:
    """Submit the filled-in paper forms of a workbook (source ``paper``). Sheets without the
    form mark are ignored, blank forms skipped. ``InvalidRoundInput`` lists every problem by
    sheet, row and field, and nothing is written then."""
    from openpyxl import load_workbook

    evaluation_round = get_round(session, round_id)
    if evaluation_round.status == "closed":
        raise RoundStateError("评比批次已结束，不能再导入评审表")
    template = round_template(evaluation_round)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not XLSX
        raise InvalidRoundInput([FieldError("file", f"无法读取 Excel 文件：{error}")]) from error
    sheets = [
        _read_sheet(s, template) for s in workbook.worksheets if s.cell(1, 1).value == FORM_MARK
    ]
    if not sheets:
        raise InvalidRoundInput(
            [FieldError("file", "文件中没有纸质评审表（请使用系统导出的评审表填写）")]
        )
    filled = [found for found in sheets if not found.blank]
    errors = [
        e for found in filled for e in _check_sheet(session, evaluation_round, template, found)
    ]
    if errors:
        raise InvalidRoundInput(errors)
    imported = []
    for found in filled:
        item_id, expert_id = found.ids["item"], found.ids["expert"]
        view = submit_form(session, round_id, item_id, expert_id, found.answers, source="paper")
        imported.append(ImportedForm(found.title, item_id, expert_id, view.total))
    return PaperImport(imported, [found.title for found in sheets if found.blank])
