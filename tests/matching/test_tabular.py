"""Reading the files people send: encodings, CSV dialects, header rows, XLSX quirks, JSON."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from matching.errors import InvalidFile
from matching.tabular import RawRow, Table, as_date, decode_text, read_table

KNOWN_HEADERS = {"需求名称", "企业名称", "预算(万元)", "截止日期"}
TEXT = "需求名称,企业名称\n铜带氧化色差,铜陵测试铜材有限公司\n"


def is_known(name: str) -> bool:
    return name in KNOWN_HEADERS


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_workbook(
    path: Path, sheets: dict[str, list[list[Any]]], merges: dict[str, list[str]] | None = None
) -> Path:
    """An XLSX with the given sheets (in order) and merged ranges per sheet."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, grid in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in grid:
            sheet.append(row)
        for cell_range in (merges or {}).get(title, []):
            sheet.merge_cells(cell_range)
    workbook.save(path)
    return path


def values(table: Table) -> list[tuple[int, dict[str, Any]]]:
    return [(row.number, row.values) for row in table.rows]


# --- decode_text ---------------------------------------------------------------------------


def test_decode_text_reads_utf8() -> None:
    assert decode_text(TEXT.encode("utf-8")) == (TEXT, "utf-8")


def test_decode_text_drops_the_utf8_bom_excel_writes() -> None:
    assert decode_text(codecs.BOM_UTF8 + TEXT.encode("utf-8")) == (TEXT, "utf-8-sig")


@pytest.mark.parametrize("encoding", ["gbk", "gb2312", "gb18030"])
def test_decode_text_reads_chinese_excel_encodings_as_gb18030(encoding: str) -> None:
    assert decode_text(TEXT.encode(encoding)) == (TEXT, "gb18030")


def test_decode_text_reads_characters_only_gb18030_has() -> None:
    text = "需求名称\n𠀀字与€符号\n"
    assert decode_text(text.encode("gb18030")) == (text, "gb18030")


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
        TEXT.encode("utf-16"),
    ],
    ids=["le", "be", "native"],
)
def test_decode_text_reads_utf16_with_a_bom(data: bytes) -> None:
    assert decode_text(data) == (TEXT, "utf-16")


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-16-le"),
        TEXT.encode("utf-16-be"),
        b"PK\x03\x04\x14\x00\x00\x00",
        b"a,b\x00\n",
    ],
    ids=["utf16le-no-bom", "utf16be-no-bom", "zip", "stray-nul"],
)
def test_decode_text_refuses_nul_bytes_without_a_bom(data: bytes) -> None:
    with pytest.raises(InvalidFile, match="二进制内容"):
        decode_text(data)


def test_decode_text_falls_back_to_a_guess_for_other_encodings() -> None:
    data = "café crème, naïve déjà vu, garçon".encode("latin-1")
    text, encoding = decode_text(data)
    assert encoding
    assert text.startswith("caf")
    assert len(text) == len(data)


# --- CSV -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "delimiter", [",", "\t", ";", "，"], ids=["comma", "tab", "semicolon", "full-width"]
)
def test_read_table_finds_the_csv_delimiter(tmp_path: Path, delimiter: str) -> None:
    lines = [
        ["需求名称", "企业名称", "预算(万元)"],
        ["铜带氧化色差", "铜陵测试铜材有限公司", "50-100"],
    ]
    text = "\n".join(delimiter.join(line) for line in lines) + "\n"
    table = read_table(write_bytes(tmp_path / "needs.csv", text.encode("utf-8")), is_known)
    assert table.headers == ["需求名称", "企业名称", "预算(万元)"]
    assert values(table) == [
        (
            2,
            {
                "需求名称": "铜带氧化色差",
                "企业名称": "铜陵测试铜材有限公司",
                "预算(万元)": "50-100",
            },
        )
    ]
    assert table.row_label == "行"
    assert table.encoding == "utf-8"
    assert table.warnings == []


@pytest.mark.parametrize("suffix", [".csv", ".CSV", ".txt", ".tsv"])
def test_read_table_reads_text_tables_by_extension(tmp_path: Path, suffix: str) -> None:
    table = read_table(write_bytes(tmp_path / f"needs{suffix}", TEXT.encode("utf-8")), is_known)
    assert values(table) == [(2, {"需求名称": "铜带氧化色差", "企业名称": "铜陵测试铜材有限公司"})]


