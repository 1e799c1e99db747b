"""The mixed-load benchmark's pieces that run without a server: the schedule, RSS, --mix."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from matching.benchmarks.load_mix import _schedule, resident_mb
from service.cli import app


def test_schedule_keeps_the_ratio_and_interleaves() -> None:
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
    for mix in ("8:1", "a:b:c", "0:0:0"):
        result = runner.invoke(app, ["bench", "load", "--mix", mix, "--seconds", "1"])
        assert result.exit_code == 2, (mix, result.output)
