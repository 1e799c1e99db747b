"""Backup, restore and reindex: the store and the ranking models in one verified file.

A backup is a tar file (see ``matching.backup_archive``): a consistent snapshot of the store
(SQLite through the online backup API, safe while the service writes in WAL mode; PostgreSQL
through ``pg_dump -Fc`` on an exported snapshot), the ranking models (``<data_dir>/ranker/``)
and a manifest with counts, schema revision and checksums. Vector indexes are not backed up:
they are derived from the store, and :func:`reindex` rebuilds them.

Restore verifies the whole file before touching anything, refuses a non-empty store unless
forced, swaps the store in one step, removes the (now stale) saved indexes and migrates the
store up to head.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from matching.atomic import atomic_path
from matching.backup_archive import BackupError, BackupManifest, read_archive, write_archive
from matching.backup_postgres import dump_postgres, restore_postgres
from matching.config import Settings
from matching.store.database import Database

if TYPE_CHECKING:
    from matching.corpus_index import SyncReport
    from matching.engine import MatchingEngine

__all__ = [
    "BackupError",
    "BackupManifest",
    "BackupReport",
    "backup_store",
    "reindex",
    "remove_indexes",
    "restore_store",
    "store_is_empty",
]


@dataclass(frozen=True)
class BackupReport:
    """What a backup or restore did: the manifest, the file, its size (bytes) and the time
    taken (seconds)."""

    manifest: BackupManifest
    path: Path
    size: int
    seconds: float


def _backend(database: Database) -> str:
    name = make_url(database.url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"不支持备份或恢复此类数据库：{name}")
    return name


def _sqlite_path(database: Database) -> Path:
    path = make_url(database.url).database
    if not path or path == ":memory:":
        raise BackupError("内存中的 SQLite 数据库无法备份或恢复")
    return Path(path)


def _snapshot_sqlite(database: Database, target: Path) -> tuple[str | None, dict[str, int]]:
    """Copy the store with SQLite's online backup API in one step: a single read transaction,
    so the copy is consistent while other connections write (WAL)."""
    source = sqlite3.connect(_sqlite_path(database), timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        # A self-contained file: no -wal/-shm companions in the archive.
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        source.close()
    snapshot = Database(f"sqlite:///{target}")
    try:
        return snapshot.current_revision(), dict(snapshot.counts())
    finally:
        snapshot.dispose()
        _set_delete_journal(target)


def _set_delete_journal(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()


def _ranker_files(settings: Settings) -> dict[str, Path]:
    folder = settings.data_dir / "ranker"
    if not folder.is_dir():
        return {}
    return {
        f"ranker/{path.name}": path
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.startswith(".")
    }


def backup_store(database: Database, settings: Settings, target: Path) -> BackupReport:
    """Write a backup of the store and the ranking models to ``target`` (replaced atomically)."""
    started = time.perf_counter()
    backend = _backend(database)
    target = target.expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".techmatch-backup-", dir=target.parent) as scratch:
        dump = Path(scratch) / ("store.sqlite" if backend == "sqlite" else "store.pgdump")
        if backend == "sqlite":
            revision, counts = _snapshot_sqlite(database, dump)
        else:
            revision, counts = dump_postgres(database, dump)
        manifest = BackupManifest(
            backend=backend,
            schema_revision=revision,
            counts=counts,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        with atomic_path(target) as temp:
            write_archive(temp, manifest, {dump.name: dump, **_ranker_files(settings)})
    return BackupReport(manifest, target, target.stat().st_size, time.perf_counter() - started)


def store_is_empty(database: Database) -> bool:
    """True when no table of the store holds a row (the schema version aside)."""
    if _backend(database) == "sqlite" and not _sqlite_path(database).exists():
        return True
    with database.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            if table == "alembic_version":
                continue
            if connection.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first():
                return False
    return True


def restore_store(
    database: Database, settings: Settings, source: Path, force: bool = False
) -> BackupReport:
    """Restore ``source`` into the store and ``<data_dir>/ranker``; saved indexes are removed
    (rebuild them with :func:`reindex` or at the next start). Refuses a non-empty store unless
    ``force``; refuses a damaged file before writing anything."""
    started = time.perf_counter()
    backend = _backend(database)
    if not force and not store_is_empty(database):
        raise BackupError("目标数据库不是空的，恢复会覆盖现有数据；确认覆盖请加 --force")
    staging = (
        _sqlite_path(database).parent if backend == "sqlite" else settings.data_dir
    ).resolve()
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".techmatch-restore-", dir=staging) as scratch:
        manifest = read_archive(source, Path(scratch))
        if manifest.backend != backend:
            raise BackupError(
                f"备份来自 {manifest.backend} 数据库，不能恢复到 {backend} 数据库；"
                "请用 export/import 迁移数据"
            )
        dump = Path(scratch) / manifest.store_member
        if backend == "sqlite":
            _check_sqlite_copy(dump, manifest)
            _replace_sqlite(database, dump)
        else:
            restore_postgres(database, dump)
        _replace_ranker(settings, Path(scratch) / "ranker")
    remove_indexes(settings)
    database.dispose()
    database.upgrade()
    return BackupReport(manifest, source, source.stat().st_size, time.perf_counter() - started)


def _check_sqlite_copy(path: Path, manifest: BackupManifest) -> None:
    connection = sqlite3.connect(path)
    try:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"备份中的数据库文件无法打开：{error}") from None
    finally:
        connection.close()
    if verdict is None or verdict[0] != "ok":
        raise BackupError(f"备份中的数据库文件未通过完整性检查：{verdict}")
    copy = Database(f"sqlite:///{path}")
    try:
        counts = dict(copy.counts())
    finally:
        copy.dispose()
        _set_delete_journal(path)
    if counts != manifest.counts:
        raise BackupError(f"备份中的记录数 {counts} 与清单 {manifest.counts} 不符")


def _replace_sqlite(database: Database, copy: Path) -> None:
    """Rename the verified copy over the store. The old store's WAL is folded in and its
    companion files removed first: a stale WAL beside the new file would be replayed into it."""
    target = _sqlite_path(database)
    database.dispose()
    if target.exists():
        connection = sqlite3.connect(target, timeout=30)
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    with open(copy, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(copy, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _replace_ranker(settings: Settings, restored: Path) -> None:
    """Swap ``<data_dir>/ranker`` for the backup's (an absent folder when it had none)."""
    folder = settings.data_dir / "ranker"
    retired = folder.with_name(f".ranker.replaced-{os.getpid()}")
    shutil.rmtree(retired, ignore_errors=True)
    if folder.exists():
        folder.rename(retired)
    if restored.is_dir():
        shutil.move(restored, folder)
    shutil.rmtree(retired, ignore_errors=True)


def remove_indexes(settings: Settings) -> int:
    """Delete the saved vector indexes (``<data_dir>/indexes``); return how many files went."""
    folder = settings.data_dir / "indexes"
    if not folder.exists():
        return 0
    count = sum(1 for path in folder.rglob("*") if path.is_file())
    shutil.rmtree(folder)
    return count


def reindex(engine: MatchingEngine) -> list[SyncReport]:
    """Rebuild every corpus index of ``engine`` from the store alone (saved indexes deleted;
    the embedding cache makes unchanged texts cheap)."""
    remove_indexes(engine.settings)
    return engine.open()
