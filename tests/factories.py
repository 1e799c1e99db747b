"""Rows of the import files, built in code for tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

NEED_HEADERS = [
    "需求编号",
    "需求名称",
    "需求描述",
    "所属领域",
    "关键词",
    "企业名称",
    "所在地区",
    "合作方式",
    "预算(万元)",
    "截止日期",
    "状态",
]


def need_row(number: int, **overrides: str) -> dict[str, str]:
    """A valid need row; ``number`` makes its reference and text unique."""
    row = {
        "需求编号": f"T-{number:04d}",
        "需求名称": f"第{number}号生产线铜板带表面氧化色差问题",
        "需求描述": (
            f"我公司第{number}号退火炉出口铜带表面出现氧化色差，批次不良率约{number % 9 + 2}%，"
            f"客户投诉较多，已尝试调整保护气氛露点但效果不稳定，希望找到可在线检测和控制的办法。"
            f"编号{number}的产线年产能{number * 3 + 1000}吨。"
        ),
        "所属领域": "430 材料科学；450",
        "关键词": "铜带；退火；氧化色差",
        "企业名称": f"铜陵测试铜材{number}号有限公司",
        "所在地区": "安徽省铜陵市义安区",
        "合作方式": "合作开发；技术咨询与服务",
        "预算(万元)": "50-100",
        "截止日期": "2027-06-30",
        "状态": "已发布",
    }
    row.update(overrides)
    return row


def write_csv(
    path: Path,
    rows: list[dict[str, Any]],
    encoding: str = "utf-8-sig",
    headers: list[str] | None = None,
) -> Path:
    headers = headers or list(rows[0])
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=headers, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, grid: list[list[Any]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in grid:
        sheet.append(row)
    workbook.save(path)
    return path


def write_json(path: Path, items: Any) -> Path:
    path.write_text(json.dumps(items, ensure_ascii=False), "utf-8")
    return path
