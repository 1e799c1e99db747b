"""What an import found and did: counts, and every problem with its row, column and reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["ImportReport", "RowProblem"]

ENTITY_LABELS = {"needs": "需求", "results": "成果", "experts": "专家"}


@dataclass(frozen=True)
class RowProblem:
    """One problem. ``row`` is the spreadsheet row (or JSON item) number; 0 for the whole file."""

    row: int
    column: str
    value: str
    reason: str
    level: Literal["error", "warning"] = "error"
    row_label: str = "行"

    def __str__(self) -> str:
        where = f"第 {self.row} {self.row_label}" if self.row else "文件"
        column = f"，「{self.column}」列" if self.column else ""
        value = f"，值「{self.value}」" if self.value else ""
        return f"{where}{column}{value}：{self.reason}"


@dataclass
class ImportReport:
    entity: str
    file: str
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    encoding: str | None = None
    dry_run: bool = False
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors or self.written

    @property
    def invalid_rows(self) -> int:
        return len({problem.row for problem in self.errors if problem.row})

    def summary(self) -> str:
        """A Chinese summary for people: the counts, then every error and warning."""
        what = ENTITY_LABELS.get(self.entity, self.entity)
        lines = [
            f"导入{what}：{self.file}，读取 {self.rows_read} 行"
            + (f"（编码 {self.encoding}）" if self.encoding else "")
        ]
        if self.written:
            verb = "试运行（未写入）：将" if self.dry_run else "已写入："
            lines.append(
                f"{verb}新增 {self.created}，更新 {self.updated}，"
                f"未变化 {self.unchanged}，跳过有误的行 {self.skipped}"
            )
        elif self.errors:
            lines.append(
                f"发现 {len(self.errors)} 处错误（涉及 {self.invalid_rows} 行），未导入任何数据。"
                "请修改后重新导入，或使用 --skip-invalid 只导入正确的行。"
            )
        lines += [f"错误：{problem}" for problem in self.errors]
        lines += [f"提示：{problem}" for problem in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["messages"] = [str(problem) for problem in self.errors]
        return data
