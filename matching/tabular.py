"""Reading spreadsheets people send: CSV (any common Chinese encoding), XLSX and JSON.

The result is a ``Table``: header names and raw rows with the row numbers a person sees in the
file (spreadsheet row, or item number in JSON), so every later error can point at the cell.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from matching.errors import InvalidFile

__all__ = ["RawRow", "Table", "decode_text", "read_table"]

HEADER_SCAN_ROWS = 10

# Zip-bomb guard for XLSX: the members' declared uncompressed sizes (zipfile never inflates a
# member past its declared size) are checked before openpyxl reads anything. A real workbook
# of the largest import (tens of thousands of rows) inflates to some tens of MB, compressing
# about 5-20 times.
XLSX_MAX_UNCOMPRESSED = 256 * 1024 * 1024
XLSX_MAX_RATIO = 200
XLSX_RATIO_FROM = 16 * 1024 * 1024  # the ratio is checked only for members inflating past this


@dataclass
class RawRow:
    """One data row: ``number`` is the row (or item) number shown to people."""

    number: int
    values: dict[str, Any]


@dataclass
class Table:
    headers: list[str]
    rows: list[RawRow]
    row_label: str = "行"
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes from CSV files made by Excel, WPS or scripts: UTF-8 (with or without BOM),
    UTF-16 (Excel's "Unicode text"), GB18030/GBK (Chinese Excel's default), else a best guess.

    Returns ``(text, encoding)``; raises ``InvalidFile`` when no encoding fits.
    """
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "utf-16"
    except UnicodeDecodeError as error:
        # The byte-order mark names the encoding, so bytes that do not fit it are damage.
        raise InvalidFile(
            f"文件标明为 {error.encoding.upper()} 编码，但第 {error.start + 1} 字节处内容无效"
            "（文件可能被截断或损坏）：请重新导出后上传"
        ) from error
    if b"\x00" in data:
        raise InvalidFile("文件包含二进制内容，不是文本文件：请上传 CSV、XLSX 或 JSON 文件")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is not None and best.encoding:
        return str(best), best.encoding
    raise InvalidFile("无法识别文件编码：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 XLSX 后重试")


def _cell_text(value: Any) -> Any:
    """Normalise one cell: strings stripped, whole floats as integers, empty as None."""
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_blank(values: list[Any]) -> bool:
    return all(_cell_text(value) is None for value in values)


def _find_header(rows: list[list[Any]], is_known: Callable[[str], bool]) -> tuple[int, list[str]]:
    """Index and names of the header row: the first of the top rows with most known names.

    Forms often carry a title line ("XX市企业技术需求征集表") above the header.
    """
    best_index, best_score = -1, 0
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        names = [str(cell).strip() for cell in row if _cell_text(cell) is not None]
        score = sum(1 for name in names if is_known(name))
        if score > best_score:
            best_index, best_score = index, score
    if best_index < 0:
        # No known names: the first non-blank row is the header, and data starts below it.
        best_index = next((i for i, row in enumerate(rows) if not _is_blank(row)), 0)
    return best_index, [str(_cell_text(cell) or "") for cell in rows[best_index]]


def _table_from_grid(
    grid: list[list[Any]], is_known: Callable[[str], bool], first_row_number: int = 1
) -> Table:
    if _is_blank([cell for row in grid for cell in row]):
        raise InvalidFile("文件是空的：没有表头，也没有数据行")
    header_index, headers = _find_header(grid, is_known)
    rows = []
    for offset, row in enumerate(grid[header_index + 1 :], start=header_index + 1):
        if _is_blank(row):
            continue
        values = {
            header: _cell_text(row[i]) if i < len(row) else None
            for i, header in enumerate(headers)
            if header
        }
        rows.append(RawRow(number=offset + first_row_number, values=values))
    return Table(headers=[h for h in headers if h], rows=rows)


