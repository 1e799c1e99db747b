"""PostgreSQL backups through ``pg_dump -Fc`` and ``pg_restore``.

The dump runs on a snapshot exported from a REPEATABLE READ transaction, and the manifest's
counts and schema revision are read in that same transaction, so they describe exactly the
rows in the dump even while the service writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, select, text
from sqlalchemy.engine import make_url

from matching.backup_archive import BackupError
from matching.store.database import Database
from matching.store.models import Expert, Need, Organization, Result

__all__ = ["dump_postgres", "pg_binary", "restore_postgres"]

POSTGRES_ROOT = Path("/usr/lib/postgresql")


def pg_binary(name: str, root: Path = POSTGRES_ROOT) -> Path:
    """``pg_dump`` or ``pg_restore`` of the newest PostgreSQL under ``root``, else on PATH."""
    candidates = [path for path in root.glob(f"*/bin/{name}") if path.is_file()]
    if candidates:
        return max(candidates, key=lambda p: int(p.parent.parent.name.split(".")[0] or 0))
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"找不到 PostgreSQL 客户端程序 {name}（既不在 {root}/*/bin/ 下，也不在 PATH 中）；"
            "请安装 postgresql-client（Debian/Ubuntu：apt-get install postgresql-client），"
            "其版本不得低于服务器版本"
        )
    return Path(found)


def _libpq(database: Database) -> tuple[str, dict[str, str]]:
    """The libpq URI of the store, and the environment carrying its password (kept off the
    command line, where other users could read it)."""
    url = make_url(database.url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise BackupError(f"{what}失败（退出码 {done.returncode}）：{detail}")


def _counts(connection: Connection) -> dict[str, int]:
    models = {"needs": Need, "results": Result, "experts": Expert, "organizations": Organization}
    return {
        name: int(connection.scalar(select(func.count()).select_from(model)) or 0)
        for name, model in models.items()
    }


def dump_postgres(database: Database, target: Path) -> tuple[str | None, dict[str, int]]:
    """Dump the store to ``target`` (custom format); return its schema revision and counts."""
    binary = pg_binary("pg_dump")
    uri, env = _libpq(database)
    with database.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = str(connection.scalar(text("SELECT pg_export_snapshot()")))
            revision = MigrationContext.configure(connection).get_current_revision()
            counts = _counts(connection)
            command = [str(binary), "--format=custom", f"--snapshot={snapshot}"]
            _run([*command, f"--file={target}", uri], env, "pg_dump 备份")
    return revision, counts


def restore_postgres(database: Database, dump: Path) -> None:
    """Replace the store's objects with the dump's, in one transaction (all or nothing)."""
    binary = pg_binary("pg_restore")
    uri, env = _libpq(database)
    database.dispose()
    command = [
        str(binary),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={uri}",
        str(dump),
    ]
    _run(command, env, "pg_restore 恢复")
