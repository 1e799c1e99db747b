"""Long work as a job: a small thread pool that runs a function in the background and keeps its
progress (0-100), a message, and the outcome or the error, in memory.

A page starts a job with ``JobRunner.submit`` and sends the user to ``/jobs/{id}``, whose
progress bar polls ``/jobs/{id}/progress`` (HTMX, every second) until the job ends. The work is
a function of one argument, a ``Reporter``: ``report(percent, message)``. It returns an
``Outcome`` (what the page shows at the end) or raises: a ``TechMatchError`` (or ``JobFailed``)
becomes the job's error message as is (the library's messages are Chinese); anything else is
logged and shown as an internal error. Jobs live only as long as the process.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Literal

from matching.errors import TechMatchError

__all__ = ["Job", "JobBusy", "JobFailed", "JobRunner", "Outcome", "Reporter"]

log = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed"]
STATUS_LABELS: dict[str, str] = {
    "queued": "排队中",
    "running": "进行中",
    "done": "已完成",
    "failed": "失败",
}


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
    created: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


class JobRunner:
    """Runs jobs on ``workers`` threads and remembers the last ``keep`` of them."""

    def __init__(self, workers: int = 2, keep: int = 200) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="techmatch-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep

    def submit(self, kind: str, title: str, owner: int, work: Work, exclusive: bool = False) -> Job:
        """Start ``work`` as a new job and return a snapshot of it. ``exclusive``: refuse
        (``JobBusy``) while another job of the same ``kind`` is queued or running."""
        with self._lock:
            if exclusive and any(j.kind == kind and j.active for j in self._jobs.values()):
                raise JobBusy(f"已有「{title}」任务在进行中，请等待其完成后再试")
            job = Job(secrets.token_urlsafe(9), kind, title, owner)
            self._jobs[job.id] = job
            self._forget_old()
            snapshot = replace(job)
        self._pool.submit(self._run, job.id, work)
        return snapshot

    def get(self, job_id: str) -> Job | None:
        """A snapshot of the job (None when unknown or forgotten)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return replace(job) if job else None

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
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _forget_old(self) -> None:
        finished = [key for key, job in self._jobs.items() if not job.active]
        while len(self._jobs) > self._keep and finished:
            del self._jobs[finished.pop(0)]

    def _update(self, job_id: str, **changes: object) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                for name, value in changes.items():
                    setattr(job, name, value)

    def _run(self, job_id: str, work: Work) -> None:
        def report(percent: int, message: str) -> None:
            self._update(job_id, progress=max(0, min(100, int(percent))), message=message)

        self._update(job_id, status="running", message="开始处理")
        try:
            outcome = work(report)
        except TechMatchError as error:
            self._update(
                job_id,
                status="failed",
                error=str(error),
                message=STATUS_LABELS["failed"],
                finished=time.time(),
            )
        except Exception:
            log.exception("job %s failed", job_id)
            self._update(
                job_id,
                status="failed",
                error="任务因内部错误中止，已记录日志",
                message=STATUS_LABELS["failed"],
                finished=time.time(),
            )
        else:
            self._update(
                job_id,
                status="done",
                progress=100,
                message=STATUS_LABELS["done"],
                outcome=outcome,
                finished=time.time(),
            )
