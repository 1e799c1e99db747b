"""Import templates: XLSX files with the header row, one example row, drop-down lists for the
enumerations and a sheet that explains every column."""

from __future__ import annotations

from pathlib import Path

from matching.atomic import atomic_path
from matching.columns import ENTITY_COLUMNS

__all__ = ["TEMPLATE_NAMES", "write_template"]

TEMPLATE_NAMES = {"needs": "企业技术需求", "results": "科技成果", "experts": "专家"}
EXAMPLE_REF = "示例"


def write_template(entity: str, path: Path) -> None:
    """Write the import template of ``entity`` to ``path`` (XLSX), atomically."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = ENTITY_COLUMNS[entity]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"{TEMPLATE_NAMES[entity]}导入"
    sheet.append([column.header + ("*" if column.required else "") for column in columns])
    sheet.append(
        [EXAMPLE_REF if column.key == "external_ref" else column.example for column in columns]
    )
    required_fill = PatternFill("solid", fgColor="FDE9D9")
    for index, column in enumerate(columns, start=1):
        header = sheet.cell(1, index)
        header.font = Font(bold=True)
        if column.required:
            header.fill = required_fill
        sheet.cell(2, index).font = Font(italic=True, color="808080")
        sheet.column_dimensions[header.column_letter].width = 16 if len(column.example) < 12 else 30
    sheet.freeze_panes = "A2"

    options = workbook.create_sheet("选项")
    for index, column in enumerate(columns, start=1):
        if not column.choices:
            continue
        letter = sheet.cell(1, index).column_letter
        options.cell(1, index, column.header)
        for offset, choice in enumerate(column.choices, start=2):
            options.cell(offset, index, choice)
        last = len(column.choices) + 1
        # Multi-valued columns get the list as a suggestion only, so "a；b" is still accepted.
        validation = DataValidation(
            type="list",
            formula1=f"='选项'!${letter}$2:${letter}${last}",
            allow_blank=True,
            showErrorMessage=not column.multiple,
            errorTitle="不在可选范围内",
            error=f"{column.header}：请从下拉列表中选择",
        )
        validation.add(f"{letter}2:{letter}20000")
        sheet.add_data_validation(validation)

    guide = workbook.create_sheet("填写说明")
    guide.append(["列名", "是否必填", "说明", "示例", "可选值"])
    for column in columns:
        guide.append(
            [
                column.header,
                "必填" if column.required else "选填",
                column.help,
                column.example,
                "、".join(column.choices) if len(column.choices) <= 12 else "见「选项」工作表",
            ]
        )
    guide.append([])
    guide.append(
        [
            "注意",
            "",
            "第 2 行是示例（编号为“示例”），导入时会自动跳过，可直接删除或覆盖。"
            "同一编号再次导入会更新原记录；文件有错误时不会导入任何数据，错误会按行列出。",
        ]
    )
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDE", (18, 10, 60, 36, 40), strict=True):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    with atomic_path(path) as temp:
        workbook.save(temp)
