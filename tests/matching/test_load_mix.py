"""The mixed-load benchmark: the schedule, RSS, --mix, and a short run against a real server."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matching.benchmarks.load_mix import DEFAULT_WEIGHTS, _schedule, load_mix, markdown, resident_mb
from matching.config import Settings
from matching.encode import Encoder
from service.cli import app
from tests.web.browser import seed_embeddings


def test_schedule_keeps_the_ratio_and_interleaves() -> None:
    assert sorted(_schedule(DEFAULT_WEIGHTS)) == sorted(
        ["match"] * 7 + ["write", "feedback", "form"]
    )
    sequence = _schedule({"match": 8, "write": 1, "feedback": 1})
    assert len(sequence) == 10
    assert sequence.count("match") == 8
    assert sequence.count("write") == sequence.count("feedback") == 1
    assert abs(sequence.index("write") - sequence.index("feedback")) > 1  # spread out
    assert _schedule({"write": 1}) == ["write"]


def test_resident_memory_of_this_process_and_of_none() -> None:
    rss = resident_mb(os.getpid())
    assert rss is not None and rss > 1
    assert resident_mb(2**22 + 12345) is None


def test_bad_mix_is_refused_before_starting_anything() -> None:
    runner = CliRunner()
    for mix in ("8:1:1", "a:b:c:d", "0:0:0:0"):
        result = runner.invoke(app, ["bench", "load", "--mix", mix, "--seconds", "1"])
        assert result.exit_code == 2, (mix, result.output)


@pytest.mark.slow
def test_the_mix_runs_against_a_real_server_without_errors(
    tmp_path: Path, mini_demo_dir: Path, encoder_settings: Settings, encoder: Encoder
) -> None:
    """A short run of the real thing (the benchmark's own numbers come from ``make bench``):
    every operation answered as expected, committee forms saved, submitted and read back."""
    settings = Settings(
        data_dir=tmp_path / "var",
        demo_dir=mini_demo_dir,
        models_dir=encoder_settings.resolved_models_dir,
    )
    seed_embeddings(settings.data_dir)
    report = load_mix(settings, clients=4, seconds=6)
    print(markdown(report))
    assert report["errors"] == 0, [op["error_samples"] for op in report["operations"]]
    assert {op["operation"]: op["requests"] > 0 for op in report["operations"]} == dict.fromkeys(
        DEFAULT_WEIGHTS, True
    )
    forms = report["forms"]
    assert forms["assignments"] == 20 * 3  # mini demo: 20 needs, 3 reviewers each
    assert forms["drafts_saved"] > 0 and forms["submitted"] > 0
    with contextlib.closing(sqlite3.connect(settings.data_dir / "techmatch.db")) as store:
        submitted = store.execute(
            "select count(*) from review_forms where status = 'submitted'"
        ).fetchone()[0]
    assert submitted == forms["submitted"]