def test_read_table_reads_gbk_csv_and_reports_the_encoding(tmp_path: Path) -> None:
    table = read_table(write_bytes(tmp_path / "needs.csv", TEXT.encode("gbk")), is_known)
    assert table.encoding == "gb18030"
    assert table.rows[0].values["企业名称"] == "铜陵测试铜材有限公司"


def test_read_table_reads_utf16_csv(tmp_path: Path) -> None:
    data = TEXT.replace(",", "\t").encode("utf-16")
    table = read_table(write_bytes(tmp_path / "needs.txt", data), is_known)
    assert table.encoding == "utf-16"
    assert table.headers == ["需求名称", "企业名称"]


def test_read_table_finds_the_header_under_a_title_row(tmp_path: Path) -> None:
    text = (
        "铜陵市企业技术需求征集表,,\n"
        "填报单位：（盖章）,,\n"
        "需求名称,企业名称,预算(万元)\n"
        "铜带氧化色差,铜陵测试铜材有限公司,50\n"
    )
    table = read_table(write_bytes(tmp_path / "needs.csv", text.encode("utf-8")), is_known)
    assert table.headers == ["需求名称", "企业名称", "预算(万元)"]
    assert values(table) == [
        (4, {"需求名称": "铜带氧化色差", "企业名称": "铜陵测试铜材有限公司", "预算(万元)": "50"})
    ]


def test_read_table_prefers_the_row_with_most_known_names(tmp_path: Path) -> None:
    text = "需求名称,说明\n需求名称,企业名称,预算(万元)\n铜带,铜陵,50\n"
    table = read_table(write_bytes(tmp_path / "needs.csv", text.encode("utf-8")), is_known)
    assert table.headers == ["需求名称", "企业名称", "预算(万元)"]
    assert [row.number for row in table.rows] == [3]


def test_read_table_skips_blank_rows_and_numbers_rows_as_the_spreadsheet_does(
    tmp_path: Path,
) -> None:
    text = (
        "需求名称,企业名称\n"  # row 1
        "甲需求,甲公司\n"  # row 2
        ",\n"  # row 3
        "\n"  # row 4
        " , \n"  # row 5
        "乙需求,乙公司\n"  # row 6
        '"丙需求",\n'  # row 7
    )
    table = read_table(write_bytes(tmp_path / "needs.csv", text.encode("utf-8")), is_known)
    assert values(table) == [
        (2, {"需求名称": "甲需求", "企业名称": "甲公司"}),
        (6, {"需求名称": "乙需求", "企业名称": "乙公司"}),
        (7, {"需求名称": "丙需求", "企业名称": None}),
    ]


def test_read_table_strips_cells_and_fills_short_rows_with_none(tmp_path: Path) -> None:
    text = "需求名称,企业名称,预算(万元)\n  铜带  ,   \n"
    table = read_table(write_bytes(tmp_path / "needs.csv", text.encode("utf-8")), is_known)
    assert table.rows == [RawRow(2, {"需求名称": "铜带", "企业名称": None, "预算(万元)": None})]


def test_read_table_keeps_quoted_delimiters_and_new_lines_inside_a_cell(tmp_path: Path) -> None:
    text = '需求名称,企业名称\n"铜带,退火","第一行\n第二行"\n'
    table = read_table(write_bytes(tmp_path / "needs.csv", text.encode("utf-8")), is_known)
    assert table.rows[0].values == {"需求名称": "铜带,退火", "企业名称": "第一行\n第二行"}


def test_read_table_drops_columns_without_a_header(tmp_path: Path) -> None:
    text = "需求名称,,企业名称\n铜带,备注,铜陵\n"
    table = read_table(write_bytes(tmp_path / "needs.csv", text.encode("utf-8")), is_known)
    assert table.headers == ["需求名称", "企业名称"]
    assert table.rows[0].values == {"需求名称": "铜带", "企业名称": "铜陵"}


def test_read_table_takes_the_first_non_blank_row_as_header_when_no_name_is_known(
    tmp_path: Path,
) -> None:
    text = "\n,\ncolour,size\nred,10\n"
    table = read_table(write_bytes(tmp_path / "things.csv", text.encode("utf-8")), is_known)
    assert table.headers == ["colour", "size"]
    assert values(table) == [(4, {"colour": "red", "size": "10"})]


@pytest.mark.parametrize(
    "data", [b"", b"   \n\n  ", codecs.BOM_UTF8], ids=["empty", "blank", "bom-only"]
)
def test_read_table_refuses_an_empty_file(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InvalidFile, match="文件是空的"):
        read_table(write_bytes(tmp_path / "needs.csv", data), is_known)


