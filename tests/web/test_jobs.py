"""The job runner: progress while running, the outcome or the error at the end, one job of a
kind at a time when asked; and its progress fragment polled by HTMX."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from matching.store.database import Database
from matching.store.models import BackgroundJob, Organization, User
from service.web.jobs import (
    INTERRUPTED,
    Job,
    JobBusy,
    JobFailed,
    JobRunner,
    Outcome,
    Reporter,
)
from tests.web.conftest import Site


@pytest.fixture
def runner(database: Database) -> Iterator[JobRunner]:
    jobs = JobRunner(database, workers=2, keep=3, flush_seconds=0.05)
    yield jobs
    jobs.shutdown()


def test_progress_then_outcome(runner: JobRunner) -> None:
    halfway, finish = threading.Event(), threading.Event()

    def work(report: Reporter) -> Outcome:
        report(40, "一半了")
        halfway.set()
        finish.wait(5)
        return Outcome("完成了", ("第一行",), "/needs", "查看")

    job = runner.submit("test", "测试任务", owner=1, work=work)
    assert halfway.wait(5)
    running = runner.get(job.id)
    assert running is not None and running.status == "running"
    assert (running.progress, running.message, running.active) == (40, "一半了", True)
    finish.set()
    done = runner.wait(job.id)
    assert done is not None and done.status == "done" and done.progress == 100
    assert done.outcome == Outcome("完成了", ("第一行",), "/needs", "查看")
    assert done.status_label == "已完成"


def test_failures_keep_the_library_message_and_hide_others(runner: JobRunner) -> None:
    def refused(report: Reporter) -> Outcome:
        raise JobFailed("训练数据不足")

    def broken(report: Reporter) -> Outcome:
        raise RuntimeError("secret internals")

    first = runner.wait(runner.submit("a", "甲", 1, refused).id)
    second = runner.wait(runner.submit("b", "乙", 1, broken).id)
    assert first is not None and (first.status, first.error) == ("failed", "训练数据不足")
    assert second is not None and second.status == "failed"
    assert second.error is not None and "secret" not in second.error


def test_exclusive_jobs_and_forgetting_old_ones(runner: JobRunner) -> None:
    release = threading.Event()
    first = runner.submit("train", "训练", 1, lambda report: (release.wait(5), Outcome(""))[1])
    with pytest.raises(JobBusy):
        runner.submit("train", "训练", 1, lambda report: Outcome(""), exclusive=True)
    release.set()
    runner.wait(first.id)
    ids = [runner.submit("x", "x", 1, lambda report: Outcome("")).id for _ in range(5)]
    for job_id in ids:
        runner.wait(job_id)
    runner.submit("x", "x", 1, lambda report: Outcome(""))
    assert runner.get(first.id) is None  # only the last ``keep`` finished jobs are kept
    assert runner.get("unknown") is None


def test_the_progress_fragment_polls_while_the_job_runs(site: Site) -> None:
    with site.database.session("test") as session:
        owner = session.scalar(select(User.id).where(User.username == "staff"))
    assert owner is not None
    started, finish = threading.Event(), threading.Event()

    def work(report: Reporter) -> Outcome:
        report(40, "处理第 2 批")
        started.set()
        finish.wait(10)
        return Outcome("好了")

    jobs: JobRunner = site.app.state.jobs
    job = jobs.submit("test", "测试任务", owner, work)
    assert started.wait(5)
    try:
        page = site.clients["staff"].get(f"/jobs/{job.id}").text
        assert "测试任务" in page and 'hx-trigger="every 1s"' in page
        fragment = site.clients["staff"].get(f"/jobs/{job.id}/progress").text
        assert fragment.lstrip().startswith(f'<div id="job-{job.id}"')
        assert 'max="100" value="40"' in fragment and "进行中：处理第 2 批" in fragment
        assert site.clients["expert"].get(f"/jobs/{job.id}").status_code == 404
    finally:
        finish.set()
    jobs.wait(job.id)
    done = site.clients["staff"].get(f"/jobs/{job.id}/progress").text
    assert "hx-trigger" not in done and "好了" in done


def test_another_process_sees_progress_outcome_and_exclusivity(
    runner: JobRunner, database: Database
) -> None:
    """A second runner on the same store stands for another service process."""
    other = JobRunner(database, flush_seconds=0.05)
    try:
        halfway, finish = threading.Event(), threading.Event()

        def work(report: Reporter) -> Outcome:
            report(40, "一半了")
            halfway.set()
            finish.wait(5)
            return Outcome("完成了", ("第一行",), "/needs", "查看")

        job = runner.submit("train", "训练", owner=1, work=work, exclusive=True)
        assert halfway.wait(5)
        deadline = time.monotonic() + 5
        while (seen := other.get(job.id)) is not None and seen.progress != 40:
            assert time.monotonic() < deadline, "progress never reached the store"
            time.sleep(0.02)
        assert seen is not None and (seen.status, seen.message) == ("running", "一半了")
        with pytest.raises(JobBusy):
            other.submit("train", "训练", 1, lambda report: Outcome(""), exclusive=True)
        finish.set()
        runner.wait(job.id)
        done = other.get(job.id)
        assert done is not None and done.status == "done"
        assert done.outcome == Outcome("完成了", ("第一行",), "/needs", "查看")
    finally:
        other.shutdown()


def test_a_job_whose_process_died_is_shown_as_interrupted(
    runner: JobRunner, database: Database
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with database.session("test") as session:
        session.add(
            BackgroundJob(
                id="lost-job",
                kind="import",
                title="导入需求",
                owner=1,
                status="running",
                progress=30,
                message="写入第 2 批",
                runner=f"{socket.gethostname()}:{gone.pid}:0a1b2c3d",
                created_at=dt.datetime.now(dt.UTC),
            )
        )
    job = runner.get("lost-job")
    assert job is not None and (job.status, job.error) == ("failed", INTERRUPTED)
    with database.session() as session:
        stored = session.get(BackgroundJob, "lost-job")
        assert stored is not None and stored.status == "failed"  # stored, not only shown
    # An interrupted job no longer blocks an exclusive one of its kind.
    runner.wait(runner.submit("import", "导入", 1, lambda report: Outcome(""), exclusive=True).id)


def test_work_holding_a_write_transaction_is_not_slowed_by_its_progress(
    runner: JobRunner, database: Database
) -> None:
    """An import holds one write transaction while it reports progress: on SQLite a progress
    write from its own thread would wait for that transaction (10 s busy timeout)."""

    def work(report: Reporter) -> Outcome:
        with database.session("test") as session:
            for number in range(20):
                session.add(Organization(name=f"进度测试单位{number}", kind="enterprise"))
                session.flush()
                report(number * 5, f"第 {number} 批")
                time.sleep(0.02)
        return Outcome("写入 20 个单位")

    started = time.perf_counter()
    done = runner.wait(runner.submit("import", "导入单位", 1, work).id, timeout=30)
    elapsed = time.perf_counter() - started
    assert done is not None and done.status == "done", done
    assert elapsed < 5, f"took {elapsed:.1f} s"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Organization)) == 20


def test_a_late_progress_write_never_revives_a_finished_job(
    runner: JobRunner, database: Database
) -> None:
    """The progress thread may write a snapshot taken before the job ended, after the end."""
    job = runner.wait(runner.submit("x", "任务", 1, lambda report: Outcome("好了")).id)
    assert job is not None and job.status == "done"
    stale = Job(job.id, "x", "任务", 1, status="running", progress=40, message="一半了")
    runner._write(stale)  # what the progress thread would do with an old snapshot
    with database.session() as session:
        stored = session.get(BackgroundJob, job.id)
        assert stored is not None and (stored.status, stored.progress) == ("done", 100)
