"""Backup, restore and reindex: a restored store in a fresh folder gives identical match lists;
damaged files and non-empty stores are refused before anything is written; a backup taken
while another connection writes is a consistent snapshot."""

from __future__ import annotations

import io
import json
import re
import tarfile
import threading
import uuid
from pathlib import Path

import pytest

from matching.backup import BackupError, backup_store, reindex, restore_store, store_is_empty
from matching.backup_archive import FORMAT_VERSION
from matching.backup_postgres import pg_binary
from matching.config import Settings
from matching.demo import load_demo
from matching.embedding_cache import CachedEncoder, EmbeddingCache
from matching.encode import Encoder
from matching.engine import MatchingEngine
from matching.store.database import Database
from matching.store.models import Organization
from tests.conftest import DEMO_DIR
from tests.postgres import PostgresServer

RANKER_STATE: dict[str, object] = {"active": None, "history": []}

MatchLists = dict[str, list[tuple[str, float]]]


def _fresh(tmp_path: Path, name: str) -> tuple[Settings, Database]:
    settings = Settings(data_dir=tmp_path / name, load_demo=False, demo_dir=DEMO_DIR)
    return settings, Database(settings.resolved_database_url)


def _match_lists(engine: MatchingEngine, needs: list[str]) -> MatchLists:
    return {
        need: [(item.ref, item.score) for item in engine.need_to_results(need, top=8).items]
        for need in needs
    }


def _demo_store(settings: Settings, database: Database, demo_dir: Path) -> None:
    load_demo(database, demo_dir, settings)
    ranker = settings.data_dir / "ranker"
    ranker.mkdir(parents=True)
    (ranker / "state.json").write_text(json.dumps(RANKER_STATE), "utf-8")
    (ranker / "v0001.joblib").write_bytes(b"\x80model bytes")


@pytest.fixture
def demo_store(settings: Settings, database: Database, mini_demo_dir: Path) -> Database:
    _demo_store(settings, database, mini_demo_dir)
    return database


def _needs(database: Database) -> list[str]:
    from sqlalchemy import select

    from matching.store.models import Need

    with database.session() as session:
        return sorted(session.scalars(select(Need.external_ref)))[:3]


def test_round_trip_into_a_fresh_folder_gives_identical_match_lists(
    settings: Settings, demo_store: Database, encoder: Encoder, tmp_path: Path
) -> None:
    # One embedding cache for both sides, as a centre keeps it: the rebuild embeds nothing again.
    cached = CachedEncoder(
        encoder,
        EmbeddingCache(tmp_path / "embeddings.sqlite"),
        query_prefix=getattr(encoder, "query_prefix", ""),
        passage_prefix=getattr(encoder, "passage_prefix", ""),
    )
    engine = MatchingEngine(demo_store, settings, cached)
    engine.open()
    needs = _needs(demo_store)
    before = _match_lists(engine, needs)
    assert all(len(items) == 8 for items in before.values())

    report = backup_store(demo_store, settings, tmp_path / "backup.tar")
    manifest = report.manifest
    assert manifest.format_version == FORMAT_VERSION and manifest.backend == "sqlite"
    assert manifest.schema_revision == demo_store.head_revision()
    assert manifest.counts == dict(demo_store.counts())
    assert set(manifest.members) == {"store.sqlite", "ranker/state.json", "ranker/v0001.joblib"}
    assert all(len(member["sha256"]) == 64 for member in manifest.members.values())

    fresh_settings, fresh = _fresh(tmp_path, "fresh")
    restored = restore_store(fresh, fresh_settings, report.path)
    assert restored.manifest.counts == manifest.counts
    assert dict(fresh.counts()) == manifest.counts
    assert fresh.current_revision() == fresh.head_revision()
    assert (fresh_settings.data_dir / "ranker" / "v0001.joblib").read_bytes() == b"\x80model bytes"
    assert not (fresh_settings.data_dir / "indexes").exists()

    rebuilt = MatchingEngine(fresh, fresh_settings, cached)
    misses = cached.misses
    assert [r.action for r in reindex(rebuilt)] == ["rebuilt"] * 3
    assert cached.misses == misses
    assert _match_lists(rebuilt, needs) == before
    fresh.dispose()