def _sniff_delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", "\t", ";", "，")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _read_csv(data: bytes, is_known: Callable[[str], bool]) -> Table:
    text, encoding = decode_text(data)
    delimiter = _sniff_delimiter(text)
    # No cell can be longer than the file: lift the csv module's 128 KiB cap (process-wide, only
    # ever raised) so an over-long cell reaches its column's check and becomes a row error.
    if csv.field_size_limit() <= len(text):
        csv.field_size_limit(len(text) + 1)
    try:
        grid = [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as error:
        raise InvalidFile(f"CSV 格式错误：{error}") from error
    table = _table_from_grid(grid, is_known)
    table.encoding = encoding
    return table


def _unmerge(sheet: Any, notes: list[str]) -> None:
    """Give every cell of a merged range the range's value, and say so."""
    for merged in list(sheet.merged_cells.ranges):
        top_left = sheet.cell(merged.min_row, merged.min_col).value
        sheet.unmerge_cells(str(merged))
        for row in range(merged.min_row, merged.max_row + 1):
            for col in range(merged.min_col, merged.max_col + 1):
                sheet.cell(row, col).value = top_left
        if merged.max_row > merged.min_row and top_left is not None:
            notes.append(
                f"第 {merged.min_row}-{merged.max_row} 行的合并单元格 {merged.coord} "
                f"已拆分，每行按合并值「{top_left}」填充"
            )


def _check_zip_sizes(path: Path) -> None:
    """Refuse an XLSX whose members would inflate too far (a zip bomb), before reading it."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except Exception as error:
        # A damaged zip directory fails in many ways: BadZipFile, OSError, ValueError, and
        # NotImplementedError for a damaged version or compression field: all mean the same.
        raise InvalidFile(
            f"无法读取 XLSX 文件（文件损坏或不是 Excel 2007+ 格式）：{type(error).__name__}："
            f"{str(error)[:200]}"
        ) from error
    total = sum(member.file_size for member in members)
    if total > XLSX_MAX_UNCOMPRESSED:
        raise InvalidFile(
            f"XLSX 文件解压后达 {total / 1024 / 1024:.0f} MB，超过上限 "
            f"{XLSX_MAX_UNCOMPRESSED // 1024 // 1024} MB（可能是压缩炸弹或异常文件），已拒绝；"
            "请拆分后导入"
        )
    for member in members:
        ratio = member.file_size / max(1, member.compress_size)
        if member.file_size > XLSX_RATIO_FROM and ratio > XLSX_MAX_RATIO:
            raise InvalidFile(
                f"XLSX 文件中的「{member.filename[:80]}」压缩比异常（{ratio:.0f} 倍，"
                f"解压后 {member.file_size / 1024 / 1024:.0f} MB），可能是压缩炸弹，已拒绝"
            )


def _read_xlsx(path: Path, is_known: Callable[[str], bool]) -> Table:
    from openpyxl import load_workbook

    _check_zip_sizes(path)
    try:
        # Our own handle, closed however openpyxl fails (it may leave its own open).
        with warnings.catch_warnings(), open(path, "rb") as handle:
            # openpyxl warns about extensions it ignores (e.g. conditional formats); harmless.
            warnings.simplefilter("ignore")
            workbook = load_workbook(handle, data_only=True)
            sheet = _pick_sheet(workbook, is_known)
            notes: list[str] = []
            _unmerge(sheet, notes)
            grid = [list(row) for row in sheet.iter_rows(values_only=True)]
    except Exception as error:
        # A damaged workbook fails anywhere inside zipfile, zlib, the XML parser or openpyxl
        # (BadZipFile, zlib.error, XMLSyntaxError, KeyError, TypeError, ...): all mean the same.
        raise InvalidFile(
            f"无法读取 XLSX 文件（文件损坏或不是 Excel 2007+ 格式）：{type(error).__name__}："
            f"{str(error)[:200]}"
        ) from error
    table = _table_from_grid(grid, is_known)
    table.warnings.extend(notes)
    if len(workbook.sheetnames) > 1:
        table.warnings.append(f"工作簿有多个工作表，已读取「{sheet.title}」")
    return table


def _pick_sheet(workbook: Any, is_known: Callable[[str], bool]) -> Any:
    """The sheet whose top rows hold the most known column names (templates add a help sheet)."""

    def score(sheet: Any) -> int:
        top = sheet.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True)
        return max(
            (sum(1 for c in row if isinstance(c, str) and is_known(c.strip())) for row in top),
            default=0,
        )

    return max(workbook.worksheets, key=score)


def _read_json(data: bytes, entity_key: str) -> Table:
    text, _encoding = decode_text(data)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidFile(
            f"JSON 格式错误：第 {error.lineno} 行第 {error.colno} 列：{error.msg}"
        ) from error
    except RecursionError:
        raise InvalidFile('JSON 嵌套层级过深：应为对象数组，每条记录为 {"列名": 值}') from None
    if isinstance(document, dict):
        document = document.get(entity_key, document.get("items"))
    if not isinstance(document, list):
        raise InvalidFile(f"JSON 应为对象数组，或含“{entity_key}”数组的对象")
    if not document:
        raise InvalidFile("文件是空的：没有任何记录")
    rows, headers = [], []
    for number, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            raise InvalidFile(f'第 {number} 条记录不是对象（应为 {{"列名": 值}}）')
        for key in item:
            if key not in headers:
                headers.append(str(key))
        rows.append(RawRow(number=number, values={str(k): _cell_text(v) for k, v in item.items()}))
    return Table(headers=headers, rows=rows, row_label="条")


def read_table(path: Path, is_known: Callable[[str], bool], entity_key: str = "items") -> Table:
    """Read ``path`` by its extension (.csv/.txt/.tsv, .xlsx/.xlsm, .json).

    ``is_known`` tells whether a header names a known column, to find the header row.
    """
    suffix = path.suffix.lower()
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidFile(f"无法打开文件：{error.strerror or error}") from error
    if not data.strip():
        raise InvalidFile("文件是空的（0 字节或只有空白）")
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(data, is_known)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, is_known)
    if suffix == ".json":
        return _read_json(data, entity_key)
    if suffix in (".xls", ".et", ".wps"):
        raise InvalidFile(
            "不支持旧版 Excel（.xls）/ WPS 格式：请在 Excel 或 WPS 中另存为 .xlsx 后重试"
        )
    raise InvalidFile(f"不支持的文件类型「{suffix or '无扩展名'}」：请上传 CSV、XLSX 或 JSON 文件")


def as_date(value: Any) -> dt.date | None:
    """Cells Excel already typed as dates."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None
