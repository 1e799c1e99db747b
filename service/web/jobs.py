"""Long work as a job: a small thread pool that runs a function in the background, with its
progress (0-100), a message, and the outcome or the error kept in the store
(``background_jobs``), so that every service process shows it and a restart does not lose it.

A page starts a job with ``JobRunner.submit`` and sends the user to ``/jobs/{id}``, whose
progress bar polls ``/jobs/{id}/progress`` (HTMX, every second) until the job ends. The work is
a function of one argument, a ``Reporter``: ``report(percent, message)``. It returns an
``Outcome`` (what the page shows at the end) or raises: a ``TechMatchError`` (or ``JobFailed``)
becomes the job's error message as is (the library's messages are Chinese); anything else is
logged and shown as an internal error.

The work runs in the process that accepted it. Its progress is kept in memory and written to
the store by a separate thread every ``flush_seconds`` (the work may hold a long write
transaction, e.g. an import: on SQLite a write from the work's own thread would wait for it);
the start and the end are written at once. A job still marked queued or running whose process
(``runner``, host and pid) no longer runs was interrupted: it is shown, and stored, as failed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from matching.atomic import process_alive
from matching.errors import TechMatchError
from matching.store.database import Database
from matching.store.models import BackgroundJob

__all__ = ["Job", "JobBusy", "JobFailed", "JobRunner", "Outcome", "Reporter"]

log = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed"]
STATUS_LABELS: dict[str, str] = {
    "queued": "排队中",
    "running": "进行中",
    "done": "已完成",
    "failed": "失败",
}
ACTIVE = ("queued", "running")
INTERRUPTED = (
    "服务在任务进行中停止，任务已中断（导入等写入为整体事务：未完成的部分没有写入）；请重新提交"
)


class JobFailed(TechMatchError):
    """Raise from a job's work to end it as failed with this (Chinese) message."""


class JobBusy(TechMatchError):
    """A job of the same kind is still running (``JobRunner.submit`` with ``exclusive``)."""


@dataclass(frozen=True)
class Outcome:
    """What a finished job shows: a one-line summary, more lines (e.g. the rows an import
    reported), and a link to where the user goes next."""

    summary: str
    lines: tuple[str, ...] = ()
    link: str | None = None
    link_label: str = ""


Reporter = Callable[[int, str], None]
Work = Callable[[Reporter], Outcome]


@dataclass
class Job:
    """One job's state; ``progress`` is a percentage (0-100). ``owner`` is the user id that
    started it: only they (and admins) see it."""

    id: str
    kind: str
    title: str
    owner: int
    status: JobStatus = "queued"
    progress: int = 0
    message: str = "排队中"
    outcome: Outcome | None = None
    error: str | None = None
    created: float = 0.0
    finished: float | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def _job_of(row: BackgroundJob) -> Job:
    outcome = None
    if row.outcome is not None:
        data = row.outcome
        outcome = Outcome(
            data.get("summary", ""),
            tuple(data.get("lines", ())),
            data.get("link"),
            data.get("link_label", ""),
        )
    status: JobStatus = row.status  # type: ignore[assignment]
    return Job(
        row.id,
        row.kind,
        row.title,
        row.owner,
        status,
        row.progress,
        row.message,
        outcome,
        row.error,
        row.created_at.timestamp(),
        row.finished_at.timestamp() if row.finished_at else None,
    )


def _outcome_data(outcome: Outcome) -> dict[str, object]:
    return {
        "summary": outcome.summary,
        "lines": list(outcome.lines),
        "link": outcome.link,
        "link_label": outcome.link_label,
    }


