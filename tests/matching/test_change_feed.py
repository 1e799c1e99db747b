"""The change feed: which needs, results and experts other writers touched since the last look."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from matching.change_feed import ChangeFeed
from matching.importing import import_file
from matching.store.database import Database
from matching.store.models import Need, Organization
from tests.factories import need_row, write_csv


def _need_ids(database: Database) -> dict[str, int]:
    with database.session() as session:
        return {
            ref: need_id for need_id, ref in session.execute(select(Need.id, Need.external_ref))
        }


def _import(database: Database, path: Path, numbers: range) -> None:
    report = import_file(database, "needs", write_csv(path, [need_row(n) for n in numbers]))
    assert report.errors == []


def test_reports_each_write_once_by_corpus(database: Database, tmp_path: Path) -> None:
    feed = ChangeFeed(database)
    assert feed.changes() == {}
    # Another writer (its own connection pool, as another process would have).
    other = Database(str(database.engine.url))
    try:
        _import(other, tmp_path / "a.csv", range(1, 4))
        ids = _need_ids(database)
        assert feed.changes() == {"needs": set(ids.values())}
        assert feed.changes() == {}
        with other.session("another") as session:
            need = session.get(Need, ids["T-0002"])
            assert need is not None
            need.status = "withdrawn"
        assert feed.changes() == {"needs": {ids["T-0002"]}}
    finally:
        other.dispose()


def test_writes_outside_the_corpora_change_nothing_to_match(database: Database) -> None:
    feed = ChangeFeed(database)
    with database.session() as session:
        session.add(Organization(name="某某研究院", kind="university"))
    assert feed.changes() == {}
    assert feed.mark.count == 1


@pytest.mark.postgres
def test_entries_committed_out_of_order_ask_for_a_full_comparison(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL hands out change-log ids at insert, not at commit: a long transaction can
    commit ids below ones already seen. The feed must notice and not miss its records."""
    database = Database(postgres_url)
    database.upgrade()
    try:
        feed = ChangeFeed(database)
        long_running = database.session("long")
        session = long_running.__enter__()
        enterprise = Organization(name="长事务测试有限公司", kind="enterprise")
        session.add_all(
            Need(
                external_ref=f"L-{n}",
                title=f"长事务需求{n}",
                description="一个在长事务里写入的需求。",
                status="published",
                enterprise=enterprise,
            )
            for n in range(2)
        )
        session.flush()  # change-log ids taken now
        done = threading.Event()

        def short() -> None:
            _import(database, tmp_path / "short.csv", range(1, 2))
            done.set()

        writer = threading.Thread(target=short)
        writer.start()
        writer.join(timeout=60)
        assert done.is_set()
        seen = feed.changes()
        assert seen is not None and len(seen["needs"]) == 1  # the short one, committed first
        long_running.__exit__(None, None, None)  # commits the lower ids
        assert feed.changes() is None
        assert feed.changes() == {}
    finally:
        database.dispose()
