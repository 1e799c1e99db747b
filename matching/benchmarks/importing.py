"""Import/export speed on a large generated needs file (the 20,000-row case of the issue)."""

from __future__ import annotations

import csv
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from matching.config import Settings
from matching.exporting import export_file
from matching.importing import import_file
from matching.store.database import Database

__all__ = ["ImportBenchmark", "run_import_benchmark"]

_HEADERS = [
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
_PROBLEMS = [
    "退火炉出口铜带氧化色差",
    "电解槽短路漏检",
    "尾矿含铜偏高",
    "烟气制酸转化率低",
    "奶牛乳房炎检出滞后",
    "枸杞原浆沉淀分层",
    "磷石膏堆存渗滤液",
    "注塑机液压泵故障",
]


def _rows(count: int) -> list[list[str]]:
    rows = []
    for number in range(1, count + 1):
        problem = _PROBLEMS[number % len(_PROBLEMS)]
        rows.append(
            [
                f"B-{number:06d}",
                f"{problem}（第{number}号）",
                f"第{number}号企业反映{problem}，年产能{number * 7 % 9000 + 500}吨，"
                f"不良率约{number % 9 + 2}%，已尝试调整工艺参数{number % 5 + 1}次，效果不稳定。",
                "450；610",
                "工艺；质量",
                f"基准测试企业{number}号有限公司",
                "安徽省铜陵市义安区",
                "合作开发",
                f"{number % 90 + 10}-{number % 90 + 200}",
                "2027-06-30",
                "已发布",
            ]
        )
    return rows


@dataclass
class ImportBenchmark:
    rows: int
    repeats: int
    seconds: dict[str, list[float]]

    def median(self, step: str) -> float:
        return statistics.median(self.seconds[step])

    def markdown(self) -> str:
        lines = ["| step | median s | rows/s | runs (s) |", "|---|---|---|---|"]
        for step, runs in self.seconds.items():
            median = statistics.median(runs)
            lines.append(
                f"| {step} | {median:.2f} | {self.rows / median:,.0f} | "
                + ", ".join(f"{run:.2f}" for run in runs)
                + " |"
            )
        return "\n".join(lines)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _one_run(rows: int, seconds: dict[str, list[float]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = root / "needs.csv"
        with open(source, "w", encoding="gb18030", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(_HEADERS)
            writer.writerows(_rows(rows))
        settings = Settings(data_dir=root / "a", load_demo=False)
        store = Database(settings.resolved_database_url)
        store.upgrade()
        copy = Database(f"sqlite:///{root / 'b.db'}")
        copy.upgrade()

        def import_new() -> None:
            _check(rows, import_file(store, "needs", source, settings=settings).created)

        def reimport() -> None:
            _check(rows, import_file(store, "needs", source, settings=settings).unchanged)

        def import_xlsx() -> None:
            report = import_file(copy, "needs", root / "needs.xlsx", settings=settings)
            _check(rows, report.created)

        seconds["import CSV (new store)"].append(_timed(import_new))
        seconds["re-import same CSV (unchanged)"].append(_timed(reimport))
        seconds["export XLSX"].append(
            _timed(lambda: export_file(store, "needs", root / "needs.xlsx"))
        )
        seconds["import XLSX (new store)"].append(_timed(import_xlsx))
        store.dispose()
        copy.dispose()


def _check(expected: int, done: int) -> None:
    if expected != done:
        raise RuntimeError(f"benchmark import handled {done} of {expected} rows")


def run_import_benchmark(rows: int = 20_000, repeats: int = 3) -> ImportBenchmark:
    """Import a GB18030 CSV of ``rows`` needs into a fresh SQLite store, re-import it
    (all unchanged), export it to XLSX and import that XLSX into another fresh store."""
    seconds: dict[str, list[float]] = {
        "import CSV (new store)": [],
        "re-import same CSV (unchanged)": [],
        "export XLSX": [],
        "import XLSX (new store)": [],
    }
    for _ in range(repeats):
        _one_run(rows, seconds)
    return ImportBenchmark(rows, repeats, seconds)
