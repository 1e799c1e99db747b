"""What the browser tests need: Debian's Chromium driven by Playwright (no browser download),
and ``techmatch serve`` running as a real process on a free loopback port.

Without Chromium (or the ``playwright`` package) the browser tests are skipped with the reason,
or fail when ``TECHMATCH_TEST_REQUIRE_BROWSER=1`` (CI sets it, as it installs Chromium)."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, TEST_MODELS

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_ENV = "TECHMATCH_TEST_REQUIRE_BROWSER"
SCREENSHOTS_ENV = "TECHMATCH_TEST_SCREENSHOTS"  # folder to save page screenshots in
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = (
    "the browser tests need Debian's Chromium at /usr/bin/chromium (`apt-get install chromium`) "
    "and the Python package playwright (`pip install -e '.[test]'`)"
)


def require_browser() -> None:
    """Skip (or, with ``TECHMATCH_TEST_REQUIRE_BROWSER=1``, fail) without Chromium."""
    missing = not CHROMIUM.exists()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{INSTALL_HINT} ({REQUIRE_ENV}=1 requires them)", pytrace=False)
        pytest.skip(INSTALL_HINT)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright ``Browser``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def served(data_dir: Path, demo_dir: Path, models_dir: Path, timeout: float = 180) -> Iterator[str]:
    """``techmatch serve`` on ``data_dir`` until the block ends; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "TECHMATCH_DATA_DIR": str(data_dir),
        "TECHMATCH_DEMO_DIR": str(demo_dir),
        "TECHMATCH_MODELS_DIR": str(models_dir),
        "TECHMATCH_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
    }
    base = f"http://127.0.0.1:{port}"
    log_path = data_dir.parent / f"serve-{port}.log"
    seed_embeddings(data_dir)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        started = time.perf_counter()
        while True:
            if process.poll() is not None:
                output = log_path.read_text(errors="replace")
                pytest.fail(f"server exited with {process.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2):
                    break
            except OSError:
                if time.perf_counter() - started > timeout:
                    pytest.fail("server did not answer /health in time")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
    keep_embeddings(data_dir)


# The served store's embedding cache, kept between runs (git-ignored, beside the converted
# model) so that only the first run on a machine embeds the mini demo.
EMBEDDINGS = TEST_MODELS / "browser-embeddings.sqlite"


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite file through the backup API (WAL content included), atomically."""
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(temporary)) as dst,
    ):
        src.backup(dst)
    temporary.replace(target)


def seed_embeddings(data_dir: Path) -> None:
    """Start the served store with the embeddings an earlier run computed."""
    if EMBEDDINGS.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        _copy_sqlite(EMBEDDINGS, data_dir / "embeddings.sqlite")


def keep_embeddings(data_dir: Path) -> None:
    """Keep the served store's embeddings for the next run."""
    cache = data_dir / "embeddings.sqlite"
    if cache.exists():
        EMBEDDINGS.parent.mkdir(parents=True, exist_ok=True)
        _copy_sqlite(cache, EMBEDDINGS)


def screenshot_folder(tmp_path: Path) -> Path:
    """Where page screenshots go: ``$TECHMATCH_TEST_SCREENSHOTS`` (e.g. docs/screenshots to
    refresh the documentation's) or a temporary folder."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screenshot(page: Any, path: Path) -> None:
    """The visible page as a small PNG (a 256-colour palette when Pillow is there)."""
    page.screenshot(path=str(path))
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256)
    small.save(path, optimize=True)
