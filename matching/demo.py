"""The demo data set (``data/demo/``): enterprises' needs, research results, experts and the
known best need → result pairs."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from matching.config import Settings
from matching.errors import TechMatchError
from matching.import_report import ImportReport
from matching.importing import import_file
from matching.store.database import Database

__all__ = ["DEMO_FILES", "DemoPair", "load_demo", "read_pairs"]

# Results before experts, so that institutions get their kind from the results sheet.
DEMO_FILES = {"needs": "needs.csv", "results": "results.csv", "experts": "experts.csv"}


@dataclass(frozen=True)
class DemoPair:
    """A need and the result that clearly answers it, with the reason."""

    need_ref: str
    result_ref: str
    why: str


def load_demo(db: Database, demo_dir: Path, settings: Settings | None = None) -> list[ImportReport]:
    """Import the demo files into the store (idempotent: re-loading changes nothing)."""
    reports = []
    for entity, name in DEMO_FILES.items():
        report = import_file(db, entity, demo_dir / name, actor="demo", settings=settings)
        if report.errors:
            raise TechMatchError("演示数据有误：\n" + report.summary())
        reports.append(report)
    return reports


def read_pairs(demo_dir: Path) -> list[DemoPair]:
    """The recorded need → best result pairs (``pairs.csv``)."""
    with open(demo_dir / "pairs.csv", encoding="utf-8", newline="") as handle:
        return [
            DemoPair(row["need_ref"], row["result_ref"], row["why"])
            for row in csv.DictReader(handle)
        ]