def test_read_table_refuses_a_csv_of_empty_cells(tmp_path: Path) -> None:
    with pytest.raises(InvalidFile, match="没有表头，也没有数据行"):
        read_table(write_bytes(tmp_path / "needs.csv", b",,\n , ,\n"), is_known)


def test_read_table_refuses_a_binary_file_named_csv(tmp_path: Path) -> None:
    with pytest.raises(InvalidFile, match="二进制内容"):
        read_table(write_bytes(tmp_path / "needs.csv", b"PK\x03\x04\x00\x00junk"), is_known)


# --- files that are not tables -------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xls", ".et", ".wps"])
def test_read_table_asks_to_resave_old_excel_and_wps_files(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(InvalidFile, match=r"另存为 \.xlsx"):
        read_table(write_bytes(tmp_path / f"needs{suffix}", b"\xd0\xcf\x11\xe0junk"), is_known)


@pytest.mark.parametrize(("name", "shown"), [("needs.pdf", ".pdf"), ("needs", "无扩展名")])
def test_read_table_refuses_other_file_types(tmp_path: Path, name: str, shown: str) -> None:
    with pytest.raises(InvalidFile, match=f"不支持的文件类型「{shown}」"):
        read_table(write_bytes(tmp_path / name, b"%PDF-1.4"), is_known)


def test_read_table_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidFile, match="无法打开文件"):
        read_table(tmp_path / "missing.csv", is_known)


def test_read_table_reports_a_broken_xlsx(tmp_path: Path) -> None:
    with pytest.raises(InvalidFile, match="无法读取 XLSX 文件"):
        read_table(write_bytes(tmp_path / "needs.xlsx", b"this is not a zip file"), is_known)


# --- XLSX ----------------------------------------------------------------------------------


def test_read_table_reads_an_xlsx_with_typed_cells(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "needs.xlsx",
        {
            "需求": [
                ["需求名称", "预算(万元)", "截止日期"],
                ["铜带氧化色差", 80, dt.datetime(2027, 6, 30)],
                ["  退火炉节能  ", 12.5, None],
            ]
        },
    )
    table = read_table(path, is_known)
    assert table.headers == ["需求名称", "预算(万元)", "截止日期"]
    assert values(table) == [
        (2, {"需求名称": "铜带氧化色差", "预算(万元)": 80, "截止日期": dt.datetime(2027, 6, 30)}),
        (3, {"需求名称": "退火炉节能", "预算(万元)": 12.5, "截止日期": None}),
    ]
    assert table.encoding is None
    assert table.warnings == []


def test_read_table_gives_whole_floats_from_excel_back_as_int(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "needs.xlsx", {"需求": [["需求名称", "预算(万元)"], ["铜带", 50]]}
    )
    # Some tools write a whole number as "50.0"; rewrite the cell so the file holds a float.
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    assert b"<v>50</v>" in parts[sheet]
    parts[sheet] = parts[sheet].replace(b"<v>50</v>", b"<v>50.0</v>")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    budget = read_table(path, is_known).rows[0].values["预算(万元)"]
    assert budget == 50
    assert type(budget) is int


def test_read_table_fills_merged_cells_and_says_so(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "needs.xlsx",
        {
            "需求": [
                ["铜陵市企业技术需求征集表", None, None],  # row 1, merged A1:C1
                ["需求名称", "企业名称", "预算(万元)"],  # row 2
                ["铜带氧化色差", "铜陵测试铜材有限公司", 50],  # row 3, B3:B4 merged
                ["退火炉节能", None, 80],  # row 4
                [None, None, None],  # row 5
                ["废酸回收", "铜陵另一公司", None],  # row 6
            ]
        },
        merges={"需求": ["A1:C1", "B3:B4"]},
    )
    table = read_table(path, is_known)
    assert table.headers == ["需求名称", "企业名称", "预算(万元)"]
    assert values(table) == [
        (3, {"需求名称": "铜带氧化色差", "企业名称": "铜陵测试铜材有限公司", "预算(万元)": 50}),
        (4, {"需求名称": "退火炉节能", "企业名称": "铜陵测试铜材有限公司", "预算(万元)": 80}),
        (6, {"需求名称": "废酸回收", "企业名称": "铜陵另一公司", "预算(万元)": None}),
    ]
    # Only the merge across rows changes data; the title merge across columns goes unmentioned.
    assert table.warnings == [
        "第 3-4 行的合并单元格 B3:B4 已拆分，每行按合并值「铜陵测试铜材有限公司」填充"
    ]