class JobRunner:
    """Runs jobs on ``workers`` threads; keeps the last ``keep`` finished ones in the store."""

    def __init__(
        self,
        database: Database,
        workers: int = 2,
        keep: int = 200,
        flush_seconds: float = 0.5,
    ) -> None:
        self._database = database
        self._keep = keep
        # host:pid:instance (several runners may share a process, as in tests)
        self._runner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="techmatch-job")
        self._lock = threading.Lock()
        self._live: dict[str, Job] = {}  # this process's active jobs, freshest state
        self._dirty: set[str] = set()
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_loop, args=(flush_seconds,), name="job-progress", daemon=True
        )
        self._flusher.start()

    def submit(self, kind: str, title: str, owner: int, work: Work, exclusive: bool = False) -> Job:
        """Start ``work`` as a new job and return a snapshot of it. ``exclusive``: refuse
        (``JobBusy``) while another job of the same ``kind`` is queued or running, in any
        process."""
        job = Job(secrets.token_urlsafe(9), kind, title, owner, created=time.time())
        with self._lock, self._database.session("jobs") as session:
            if exclusive:
                running = session.scalars(
                    select(BackgroundJob).where(
                        BackgroundJob.kind == kind, BackgroundJob.status.in_(ACTIVE)
                    )
                )
                if any(not self._interrupted(row) for row in running):
                    raise JobBusy(f"已有「{title}」任务在进行中，请等待其完成后再试")
            session.add(
                BackgroundJob(
                    id=job.id,
                    kind=kind,
                    title=title,
                    owner=owner,
                    status=job.status,
                    progress=0,
                    message=job.message,
                    runner=self._runner,
                    created_at=dt.datetime.fromtimestamp(job.created, dt.UTC),
                )
            )
            self._forget_old(session)
            self._live[job.id] = job
            snapshot = replace(job)
        self._pool.submit(self._run, job.id, work)
        return snapshot

    def get(self, job_id: str) -> Job | None:
        """A snapshot of the job (None when unknown or forgotten)."""
        with self._lock:
            live = self._live.get(job_id)
            if live is not None:
                return replace(live)
        with self._database.session("jobs") as session:
            row = session.get(BackgroundJob, job_id)
            if row is None:
                return None
            self._interrupted(row)
            return _job_of(row)

    def wait(self, job_id: str, timeout: float = 30.0) -> Job | None:
        """Block until the job ends or ``timeout`` seconds pass (for tests and the CLI)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job is None or not job.active:
                return job
            time.sleep(0.05)
        return self.get(job_id)

    def shutdown(self) -> None:
        """Stop taking work. Jobs still running when the process ends are shown as
        interrupted by the processes that remain (or the next start)."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _interrupted(self, row: BackgroundJob) -> bool:
        """Mark ``row`` (of an open session) failed if it is active but its process is gone;
        True if so."""
        if row.status not in ACTIVE:
            return False
        if row.runner == self._runner:
            if row.id in self._live:
                return False  # running here
        else:
            parts = row.runner.rsplit(":", 2)
            if len(parts) != 3 or not parts[1].isdigit():
                return False  # not ours to judge
            host, pid = parts[0], int(parts[1])
            if host != socket.gethostname() or process_alive(pid):
                return False  # running, or on another machine (cannot tell)
        row.status, row.message, row.error = "failed", STATUS_LABELS["failed"], INTERRUPTED
        row.finished_at = dt.datetime.now(dt.UTC)
        return True

    def _forget_old(self, session: Session) -> None:
        finished = select(BackgroundJob.id).where(BackgroundJob.status.not_in(ACTIVE))
        stale = session.scalars(
            finished.order_by(BackgroundJob.created_at.desc()).offset(self._keep)
        ).all()
        if stale:
            session.execute(delete(BackgroundJob).where(BackgroundJob.id.in_(stale)))

    def _write(self, job: Job, final: bool = False) -> None:
        """Store the job's state. Only while the stored job is still active: a progress write
        that lost the race with the job's end never turns it back into a running one (the
        condition is in the UPDATE, so it holds between processes and transactions)."""
        values: dict[str, object] = {
            "status": job.status,
            "progress": job.progress,
            "message": job.message,
        }
        if final:
            values["error"] = job.error
            values["outcome"] = _outcome_data(job.outcome) if job.outcome else None
            values["finished_at"] = dt.datetime.now(dt.UTC)
        with self._database.session("jobs") as session:
            session.execute(
                update(BackgroundJob)
                .where(BackgroundJob.id == job.id, BackgroundJob.status.in_(ACTIVE))
                .values(**values)
            )

    def _flush_loop(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            with self._lock:
                pending = [replace(self._live[key]) for key in self._dirty if key in self._live]
                self._dirty.clear()
            for job in pending:
                try:
                    self._write(job)
                except Exception:  # best effort: the next tick (or the end) writes it
                    log.warning("job %s: progress not written yet", job.id, exc_info=True)
                    with self._lock:
                        self._dirty.add(job.id)

    def _update(self, job_id: str, **changes: object) -> Job | None:
        with self._lock:
            job = self._live.get(job_id)
            if job is None:
                return None
            for name, value in changes.items():
                setattr(job, name, value)
            self._dirty.add(job_id)
            return replace(job)

    def _finish(self, job_id: str, **changes: object) -> None:
        job = self._update(job_id, finished=time.time(), **changes)
        if job is None:
            return
        try:
            self._write(job, final=True)
        except Exception:  # the store failed: the job will show as interrupted
            log.exception("job %s: its end could not be stored", job_id)
        finally:
            with self._lock:
                self._live.pop(job_id, None)
                self._dirty.discard(job_id)

    def _run(self, job_id: str, work: Work) -> None:
        def report(percent: int, message: str) -> None:
            self._update(job_id, progress=max(0, min(100, int(percent))), message=message)

        started = self._update(job_id, status="running", message="开始处理")
        if started is not None:
            self._write(started)
        try:
            outcome = work(report)
        except TechMatchError as error:
            self._finish(job_id, status="failed", error=str(error), message=STATUS_LABELS["failed"])
        except Exception:
            log.exception("job %s failed", job_id)
            self._finish(
                job_id,
                status="failed",
                error="任务因内部错误中止，已记录日志",
                message=STATUS_LABELS["failed"],
            )
        else:
            self._finish(
                job_id,
                status="done",
                progress=100,
                message=STATUS_LABELS["done"],
                outcome=outcome,
            )
