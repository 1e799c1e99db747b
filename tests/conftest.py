"""Shared fixtures: a fresh migrated SQLite store per test, settings that point at tmp folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from matching.config import Settings
from matching.store.database import Database

pytest_plugins = ["tests.postgres"]

REPO = Path(__file__).resolve().parent.parent
DEMO_DIR = REPO / "data" / "demo"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", load_demo=False, demo_dir=DEMO_DIR)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.resolved_database_url)
    db.upgrade()
    yield db
    db.dispose()