def test_read_table_picks_the_sheet_with_known_headers(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "needs.xlsx",
        {
            "填写说明": [["填写说明"], ["1. 每行一个需求"], ["2. 预算单位为万元"]],
            "需求": [["需求名称", "企业名称"], ["铜带氧化色差", "铜陵测试铜材有限公司"]],
            "字典": [["合作方式"], ["合作开发"]],
        },
    )
    table = read_table(path, is_known)
    assert values(table) == [(2, {"需求名称": "铜带氧化色差", "企业名称": "铜陵测试铜材有限公司"})]
    assert table.warnings == ["工作簿有多个工作表，已读取「需求」"]


def test_read_table_refuses_an_empty_workbook(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "needs.xlsx", {"Sheet1": []})
    with pytest.raises(InvalidFile, match="文件是空的"):
        read_table(path, is_known)


# --- JSON ----------------------------------------------------------------------------------


def write_json(path: Path, document: object) -> Path:
    return write_bytes(path, json.dumps(document, ensure_ascii=False).encode("utf-8"))


def test_read_table_reads_a_json_list_of_objects(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "needs.json",
        [
            {"需求名称": "铜带氧化色差", "预算(万元)": 50.0},
            {"需求名称": " 退火炉节能 ", "企业名称": "铜陵测试铜材有限公司", "预算(万元)": 12.5},
        ],
    )
    table = read_table(path, is_known)
    assert table.row_label == "条"
    assert table.headers == ["需求名称", "预算(万元)", "企业名称"]
    assert values(table) == [
        (1, {"需求名称": "铜带氧化色差", "预算(万元)": 50}),
        (2, {"需求名称": "退火炉节能", "企业名称": "铜陵测试铜材有限公司", "预算(万元)": 12.5}),
    ]
    assert type(table.rows[0].values["预算(万元)"]) is int


def test_read_table_reads_the_list_under_the_entity_key(tmp_path: Path) -> None:
    path = write_json(tmp_path / "export.json", {"version": 1, "needs": [{"需求名称": "铜带"}]})
    table = read_table(path, is_known, entity_key="needs")
    assert values(table) == [(1, {"需求名称": "铜带"})]


def test_read_table_reads_the_list_under_items(tmp_path: Path) -> None:
    path = write_json(tmp_path / "export.json", {"items": [{"需求名称": "铜带"}]})
    assert values(read_table(path, is_known, entity_key="needs")) == [(1, {"需求名称": "铜带"})]


@pytest.mark.parametrize("document", [{"results": [{"a": 1}]}, "text", 42, None])
def test_read_table_refuses_json_that_holds_no_list(tmp_path: Path, document: object) -> None:
    path = write_json(tmp_path / "export.json", document)
    with pytest.raises(InvalidFile, match="JSON 应为对象数组，或含“needs”数组的对象"):
        read_table(path, is_known, entity_key="needs")


def test_read_table_points_at_the_json_syntax_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "needs.json", '[\n{"需求名称": "铜带",}\n]'.encode())
    with pytest.raises(InvalidFile, match=r"JSON 格式错误：第 2 行第 \d+ 列"):
        read_table(path, is_known)


def test_read_table_names_the_json_item_that_is_not_an_object(tmp_path: Path) -> None:
    path = write_json(tmp_path / "needs.json", [{"需求名称": "铜带"}, ["铜带"]])
    with pytest.raises(InvalidFile, match="第 2 条记录不是对象"):
        read_table(path, is_known)


def test_read_table_refuses_an_empty_json_list(tmp_path: Path) -> None:
    with pytest.raises(InvalidFile, match="没有任何记录"):
        read_table(write_json(tmp_path / "needs.json", []), is_known)


def test_read_table_reads_json_saved_with_a_bom_or_in_gbk(tmp_path: Path) -> None:
    text = json.dumps([{"需求名称": "铜带"}], ensure_ascii=False)
    for name, data in [
        ("bom.json", codecs.BOM_UTF8 + text.encode("utf-8")),
        ("gbk.json", text.encode("gbk")),
    ]:
        assert values(read_table(write_bytes(tmp_path / name, data), is_known)) == [
            (1, {"需求名称": "铜带"})
        ]


# --- as_date -------------------------------------------------------------------------------


def test_as_date_takes_only_typed_dates() -> None:
    assert as_date(dt.datetime(2027, 6, 30, 8, 0)) == dt.date(2027, 6, 30)
    assert as_date(dt.date(2027, 6, 30)) == dt.date(2027, 6, 30)
    assert as_date("2027-06-30") is None
    assert as_date(None) is None
