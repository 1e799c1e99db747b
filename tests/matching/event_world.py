"""Stores for the event tests: a small one built in code (enterprises with needs, institutions
with results) and a tiny slice of the demo data with the real engine."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.config import Settings
from matching.demo import read_pairs
from matching.encode import Encoder
from matching.engine import MatchingEngine
from matching.events import EventSpec, ParticipantSpec, add_participant, create_event
from matching.importing import import_file
from matching.store.database import Database
from matching.store.models import Event, Need, Organization, Result
from tests.conftest import DEMO_DIR

PROVINCES = ("安徽省", "四川省", "安徽省", "宁夏回族自治区")
FIELDS = ("430", "450", "520", "430")


@dataclass(frozen=True)
class World:
    """Organization id → its need ids (enterprises) or result ids (institutions)."""

    enterprises: dict[int, list[int]]
    institutions: dict[int, list[int]]


def seed(database: Database, enterprises: int = 3, institutions: int = 3) -> World:
    """Enterprises with two needs each and institutions with two results each."""
    world = World({}, {})
    with database.session("test") as session:
        for e in range(enterprises):
            firm = Organization(name=f"测试企业{e}有限公司", kind="enterprise")
            needs = [
                Need(
                    external_ref=f"XQ-{e}-{k}",
                    title=f"企业{e}的第{k}项技术需求",
                    description="生产线需要在线检测铜带表面缺陷。",
                    enterprise=firm,
                    fields=[FIELDS[(e + k) % len(FIELDS)], "410"],
                    province=PROVINCES[e % len(PROVINCES)],
                    status="published",
                )
                for k in range(2)
            ]
            session.add_all([firm, *needs])
            session.flush()
            world.enterprises[firm.id] = [n.id for n in needs]
        for i in range(institutions):
            school = Organization(name=f"测试大学{i}", kind="university")
            results = [
                Result(
                    external_ref=f"CG-{i}-{k}",
                    title=f"大学{i}的第{k}项科技成果",
                    abstract="一种基于机器视觉的表面缺陷检测方法。",
                    institution=school,
                    fields=[FIELDS[(i + k + 1) % len(FIELDS)]],
                    province=PROVINCES[(i + 1) % len(PROVINCES)],
                    team_lead=f"教授{i}",
                )
                for k in range(2)
            ]
            session.add_all([school, *results])
            session.flush()
            world.institutions[school.id] = [r.id for r in results]
    return world


def new_event(session: Session, slots: int = 3, tables: int = 2, **extra: object) -> Event:
    spec = EventSpec(
        name="铜陵市科技成果推介对接会",
        date=dt.date(2026, 5, 20),
        venue="铜陵市科技局三楼会议室",
        slots=slots,
        tables=tables,
        **extra,  # type: ignore[arg-type]
    )
    return create_event(session, spec)


def enroll(session: Session, event_id: int, world: World) -> tuple[list[int], list[int]]:
    """Every enterprise and institution of ``world`` into the event: participant ids."""
    firms = [
        add_participant(session, event_id, ParticipantSpec(kind="enterprise", needs=needs)).id
        for needs in world.enterprises.values()
    ]
    teams = [
        add_participant(session, event_id, ParticipantSpec(kind="team", results=results)).id
        for results in world.institutions.values()
    ]
    return firms, teams


# --- a tiny store with the real engine --------------------------------------------------------


def engine_store(
    folder: Path, encoder: Encoder, pairs: int = 2, others: int = 2
) -> tuple[MatchingEngine, Database]:
    """``pairs`` recorded demo need → result pairs, their needs and results, ``others`` other
    results and one expert, imported and indexed with the real model."""
    chosen = read_pairs(DEMO_DIR)[::25][:pairs]
    keep = {
        "needs.csv": ("需求编号", {pair.need_ref for pair in chosen}, 0),
        "results.csv": ("成果编号", {pair.result_ref for pair in chosen}, others),
        "experts.csv": ("专家编号", set(), 1),
    }
    for name, (key, wanted, others) in keep.items():
        with open(DEMO_DIR / name, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        picked = [row for row in rows if row[key] in wanted]
        picked += [row for row in rows if row[key] not in wanted][:others]
        with open(folder / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(picked)
    settings = Settings(data_dir=folder / "var", load_demo=False, demo_dir=folder)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    for entity in ("needs", "results", "experts"):
        report = import_file(database, entity, folder / f"{entity}.csv", settings=settings)
        assert report.errors == []
    engine = MatchingEngine(database, settings, encoder)
    engine.open()
    return engine, database


def enroll_all(session: Session, event_id: int) -> tuple[list[int], list[int]]:
    """Every enterprise with all its needs and every institution with all its results."""
    needs: dict[int, list[int]] = {}
    for need in session.scalars(select(Need).order_by(Need.id)).unique():
        needs.setdefault(need.enterprise_id, []).append(need.id)
    results: dict[int, list[int]] = {}
    for result in session.scalars(select(Result).order_by(Result.id)).unique():
        results.setdefault(result.institution_id, []).append(result.id)
    return enroll(session, event_id, World(needs, results))