def _tamper(source: Path, target: Path, member_name: str) -> None:
    with tarfile.open(source) as original, tarfile.open(target, "w") as copy:
        for member in original.getmembers():
            handle = original.extractfile(member)
            assert handle is not None
            data = bytearray(handle.read())
            if member.name == member_name:
                data[len(data) // 2] ^= 0xFF
            copy.addfile(member, io.BytesIO(bytes(data)))


def test_tampered_or_foreign_files_are_refused_and_nothing_is_written(
    settings: Settings, demo_store: Database, tmp_path: Path
) -> None:
    backup = backup_store(demo_store, settings, tmp_path / "backup.tar").path
    fresh_settings, fresh = _fresh(tmp_path, "fresh")
    for member in ("store.sqlite", "ranker/v0001.joblib"):
        tampered = tmp_path / f"tampered-{member.replace('/', '-')}.tar"
        _tamper(backup, tampered, member)
        with pytest.raises(
            BackupError, match=re.escape(f"「{member}」的 SHA-256 校验和与清单不符")
        ):
            restore_store(fresh, fresh_settings, tampered)
    not_a_backup = tmp_path / "needs.tar"
    with tarfile.open(not_a_backup, "w") as archive:
        archive.add(DEMO_DIR / "needs.csv", arcname="needs.csv")
    with pytest.raises(BackupError, match=re.escape("缺少 manifest.json")):
        restore_store(fresh, fresh_settings, not_a_backup)
    (tmp_path / "garbage.tar").write_bytes(b"not a tar file" * 100)
    with pytest.raises(BackupError, match="无法读取备份文件"):
        restore_store(fresh, fresh_settings, tmp_path / "garbage.tar")
    with pytest.raises(BackupError, match="找不到备份文件"):
        restore_store(fresh, fresh_settings, tmp_path / "missing.tar")
    written = list(fresh_settings.data_dir.rglob("*")) if fresh_settings.data_dir.exists() else []
    assert written == []
    fresh.dispose()


def test_a_non_empty_store_is_overwritten_only_with_force(
    settings: Settings, demo_store: Database, tmp_path: Path
) -> None:
    counts = dict(demo_store.counts())
    backup = backup_store(demo_store, settings, tmp_path / "backup.tar").path
    with demo_store.session() as session:
        session.add(Organization(name="备份之后新增的单位", kind="enterprise"))
    assert not store_is_empty(demo_store)
    with pytest.raises(BackupError, match="--force"):
        restore_store(demo_store, settings, backup)
    assert demo_store.counts()["organizations"] == counts["organizations"] + 1

    restore_store(demo_store, settings, backup, force=True)
    assert dict(demo_store.counts()) == counts
    assert not list(settings.data_dir.glob(".*"))  # no scratch files or retired folders left


def test_backup_while_another_connection_writes_is_a_consistent_snapshot(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        writer = Database(settings.resolved_database_url)
        while not stop.is_set():
            with writer.session() as session:
                session.add_all(
                    Organization(name=f"并发写入单位{len(written)}-{i}", kind="enterprise")
                    for i in range(5)
                )
            written.append(5)
        writer.dispose()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        reports = [backup_store(database, settings, tmp_path / f"b{i}.tar") for i in range(4)]
    finally:
        stop.set()
        thread.join()
    seen = [report.manifest.counts["organizations"] for report in reports]
    assert seen == sorted(seen) and seen[-1] > 0
    assert all(count % 5 == 0 for count in seen)  # never half a transaction
    for i, report in enumerate(reports):
        target_settings, target = _fresh(tmp_path, f"restored{i}")
        restore_store(target, target_settings, report.path)  # verifies counts against manifest
        assert target.counts()["organizations"] == seen[i]
        target.dispose()


def _rows(database: Database) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from matching.store.models import Need, Result

    with database.session() as session:
        needs = session.execute(select(Need.external_ref, Need.title)).all()
        results = session.execute(select(Result.external_ref, Result.title)).all()
    return sorted((str(ref), str(title)) for ref, title in [*needs, *results])


@pytest.mark.postgres
def test_postgres_round_trip_with_pg_dump_and_pg_restore(
    postgres_url: str, postgres_server: PostgresServer, mini_demo_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "origin", load_demo=False, demo_dir=mini_demo_dir)
    origin = Database(postgres_url)
    origin.upgrade()
    _demo_store(settings, origin, mini_demo_dir)
    report = backup_store(origin, settings, tmp_path / "pg.tar")
    assert report.manifest.backend == "postgresql"
    assert report.manifest.counts == dict(origin.counts())
    assert "store.pgdump" in report.manifest.members

    name = f"restored_{uuid.uuid4().hex[:12]}"
    with postgres_server.admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    target_settings = Settings(data_dir=tmp_path / "target", load_demo=False, demo_dir=DEMO_DIR)
    target = Database(postgres_server.url(name))
    try:
        restore_store(target, target_settings, report.path)
        assert dict(target.counts()) == report.manifest.counts
        assert target.current_revision() == target.head_revision()
        assert _rows(target) == _rows(origin)
        assert (target_settings.data_dir / "ranker" / "state.json").exists()
        with pytest.raises(BackupError, match="--force"):
            restore_store(target, target_settings, report.path)
        restore_store(target, target_settings, report.path, force=True)
        assert _rows(target) == _rows(origin)
        sqlite_settings, sqlite_store = _fresh(tmp_path, "sqlite")
        with pytest.raises(BackupError, match="不能恢复到 sqlite"):
            restore_store(sqlite_store, sqlite_settings, report.path)
    finally:
        target.dispose()
        origin.dispose()
        with postgres_server.admin() as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_a_missing_postgres_client_is_named_with_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="找不到 PostgreSQL 客户端程序 pg_dump") as raised:
        pg_binary("pg_dump", tmp_path)
    assert "apt-get install postgresql-client" in str(raised.value)
