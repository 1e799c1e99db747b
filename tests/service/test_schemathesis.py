"""Schemathesis against the real server: ``techmatch serve`` on a loopback port over the mini
demo, fuzzed from its own ``/openapi.json`` as an admin (X-API-Key). Fails on any 5xx answer
and on any answer that does not match the schema the operation declares.

Bounded: the schema's examples and a few generated cases per operation (``MAX_EXAMPLES``,
valid and invalid), no shrinking, one worker, and a hard time limit. The coverage phase (every
boundary value of every parameter) is left out: it takes minutes per handful of operations.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from matching.accounts import create_api_key, create_user
from matching.benchmarks.api_load import running_server
from matching.config import Settings
from matching.encode import Encoder
from matching.store.database import Database

MAX_EXAMPLES = 6
TIME_LIMIT_S = 420
CHECKS = "not_a_server_error,response_schema_conformance"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    mini_demo_dir: Path,
    encoder_settings: Settings,
    encoder: Encoder,  # converts the model once, before the server needs it
) -> Iterator[tuple[str, str, Settings]]:
    """The base URL of a running server, an admin's API key, and the server's settings."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("schemathesis") / "var",
        demo_dir=mini_demo_dir,
        models_dir=encoder_settings.resolved_models_dir,
    )
    database = Database(settings.resolved_database_url)
    database.upgrade()
    with database.session("test") as session:
        create_user(session, "fuzz-admin", "fuzz-password-1", "admin")
        key = create_api_key(session, "fuzz-admin", "schemathesis").key
    database.dispose()
    with running_server(settings, timeout=300) as running:
        yield running.url, key, settings


@pytest.mark.slow
@pytest.mark.schemathesis
def test_no_server_errors_and_responses_match_the_schema(
    server: tuple[str, str, Settings],
) -> None:
    base_url, key, settings = server
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base_url}/openapi.json",
        "--header",
        f"X-API-Key: {key}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        # One worker: with two, Python 3.11's ast module (used by Hypothesis to describe
        # strategies) is not thread-safe and schemathesis reports its own errors.
        "--workers",
        "1",
        "--seed",
        "20261128",
        "--no-shrink",
        "--request-timeout",
        "60",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
    ]
    try:
        run = subprocess.run(
            command, capture_output=True, text=True, timeout=TIME_LIMIT_S, check=False
        )
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout or ""
        if isinstance(output, bytes):  # what subprocess gives on a timeout, despite text=True
            output = output.decode(errors="replace")
        pytest.fail(f"schemathesis ran over {TIME_LIMIT_S} s:\n{output[-8000:]}")
    if run.returncode != 0:
        # the server's tracebacks, without its access log
        log = "\n".join(
            line
            for path in settings.data_dir.glob("serve-*.log")
            for line in path.read_text(errors="replace").splitlines()
            if not line.startswith("INFO:")
        )
        pytest.fail(
            f"{run.stdout[-12000:]}\n{run.stderr[-2000:]}\n--- server log ---\n{log[-8000:]}"
        )
    assert "passed" in run.stdout.lower() or "no issues found" in run.stdout.lower(), run.stdout
