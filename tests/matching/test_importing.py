"""Import: every bad-file case, idempotent re-import, updates with history, near-duplicates."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matching.config import Settings
from matching.errors import InvalidFile
from matching.importing import import_file
from matching.store.database import Database
from matching.store.models import ChangeRecord, Expert, Need, Organization, Result
from tests.factories import need_row, write_csv, write_json, write_xlsx


def _count(database: Database, model: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_gbk_csv_from_chinese_excel_imports(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "needs.csv", [need_row(i) for i in range(1, 6)], encoding="gbk")
    report = import_file(database, "needs", path, settings=settings)
    assert report.encoding == "gb18030"
    assert (report.created, report.errors, report.written) == (5, [], True)
    with database.session() as session:
        need = session.scalar(select(Need).where(Need.external_ref == "T-0001"))
        assert need is not None
        assert need.title == "第1号生产线铜板带表面氧化色差问题"
        assert need.fields == ["430", "450"]
        assert (need.budget_min, need.budget_max) == (50.0, 100.0)
        assert need.cooperation_modes == ["joint_development", "consulting"]
        assert need.deadline == dt.date(2027, 6, 30)
        assert (need.province, need.city, need.district) == ("安徽省", "铜陵市", "义安区")
        assert need.status == "published"
        assert need.enterprise.kind == "enterprise"


def test_gbk_csv_with_errors_reports_every_bad_row_and_imports_nothing(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [
        need_row(1),
        need_row(2, **{"预算(万元)": "一百万"}),
        need_row(3),
        need_row(4, **{"截止日期": "明年年底", "所属领域": "量子烹饪"}),
        need_row(5, **{"需求名称": ""}),
        need_row(6, **{"合作方式": "外包"}),
    ]
    path = write_csv(tmp_path / "needs.csv", rows, encoding="gbk")
    report = import_file(database, "needs", path, settings=settings)
    assert not report.written
    found = {(problem.row, problem.column) for problem in report.errors}
    assert found == {
        (3, "预算(万元)"),
        (5, "截止日期"),
        (5, "所属领域"),
        (6, "需求名称"),
        (7, "合作方式"),
    }
    messages = "\n".join(str(problem) for problem in report.errors)
    assert "第 3 行，「预算(万元)」列，值「一百万」：应为金额（万元）" in messages
    assert "第 6 行，「需求名称」列：必填项为空" in messages
    assert "技术转让" in messages  # the allowed cooperation modes are listed
    assert "未导入任何数据" in report.summary()
    assert _count(database, Need) == 0
    assert _count(database, Organization) == 0


def test_skip_invalid_imports_the_valid_rows_only(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [need_row(1), need_row(2, **{"预算(万元)": "-5"}), need_row(3)]
    path = write_csv(tmp_path / "needs.csv", rows)
    report = import_file(database, "needs", path, skip_invalid=True, settings=settings)
    assert (report.created, report.skipped, report.written) == (2, 1, True)
    assert _count(database, Need) == 2


def test_reimporting_the_same_file_changes_nothing(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "needs.csv", [need_row(i) for i in range(1, 11)])
    first = import_file(database, "needs", path, settings=settings)
    history_after_first = _count(database, ChangeRecord)
    second = import_file(database, "needs", path, settings=settings)
    assert (first.created, second.created, second.updated, second.unchanged) == (10, 0, 0, 10)
    assert _count(database, Need) == 10
    assert _count(database, ChangeRecord) == history_after_first


def test_changed_row_updates_and_keeps_history(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "needs.csv", [need_row(1), need_row(2)])
    import_file(database, "needs", path, settings=settings, actor="王老师")
    write_csv(path, [need_row(1, **{"预算(万元)": "200以上"}), need_row(2)])
    report = import_file(database, "needs", path, settings=settings, actor="李老师")
    assert (report.updated, report.unchanged) == (1, 1)
    with database.session() as session:
        need = session.scalar(select(Need).where(Need.external_ref == "T-0001"))
        assert need is not None and (need.budget_min, need.budget_max) == (200.0, None)
        changes = session.scalars(
            select(ChangeRecord)
            .where(ChangeRecord.entity_type == "need", ChangeRecord.entity_id == need.id)
            .order_by(ChangeRecord.id)
        ).all()
    assert [change.action for change in changes] == ["create", "update"]
    assert changes[1].actor == "李老师"
    assert changes[1].changes == {"budget_min": [50.0, 200.0], "budget_max": [100.0, None]}


def test_near_duplicate_need_of_the_same_enterprise_is_flagged(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    original = need_row(1)
    import_file(database, "needs", write_csv(tmp_path / "a.csv", [original]), settings=settings)
    retyped = need_row(
        1,
        **{
            "需求编号": "T-9999",
            "需求描述": original["需求描述"].replace("，", "。", 2) + "急需。",
        },
    )
    other_firm = need_row(1, **{"需求编号": "T-8888", "企业名称": "宜昌另一家化工有限公司"})
    path = write_csv(tmp_path / "b.csv", [retyped, other_firm])
    report = import_file(database, "needs", path, settings=settings)
    assert not report.written
    assert [(p.row, p.column) for p in report.errors] == [(2, "需求名称")]
    assert "疑似重复：与已有需求 T-0001" in str(report.errors[0])

    allowed = import_file(database, "needs", path, allow_duplicates=True, settings=settings)
    assert allowed.created == 2
    with database.session() as session:
        flagged = session.scalar(select(Need).where(Need.external_ref == "T-9999"))
        first = session.scalar(select(Need).where(Need.external_ref == "T-0001"))
        assert flagged is not None and first is not None
        assert flagged.duplicate_of_id == first.id


def test_near_duplicates_inside_one_file_are_flagged(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [need_row(1), need_row(1, **{"需求编号": "T-0002"})]
    report = import_file(database, "needs", write_csv(tmp_path / "n.csv", rows), settings=settings)
    assert [(p.row, p.column) for p in report.errors] == [(3, "需求名称")]
    assert "第 2 行" in report.errors[0].reason


def test_repeated_reference_in_one_file_is_an_error(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [need_row(1), need_row(2, **{"需求编号": "T-0001"})]
    report = import_file(database, "needs", write_csv(tmp_path / "n.csv", rows), settings=settings)
    assert [(p.row, p.column, p.reason) for p in report.errors] == [
        (3, "需求编号", "编号与第 2 行重复")
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "文件是空的"),
        (b"   \r\n  \n", "文件是空的"),
        ("单位,地址\n甲公司,铜陵\n".encode(), "缺少必填列「需求名称」「需求描述」「企业名称」"),
        (b"\x00\x01\x02\xff\xfe\x00binary", "二进制"),
    ],
)
def test_unreadable_files_give_clear_errors(
    database: Database, settings: Settings, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidFile, match=message):
        import_file(database, "needs", path, settings=settings)


def test_unsupported_and_corrupt_spreadsheets(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0 old excel")
    with pytest.raises(InvalidFile, match=r"另存为 \.xlsx"):
        import_file(database, "needs", tmp_path / "old.xls", settings=settings)
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InvalidFile, match="无法读取 XLSX"):
        import_file(database, "needs", tmp_path / "broken.xlsx", settings=settings)
    (tmp_path / "needs.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(InvalidFile, match="不支持的文件类型"):
        import_file(database, "needs", tmp_path / "needs.pdf", settings=settings)


def test_header_only_file_imports_nothing_without_error(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "needs.csv"
    path.write_text("需求名称,需求描述,企业名称\n", encoding="utf-8")
    report = import_file(database, "needs", path, settings=settings)
    assert (report.rows_read, report.created, report.errors) == (0, 0, [])


def test_xlsx_with_title_row_and_merged_enterprise_cells(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    header = ["序号", "企业名称", "需求名称", "需求描述", "所在地区", "预算（万元）", "截止日期"]
    grid: list[list[object]] = [
        ["铜陵市2026年企业技术需求征集表"],
        header,
        [
            1,
            "铜陵合并单元格铜业有限公司",
            "阳极泥中金银回收率低",
            "阳极泥处理金回收率仅96%，希望提高到98.5%以上。",
            "安徽省铜陵市铜官区",
            80,
            dt.datetime(2027, 3, 31),
        ],
        [
            2,
            None,
            "电解槽漏电检测",
            "电解车间槽面短路靠人工巡检，每班发现不及时，希望在线监测短路。",
            "安徽省铜陵市铜官区",
            "30-50",
            "2027/9/30",
        ],
        [
            3,
            None,
            "冶炼渣选铜尾矿含铜偏高",
            "渣选矿尾矿含铜0.28%，行业先进水平0.20%以下。",
            "安徽省铜陵市铜官区",
            "面议",
            "2027年12月",
        ],
    ]
    path = write_xlsx(tmp_path / "form.xlsx", grid)
    workbook = load_workbook(path)
    workbook.active.merge_cells("A1:G1")
    workbook.active.merge_cells("B3:B5")
    workbook.save(path)

    report = import_file(database, "needs", path, settings=settings)
    assert (report.created, report.errors) == (3, [])
    assert any("合并单元格 B3:B5" in str(w) for w in report.warnings)
    assert any("未识别的列「序号」" in str(w) for w in report.warnings)
    with database.session() as session:
        needs = session.scalars(select(Need).order_by(Need.deadline)).all()
        assert {need.enterprise.name for need in needs} == {"铜陵合并单元格铜业有限公司"}
        assert [need.deadline for need in needs] == [
            dt.date(2027, 3, 31),
            dt.date(2027, 9, 30),
            dt.date(2027, 12, 31),
        ]
        assert [(need.budget_min, need.budget_max) for need in needs] == [
            (80.0, 80.0),
            (30.0, 50.0),
            (None, None),
        ]


def test_wrong_types_in_xlsx_cells_are_reported_by_row(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    grid: list[list[object]] = [
        [
            "成果名称",
            "成果简介",
            "完成单位",
            "成熟度",
            "技术就绪度(TRL)",
            "转让价格(万元)",
            "知识产权",
        ],
        [
            "钒渣钙化焙烧提钒",
            "钙化焙烧—酸浸提钒，钒浸出率92%。",
            "攀枝花学院",
            "中试",
            6,
            120,
            "ZL202110234567.8（发明专利，已授权）",
        ],
        [
            "钛白废酸浓缩回用",
            "废酸浓缩至 65%，回用于酸解工序。",
            "四川大学",
            "中试",
            12,
            "贵",
            None,
        ],
        [
            "尾矿制备微晶玻璃",
            "以钒钛尾矿为主料制备微晶玻璃。",
            "攀枝花学院",
            "研发",
            8,
            None,
            "ZL2021（专利）",
        ],
    ]
    report = import_file(
        database, "results", write_xlsx(tmp_path / "r.xlsx", grid), settings=settings
    )
    found = {(p.row, p.column) for p in report.errors}
    assert found == {
        (3, "技术就绪度(TRL)"),
        (3, "转让价格(万元)"),
        (4, "技术就绪度(TRL)"),
        (4, "知识产权"),
    }
    assert any("与成熟度「研发」不一致（应为 1-3）" in str(p) for p in report.errors)
    assert _count(database, Result) == 0


def test_json_import_counts_items_and_accepts_english_keys(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    items = {
        "experts": [
            {
                "name": "赵明",
                "institution": "中南大学",
                "title": "教授",
                "fields": "450；610",
                "keywords": "有色冶金；烟气治理",
                "conflict_organizations": "铜陵某铜业有限公司",
            },
            {"姓名": "钱华", "工作单位": "宁夏大学", "电子邮箱": "not-an-email"},
        ]
    }
    report = import_file(
        database, "experts", write_json(tmp_path / "e.json", items), settings=settings
    )
    assert [str(p) for p in report.errors] == [
        "第 2 条，「电子邮箱」列，值「not-an-email」：电子邮箱格式不正确"
    ]
    report = import_file(
        database,
        "experts",
        write_json(tmp_path / "e.json", items["experts"][:1]),
        settings=settings,
    )
    assert report.created == 1
    with database.session() as session:
        expert = session.scalars(select(Expert)).one()
        assert expert.organization is not None and expert.organization.kind == "university"
        assert expert.conflict_organizations == ["铜陵某铜业有限公司"]


def test_utf16_tab_separated_text_from_excel(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "needs.txt"
    rows = [need_row(1), need_row(2)]
    lines = ["\t".join(rows[0])] + ["\t".join(row.values()) for row in rows]
    path.write_bytes("\r\n".join(lines).encode("utf-16"))
    report = import_file(database, "needs", path, settings=settings)
    assert (report.encoding, report.created) == ("utf-16", 2)


def test_dry_run_reports_but_writes_nothing(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "needs.csv", [need_row(1), need_row(2)])
    report = import_file(database, "needs", path, dry_run=True, settings=settings)
    assert (report.created, report.written, report.dry_run) == (2, True, True)
    assert _count(database, Need) == 0
    assert _count(database, ChangeRecord) == 0


def test_status_change_against_the_lifecycle_is_rejected(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "needs.csv", [need_row(1, **{"状态": "已签约"})])
    import_file(database, "needs", path, settings=settings)
    write_csv(path, [need_row(1, **{"状态": "草稿"})])
    report = import_file(database, "needs", path, settings=settings)
    assert not report.written
    assert "状态不能从「已签约」改为「草稿」；可改为：已关闭" in str(report.errors[0])


def test_rows_without_reference_get_a_stable_one(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [{k: v for k, v in need_row(i).items() if k != "需求编号"} for i in (1, 2)]
    path = write_csv(tmp_path / "needs.csv", rows)
    first = import_file(database, "needs", path, settings=settings)
    second = import_file(database, "needs", path, settings=settings)
    assert (first.created, second.unchanged) == (2, 2)


@pytest.mark.slow
def test_twenty_thousand_rows_import_in_reasonable_time(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [need_row(i) for i in range(1, 20_001)]
    path = write_csv(tmp_path / "big.csv", rows, encoding="gb18030")
    started = time.perf_counter()
    report = import_file(database, "needs", path, settings=settings)
    elapsed = time.perf_counter() - started
    assert (report.created, report.errors) == (20_000, [])
    assert _count(database, Need) == 20_000
    assert elapsed < 120, f"20,000 rows took {elapsed:.1f} s"
