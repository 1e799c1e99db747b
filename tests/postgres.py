"""A throwaway PostgreSQL server for the tests marked ``postgres``.

One server per test run (``postgres_server``), one fresh database per test (``postgres_url``).
The server lives in a temporary folder, listens on a free loopback port, trusts every local
connection and is stopped and deleted at the end. PostgreSQL refuses to run as root, so under
root the server runs as the ``postgres`` system user of the Debian package.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow

__all__ = ["PostgresServer", "postgres_server", "postgres_url"]

POSTGRES_ROOT = Path("/usr/lib/postgresql")
REQUIRE_ENV = "TECHMATCH_TEST_REQUIRE_POSTGRES"
SUPERUSER = "postgres"
INSTALL_HINT = (
    "PostgreSQL is not installed (no initdb/pg_ctl under /usr/lib/postgresql/*/bin/); "
    "install it with `apt-get install postgresql` to run the tests marked `postgres`"
)
# Durability is worthless for a server deleted after the run; these make it several times faster.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
}


def _version(bin_dir: Path) -> tuple[int, ...]:
    name = bin_dir.parent.name
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def find_bin_dir(root: Path) -> Path | None:
    """The ``bin`` folder of the newest installed PostgreSQL, if any."""
    candidates = [
        path
        for path in root.glob("*/bin")
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file()
    ]
    return max(candidates, key=_version, default=None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running server: where it listens and how to reach it."""

    bin_dir: Path
    base_dir: Path
    port: int
    as_postgres_user: bool
    host: str = "127.0.0.1"
    user: str = SUPERUSER

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def run(self, program: str, *args: str) -> None:
        """Run a PostgreSQL program as the user that owns the server; raise with its output."""
        command = [str(self.bin_dir / program), *args]
        if self.as_postgres_user:
            command = ["runuser", "-u", "postgres", "--", *command]
        # The postgres user may not be allowed into the current directory.
        done = subprocess.run(command, cwd=self.base_dir, capture_output=True, text=True)
        if done.returncode != 0:
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stdout}{done.stderr}\n{log}"
            )

    def admin(self) -> psycopg.Connection[TupleRow]:
        """An autocommit connection to the maintenance database (for CREATE/DROP DATABASE)."""
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
        )

    def start(self) -> None:
        self.run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            self.user,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )
        settings = {
            **SERVER_SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base_dir}'",
        }
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        self.run("pg_ctl", "start", "--wait", "-D", str(self.data_dir), "-l", str(self.log_file))

    def stop(self) -> None:
        self.run("pg_ctl", "stop", "--wait", "-m", "fast", "-D", str(self.data_dir))


def _base_dir(as_postgres_user: bool) -> Path:
    # Under /tmp rather than pytest's tmp_path, whose 0700 parents the postgres user cannot cross.
    base = Path(tempfile.mkdtemp(prefix="techmatch-pg-", dir="/tmp"))
    base.chmod(0o755)
    if as_postgres_user:
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
    return base


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole test run; skipped (or failed in CI) when not installed."""
    bin_dir = find_bin_dir(POSTGRES_ROOT)
    if bin_dir is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{INSTALL_HINT} ({REQUIRE_ENV}=1 requires them)", pytrace=False)
        pytest.skip(INSTALL_HINT)
    as_postgres_user = os.geteuid() == 0
    server = PostgresServer(bin_dir, _base_dir(as_postgres_user), _free_port(), as_postgres_user)
    try:
        server.start()
        yield server
    finally:
        try:
            if (server.data_dir / "postmaster.pid").exists():
                server.stop()
        finally:
            shutil.rmtree(server.base_dir, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a new empty database on the test server, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with postgres_server.admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    with postgres_server.admin() as admin:
        # FORCE: a test that failed may still hold connections.
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
