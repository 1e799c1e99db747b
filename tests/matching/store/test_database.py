"""The store on SQLite and PostgreSQL: migrations, schema drift, pragmas, history, counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from matching.config import Settings
from matching.exporting import export_file
from matching.importing import import_file
from matching.store.database import Database
from matching.store.models import Base, ChangeRecord, Expert, Need, Organization, Result

DOMAIN_TABLES = {
    "organizations",
    "needs",
    "results",
    "experts",
    "change_log",
    "feedback",
    "users",
    "api_keys",
    "evaluation_rounds",
    "round_items",
    "round_experts",
    "round_overrides",
    "review_assignments",
    "review_forms",
    "events",
    "event_participants",
    "event_requests",
    "event_meetings",
    "background_jobs",
    "pending_uploads",
}
ENTITIES = ("needs", "results", "experts")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def empty_store(store_url: str) -> Iterator[Database]:
    db = Database(store_url)
    yield db
    db.dispose()


@pytest.fixture
def store(empty_store: Database) -> Database:
    empty_store.upgrade()
    return empty_store


def _tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


def _enterprise(name: str = "铜陵测试铜材有限公司") -> Organization:
    return Organization(name=name, kind="enterprise")


def _need(ref: str, enterprise: Organization, **overrides: Any) -> Need:
    values: dict[str, Any] = {
        "title": "铜带表面氧化色差",
        "description": "退火炉出口铜带表面出现氧化色差，希望在线检测和控制。",
        "fields": ["430"],
        "enterprise": enterprise,
        "budget_min": 50.0,
    }
    return Need(external_ref=ref, **(values | overrides))


def _history(db: Database, entity_type: str = "need") -> list[ChangeRecord]:
    with db.session() as session:
        query = select(ChangeRecord).where(ChangeRecord.entity_type == entity_type)
        return list(session.scalars(query.order_by(ChangeRecord.id)))


def test_migrations_create_and_remove_every_table(empty_store: Database) -> None:
    db = empty_store
    assert db.current_revision() is None
    db.upgrade()
    assert _tables(db) == DOMAIN_TABLES | {"alembic_version"}
    assert db.current_revision() == db.head_revision() is not None
    db.downgrade("base")
    assert _tables(db) - {"alembic_version"} == set()
    assert db.current_revision() is None
    db.upgrade()
    assert _tables(db) == DOMAIN_TABLES | {"alembic_version"}
    assert db.current_revision() == db.head_revision()


def test_models_match_the_migrations(store: Database) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_sqlite_store_is_in_wal_mode_with_foreign_keys_on(database: Database) -> None:
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_foreign_keys_are_enforced(store: Database) -> None:
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(Need(external_ref="N-1", title="t", description="d", enterprise_id=999))
    assert store.counts()["needs"] == 0


def test_create_update_delete_write_history_with_the_actor(store: Database) -> None:
    with store.session(actor="alice") as session:
        need = _need("N-1", _enterprise())
        session.add(need)
    with store.session(actor="bob") as session:
        need = session.scalars(select(Need)).one()
        need.title = "铜带表面氧化色差在线检测"
        need.fields = ["430", "450"]
        need.budget_min = None
    with store.session(actor="carol") as session:
        session.delete(session.scalars(select(Need)).one())

    created, updated, deleted = _history(store)
    assert [(r.action, r.actor, r.entity_id) for r in (created, updated, deleted)] == [
        ("create", "alice", need.id),
        ("update", "bob", need.id),
        ("delete", "carol", need.id),
    ]
    assert created.changes["title"] == [None, "铜带表面氧化色差"]
    assert created.changes["fields"] == [None, ["430"]]
    assert updated.changes == {
        "title": ["铜带表面氧化色差", "铜带表面氧化色差在线检测"],
        "fields": [["430"], ["430", "450"]],
        "budget_min": [50.0, None],
    }
    assert deleted.changes["title"] == ["铜带表面氧化色差在线检测", None]
    assert deleted.changes["status"] == ["submitted", None]
    organization = _history(store, "organization")
    assert [(r.action, r.actor) for r in organization] == [("create", "alice")]


def test_assigning_the_same_values_writes_no_history(store: Database) -> None:
    with store.session() as session:
        session.add(_need("N-1", _enterprise()))
    with store.session(actor="bob") as session:
        need = session.scalars(select(Need)).one()
        before = need.updated_at
        need.title = str(need.title)
        need.fields = list(need.fields)
        need.budget_min = 50.0
    assert [r.action for r in _history(store)] == ["create"]
    with store.session() as session:
        assert session.scalars(select(Need)).one().updated_at == before


def test_an_error_in_a_session_rolls_back_entities_and_history(store: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"), store.session(actor="alice") as session:
        session.add(_need("N-1", _enterprise()))
        session.flush()
        assert session.scalar(select(func.count()).select_from(ChangeRecord)) == 2
        raise RuntimeError("boom")
    assert store.counts() == {"needs": 0, "results": 0, "experts": 0, "organizations": 0}
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ChangeRecord)) == 0


def test_counts(store: Database) -> None:
    assert store.counts() == {"needs": 0, "results": 0, "experts": 0, "organizations": 0}
    with store.session() as session:
        enterprise = _enterprise()
        university = Organization(name="合肥测试大学", kind="university")
        session.add_all(
            [
                _need("N-1", enterprise),
                _need("N-2", enterprise, title="另一项需求"),
                Result(external_ref="R-1", title="成果", abstract="摘要", institution=university),
                Expert(external_ref="E-1", name="张三", organization=university),
                Expert(external_ref="E-2", name="李四"),
            ]
        )
    assert store.counts() == {"needs": 2, "results": 1, "experts": 2, "organizations": 2}


@pytest.mark.postgres
def test_demo_files_round_trip_through_postgres(
    postgres_url: str, settings: Settings, tmp_path: Path
) -> None:
    db = Database(postgres_url)
    db.upgrade()
    first, second = tmp_path / "first", tmp_path / "second"
    try:
        for entity in ENTITIES:
            report = import_file(db, entity, settings.demo_dir / f"{entity}.csv", settings=settings)
            assert (report.errors, report.written) == ([], True)
            count = export_file(db, entity, first / f"{entity}.csv")
            assert count == report.created > 0
        for entity in ENTITIES:
            again = import_file(db, entity, first / f"{entity}.csv", settings=settings)
            assert (again.errors, again.created, again.updated) == ([], 0, 0)
            assert again.unchanged == again.rows_read > 0
            export_file(db, entity, second / f"{entity}.csv")
            assert (second / f"{entity}.csv").read_bytes() == (first / f"{entity}.csv").read_bytes()
        with db.engine.connect() as connection:
            assert connection.execute(text("SHOW server_encoding")).scalar() == "UTF8"
    finally:
        db.dispose()
