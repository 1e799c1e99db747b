"""Opening the store: engine, sessions, migrations. SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from matching.store.history import install_history
from matching.store.models import Expert, Need, Organization, Result

__all__ = ["Database", "StoreCounts"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class StoreCounts(dict[str, int]):
    """Counts of needs, results, experts and organizations."""


class Database:
    """The domain store at one URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        install_history(Session)

    def _alembic_config(self) -> Config:
        config = Config()
        config.set_main_option(
            "script_location", str(resources.files("matching.store").joinpath("migrations"))
        )
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        config.attributes["engine"] = self.engine
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision`` (creates the schema on a new store)."""
        command.upgrade(self._alembic_config(), revision)

    def downgrade(self, revision: str = "base") -> None:
        """Revert migrations down to ``revision``."""
        command.downgrade(self._alembic_config(), revision)

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    @contextmanager
    def session(self, actor: str = "system") -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        session = self._sessions()
        session.info["actor"] = actor
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def counts(self) -> StoreCounts:
        """How many needs, results, experts and organizations the store holds."""
        with self.session() as session:
            return StoreCounts(
                needs=session.scalar(select(func.count()).select_from(Need)) or 0,
                results=session.scalar(select(func.count()).select_from(Result)) or 0,
                experts=session.scalar(select(func.count()).select_from(Expert)) or 0,
                organizations=session.scalar(select(func.count()).select_from(Organization)) or 0,
            )

    def dispose(self) -> None:
        self.engine.dispose()
