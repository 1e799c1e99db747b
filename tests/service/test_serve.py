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

from tests.conftest import DEMO_DIR, REPO


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve_until_healthy(data_dir: Path, timeout: float = 120) -> tuple[dict[str, Any], float]:
    port = _free_port()
    env = {
        **os.environ,
        "TECHMATCH_DATA_DIR": str(data_dir),
        "TECHMATCH_DEMO_DIR": str(DEMO_DIR),
        "TECHMATCH_PORT": str(port),
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
def test_first_run_sets_up_the_demo_store_and_second_run_reuses_it(tmp_path: Path) -> None:
    health, _first = _serve_until_healthy(tmp_path / "var")
    assert health["status"] == "ok"
    assert health["counts"]["needs"] >= 200 and health["counts"]["results"] >= 400
    assert (tmp_path / "var" / "techmatch.db").exists()
    again, second = _serve_until_healthy(tmp_path / "var")
    assert again["counts"] == health["counts"]
    assert second < 15, f"second start took {second:.1f} s"
