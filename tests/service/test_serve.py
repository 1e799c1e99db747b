"""``techmatch serve`` as ``make run`` starts it: a real server process on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from matching.config import Settings
from matching.encode import Encoder
from tests.conftest import REPO


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve_until_healthy(
    data_dir: Path, demo_dir: Path, models_dir: Path, timeout: float = 180
) -> tuple[dict[str, Any], float]:
    port = _free_port()
    env = {
        **os.environ,
        "TECHMATCH_DATA_DIR": str(data_dir),
        "TECHMATCH_DEMO_DIR": str(demo_dir),
        "TECHMATCH_MODELS_DIR": str(models_dir),
        "TECHMATCH_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
    }
    log_path = data_dir.parent / f"serve-{port}.log"
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                output = log_path.read_text(errors="replace")
                pytest.fail(f"server exited with {process.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    return json.loads(r.read()), time.perf_counter() - started
            except OSError:
                time.sleep(0.2)
        pytest.fail("server did not answer /health in time")
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_first_run_sets_up_store_and_indexes_and_second_run_reuses_them(
    tmp_path: Path, mini_demo_dir: Path, encoder_settings: Settings, encoder: Encoder
) -> None:
    models = encoder_settings.resolved_models_dir
    health, _first = _serve_until_healthy(tmp_path / "var", mini_demo_dir, models)
    assert health["status"] == "ok"
    counts = health["counts"]
    assert (counts["needs"], counts["results"], counts["experts"]) == (20, 40, 10)
    assert health["model_id"] == encoder.model_id
    assert {k: v["indexed"] for k, v in health["indexes"].items()} == {
        "needs": 20,
        "results": 40,
        "experts": 10,
    }
    assert (tmp_path / "var" / "techmatch.db").exists()
    assert (tmp_path / "var" / "indexes" / "results" / "manifest.json").exists()
    again, second = _serve_until_healthy(tmp_path / "var", mini_demo_dir, models)
    assert again["counts"] == counts and again["indexes"] == health["indexes"]
    assert second < 60, f"second start took {second:.1f} s"
