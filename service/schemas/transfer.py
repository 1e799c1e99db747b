"""What an import over HTTP answers: the counts and every problem by row and column."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from matching.import_report import ImportReport

__all__ = ["ImportAnswer", "ImportProblem"]


class ImportProblem(BaseModel):
    row: int = Field(description="表格行号（JSON：第几条）；0 表示整个文件")
    field: str = Field(description="列名（中文表头）；空表示整行或整个文件")
    value: str
    reason: str
    level: Literal["error", "warning"]
    message: str = Field(
        description="完整的一句话，如：第 3 行，「截止日期」列，值「…」：日期不存在"
    )


class ImportAnswer(BaseModel):
    entity: str
    file: str
    encoding: str | None
    rows_read: int
    created: int
    updated: int
    unchanged: int
    skipped: int = Field(description="因有误而跳过的行（skip_invalid）")
    dry_run: bool
    written: bool = Field(description="是否（在试运行中：是否可以）写入")
    errors: list[ImportProblem]
    warnings: list[ImportProblem]
    summary: str

    @classmethod
    def of(cls, report: ImportReport) -> ImportAnswer:
        def problems(level: Literal["error", "warning"]) -> list[ImportProblem]:
            found = report.errors if level == "error" else report.warnings
            return [
                ImportProblem(
                    row=p.row,
                    field=p.column,
                    value=p.value,
                    reason=p.reason,
                    level=p.level,
                    message=str(p),
                )
                for p in found
            ]

        return cls(
            entity=report.entity,
            file=report.file,
            encoding=report.encoding,
            rows_read=report.rows_read,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            skipped=report.skipped,
            dry_run=report.dry_run,
            written=report.written,
            errors=problems("error"),
            warnings=problems("warning"),
            summary=report.summary(),
        )
