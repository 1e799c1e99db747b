"""Mixed API load and soak (``techmatch bench load``): the real server (a subprocess, as in
``techmatch bench api``) driven by N concurrent clients with a bounded mix of operations:

- ``match``: ``GET /api/v1/needs/{need}/matches/results?top=10`` over the store's active needs;
- ``write``: ``POST /api/v1/needs`` creating a new draft need (a unique title each time);
- ``feedback``: ``POST /api/v1/feedback`` recording 已查看 on a (need, result) pair;
- ``form``: committee experts filling in their evaluation forms. Before the clients start, a
  round is created through the API over the active needs and ``FORM_EXPERTS`` experts, assigned,
  and each assigned expert gets an account and a token. Each form is then saved as a draft
  (``PUT .../form``) on its first visit, submitted (``POST .../form/submit``, which locks it) on
  its second, and read back (``GET .../form``) after that.

Each client picks the next operation from a fixed, repeating sequence given by the weights
(default 7 : 1 : 1 : 1), so the mix is exact and reproducible. Reported per operation: requests,
latency p50/p95/max (ms) and errors (any answer but the expected 200/201). With
``soak_seconds`` the same mix runs that long and the server's resident memory (VmRSS) is
sampled every ``sample_every`` seconds: first, last and max RSS and every sample.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import statistics
import threading
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from matching.accounts import AccountError, create_user, set_password
from matching.benchmarks.api_load import (
    MATCH_PATH,
    USERNAME,
    _need_paths,
    _percentile,
    ensure_account,
    login,
    running_server,
    warm_up,
)
from matching.config import Settings
from matching.corpus import ACTIVE_STATUSES
from matching.store.database import Database
from matching.store.models import Expert, Need, Organization, Result

__all__ = ["DEFAULT_WEIGHTS", "OPERATIONS", "OperationStats", "load_mix", "markdown", "resident_mb"]

OPERATIONS = ("match", "write", "feedback", "form")
DEFAULT_WEIGHTS = {"match": 7, "write": 1, "feedback": 1, "form": 1}
FORM_EXPERTS = 30  # experts in the benchmark's round (each one an account to log in)
# A complete answer to the shipped 企业技术需求评比 form (resources/form_needs_default.json).
FORM_ANSWERS: dict[str, Any] = {
    "scores": {
        "authenticity_urgency": 8,
        "advancement_difficulty": 7.5,
        "industrial_benefit": 8.5,
        "enterprise_capacity": 7,
        "clarity": "良",
    },
    "comments": {"advancement_difficulty": "技术难度较高，国内同类企业尚无成熟方案。"},
    "overall_comment": "需求真实迫切，指标明确，建议发布。",
    "declared_no_conflict": True,
}


@dataclass
class OperationStats:
    operation: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    error_samples: list[str] = field(default_factory=list)


def resident_mb(pid: int) -> float | None:
    """Resident memory (VmRSS) of process ``pid`` in MiB; None when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass(frozen=True)
class _Targets:
    match_paths: list[str]
    enterprise_ids: list[int]
    pairs: list[tuple[str, str]]  # (need ref, result ref)


def _targets(database: Database) -> _Targets:
    with database.session() as session:
        enterprises = list(
            session.scalars(
                select(Organization.id).where(Organization.kind == "enterprise").limit(50)
            )
        )
        needs = list(
            session.scalars(
                select(Need.external_ref)
                .where(Need.status.in_(ACTIVE_STATUSES["needs"]))
                .order_by(Need.id)
                .limit(40)
            )
        )
        results = list(session.scalars(select(Result.external_ref).order_by(Result.id).limit(40)))
    pairs = [(need, result) for need in needs for result in results[:5]]
    return _Targets(_need_paths(database), enterprises, pairs)


class _FormWork:
    """The committee side of the mix: the round's assignments and each assigned expert's token.

    Every form goes draft (``PUT``) → submit (``POST .../submit``, locks it) → read (``GET``),
    one step at a time: a form is never in two requests at once, so a draft can never arrive
    after its own submission (that would rightly be a 409). Drafted forms are submitted before
    new ones are drafted, so a short run submits too; once all are submitted, forms are read
    back in turn."""

    def __init__(self, round_id: int, pairs: list[tuple[int, int]], tokens: dict[int, str]):
        self.round_id, self.pairs, self.tokens = round_id, pairs, tokens
        self.steps = [0] * len(pairs)  # 0 new, 1 drafted, 2 submitted; reads counted apart
        self.reads = 0
        self.to_draft: deque[int] = deque(range(len(pairs)))
        self.to_submit: deque[int] = deque()
        self.submitted: deque[int] = deque()
        self.lock = threading.Lock()

    def take(self) -> tuple[int, str, str, str | None, str]:
        """The next step: (form index, method, path, body, token); hand it back with
        ``finished`` once answered."""
        with self.lock:
            if self.to_submit:
                index = self.to_submit.popleft()
            elif self.to_draft:
                index = self.to_draft.popleft()
            elif self.submitted:
                index = self.submitted.popleft()
            else:
                raise RuntimeError("every form is in a request: more clients than forms")
            step = self.steps[index]
        item_id, expert_id = self.pairs[index]
        path = f"/api/v1/rounds/{self.round_id}/items/{item_id}/form"
        token = self.tokens[expert_id]
        if step == 0:
            return index, "PUT", path, json.dumps(FORM_ANSWERS, ensure_ascii=False), token
        if step == 1:
            return index, "POST", f"{path}/submit", None, token
        return index, "GET", path, None, token

    def finished(self, index: int, succeeded: bool) -> None:
        """Put the form back: one step further when its request succeeded, else to retry."""
        with self.lock:
            step = self.steps[index]
            if succeeded:
                if step < 2:
                    self.steps[index] = step + 1
                else:
                    self.reads += 1
            queue = (self.to_draft, self.to_submit, self.submitted)[self.steps[index]]
            queue.append(index)

    def counts(self) -> dict[str, int]:
        with self.lock:
            steps, reads = list(self.steps), self.reads
        return {
            "assignments": len(steps),
            "drafts_saved": sum(step >= 1 for step in steps),
            "submitted": sum(step >= 2 for step in steps),
            "reads": reads,
        }


def _call(netloc: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """One JSON request of the set-up; ``RuntimeError`` on any answer but 2xx."""
    connection = http.client.HTTPConnection(netloc, timeout=300)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    try:
        connection.request(method, path, data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise RuntimeError(f"{method} {path}: HTTP {response.status} {payload[:300]!r}")
    return json.loads(payload) if payload else None


def _form_work(database: Database, base_url: str, token: str) -> _FormWork:
    """A round over the active needs and ``FORM_EXPERTS`` experts, created and assigned through
    the API as an organiser would, and a logged-in account for every assigned expert."""
    netloc = urllib.parse.urlsplit(base_url).netloc
    with database.session() as session:
        needs = list(
            session.scalars(
                select(Need.external_ref)
                .where(Need.status.in_(ACTIVE_STATUSES["needs"]))
                .order_by(Need.id)
            )
        )
        experts = list(
            session.scalars(select(Expert.external_ref).order_by(Expert.id).limit(FORM_EXPERTS))
        )
    body = {"name": f"负载测试评比 {uuid.uuid4().hex[:8]}", "reviewers_per_item": 3}
    round_id = _call(netloc, token, "POST", "/api/v1/rounds", {**body, "max_load": 1000})["id"]
    _call(netloc, token, "POST", f"/api/v1/rounds/{round_id}/items", {"needs": needs})
    _call(netloc, token, "POST", f"/api/v1/rounds/{round_id}/experts", {"experts": experts})
    report = _call(netloc, token, "POST", f"/api/v1/rounds/{round_id}/assign")
    pairs = [
        (panel["item_id"], member["expert_id"])
        for panel in report["panels"]
        for member in panel["members"]
    ]
    password = secrets.token_urlsafe(18) + "7x"
    assigned = sorted({expert_id for _item, expert_id in pairs})
    with database.session("bench") as session:
        for expert_id in assigned:
            username = f"bench-expert-{expert_id}"
            try:
                create_user(session, username, password, "expert", expert=expert_id)
            except AccountError:  # already there from an earlier run
                set_password(session, username, password)
    tokens = {
        expert_id: login(base_url, f"bench-expert-{expert_id}", password) for expert_id in assigned
    }
    # Interleave the experts, so that concurrent clients write different experts' forms.
    pairs.sort(key=lambda pair: (pair[0] * 7919 + pair[1]) % 104729)
    return _FormWork(round_id, pairs, tokens)


def _schedule(weights: dict[str, int]) -> list[str]:
    """The repeating operation sequence, interleaved (8:1:1 → m m m w m m f m m m)."""
    total = sum(weights.values())
    sequence: list[str] = []
    credit = dict.fromkeys(weights, 0.0)
    for _ in range(total):
        for name, weight in weights.items():
            credit[name] += weight / total
        chosen = max(credit, key=lambda name: credit[name])
        credit[chosen] -= 1
        sequence.append(chosen)
    return sequence


class _MixClient(threading.Thread):
    """One client: a keep-alive connection, operations from the schedule until stopped."""

    def __init__(
        self,
        netloc: str,
        token: str,
        targets: _Targets,
        forms: _FormWork | None,
        schedule: list[str],
        offset: int,
        stop: threading.Event,
    ) -> None:
        super().__init__(daemon=True)
        self.netloc, self.targets, self.forms, self.schedule = netloc, targets, forms, schedule
        self.token = token
        self.offset, self.stop = offset, stop
        self.latencies: dict[str, list[float]] = {name: [] for name in OPERATIONS}
        self.errors: dict[str, list[str]] = {name: [] for name in OPERATIONS}

    def _request(self, number: int, operation: str) -> tuple[str, str, str | None, int, str]:
        targets = self.targets
        if operation == "match":
            path = targets.match_paths[number % len(targets.match_paths)]
            return "GET", path, None, 200, self.token
        if operation == "write":
            body = {
                "title": f"负载测试需求 {uuid.uuid4().hex[:12]}",
                "description": "负载测试写入的需求：新型耐高温涂层材料的制备工艺与中试验证。",
                "organization_id": targets.enterprise_ids[number % len(targets.enterprise_ids)],
                "status": "草稿",
            }
            return "POST", "/api/v1/needs", json.dumps(body, ensure_ascii=False), 201, self.token
        need, result = targets.pairs[number % len(targets.pairs)]
        body = {"need": need, "result": result, "action": "已查看", "note": "负载测试"}
        payload = json.dumps(body, ensure_ascii=False)
        return "POST", "/api/v1/feedback", payload, 201, self.token

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.netloc, timeout=60)
        number = self.offset
        while not self.stop.is_set():
            operation = self.schedule[number % len(self.schedule)]
            form: tuple[_FormWork, int] | None = None
            if operation == "form" and self.forms is not None:
                index, method, path, body, token = self.forms.take()
                form, expected = (self.forms, index), 200
            else:
                method, path, body, expected, token = self._request(number, operation)
            number += 1
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            started = time.perf_counter()
            try:
                connection.request(method, path, body.encode() if body else None, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection(self.netloc, timeout=60)
                self.errors[operation].append(f"{method} {path}: {error!r}")
                if form is not None:
                    form[0].finished(form[1], succeeded=False)
                continue
            self.latencies[operation].append((time.perf_counter() - started) * 1000)
            if form is not None:
                form[0].finished(form[1], succeeded=status == expected)
            if status != expected:
                detail = payload[:200].decode(errors="replace")
                self.errors[operation].append(f"{method} {path}: HTTP {status} {detail}")
        connection.close()


def _stats(operation: str, clients: list[_MixClient]) -> OperationStats:
    latencies = [value for client in clients for value in client.latencies[operation]]
    errors = [error for client in clients for error in client.errors[operation]]
    return OperationStats(
        operation=operation,
        requests=len(latencies),
        errors=len(errors),
        p50_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
        p95_ms=round(_percentile(latencies, 0.95), 1) if latencies else 0.0,
        max_ms=round(max(latencies), 1) if latencies else 0.0,
        error_samples=errors[:5],
    )


def load_mix(
    settings: Settings,
    clients: int = 32,
    seconds: float = 60,
    weights: dict[str, int] | None = None,
    soak_seconds: float | None = None,
    sample_every: float = 10,
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Start the server over ``settings``' store, warm it up and drive the mix with ``clients``
    for ``seconds`` (or ``soak_seconds`` when given, sampling the server's RSS)."""
    weights = weights or DEFAULT_WEIGHTS
    weights = {name: weight for name, weight in weights.items() if weight > 0}
    unknown = set(weights) - set(OPERATIONS)
    if unknown or not weights:
        raise ValueError(f"weights must name some of {OPERATIONS}, got {sorted(weights)}")
    duration = soak_seconds if soak_seconds is not None else seconds
    database = Database(settings.resolved_database_url)
    database.upgrade()
    password = ensure_account(database)
    progress(f"starting the server on {settings.data_dir}")
    with running_server(settings) as server:
        # Read once the server has set the store up (a fresh folder gets the demo data).
        targets = _targets(database)
        if not targets.match_paths or not targets.enterprise_ids or not targets.pairs:
            raise RuntimeError("the store needs active needs, enterprises and results")
        token = login(server.url, USERNAME, password)
        progress(f"warm-up: each of {len(targets.match_paths)} needs once")
        failures = warm_up(server.url, token, targets.match_paths)
        if failures:
            raise RuntimeError(f"warm-up failed: {failures[:5]}")
        forms = None
        if "form" in weights:
            progress("committee round: items, experts, assignment, expert accounts")
            forms = _form_work(database, server.url, token)
            if len(forms.pairs) < clients:
                raise RuntimeError(f"{len(forms.pairs)} forms for {clients} clients: too few")
            progress(f"  {len(forms.pairs)} forms for {len(forms.tokens)} experts")
        schedule = _schedule(weights)
        netloc = urllib.parse.urlsplit(server.url).netloc
        stop = threading.Event()
        step = max(1, len(targets.match_paths) // clients)
        threads = [
            _MixClient(netloc, token, targets, forms, schedule, i * step + i, stop)
            for i in range(clients)
        ]
        samples: list[dict[str, float | None]] = []
        progress(f"{clients} clients, mix {weights}, for {duration:g} s")
        started = time.perf_counter()
        samples.append({"t": 0.0, "rss_mb": resident_mb(server.pid)})
        server_cpu = server.cpu_seconds()
        for thread in threads:
            thread.start()
        deadline = started + duration
        next_sample = started + sample_every
        while (now := time.perf_counter()) < deadline:
            time.sleep(max(0.0, min(deadline, next_sample) - now))
            if soak_seconds is not None and time.perf_counter() >= next_sample:
                elapsed = round(time.perf_counter() - started, 1)
                samples.append({"t": elapsed, "rss_mb": resident_mb(server.pid)})
                progress(f"  {elapsed:g} s: RSS {samples[-1]['rss_mb']} MiB")
                next_sample += sample_every
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        server_cores = None
        if server_cpu is not None:
            server_cores = round(((server.cpu_seconds() or 0) - server_cpu) / elapsed, 2)
        samples.append({"t": round(elapsed, 1), "rss_mb": resident_mb(server.pid)})
    database.dispose()
    operations = [_stats(name, threads) for name in OPERATIONS if name in weights]
    total = sum(op.requests for op in operations)
    report: dict[str, Any] = {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "weights": weights,
        "match_endpoint": "GET " + MATCH_PATH.format("{need}"),
        "needs": len(targets.match_paths),
        "cpus": os.cpu_count(),
        "requests": total,
        "requests_per_s": round(total / elapsed, 1),
        "errors": sum(op.errors for op in operations),
        "server_cores": server_cores,
        "operations": [asdict(op) for op in operations],
    }
    if forms is not None:
        report["forms"] = forms.counts()
    if soak_seconds is not None:
        values = [s["rss_mb"] for s in samples if s["rss_mb"] is not None]
        report["rss_samples"] = samples
        report["rss_mb"] = {
            "first": values[0] if values else None,
            "last": values[-1] if values else None,
            "max": max(values) if values else None,
        }
    return report


def markdown(report: dict[str, Any]) -> str:
    """Per operation as a Markdown table, and the RSS line of a soak."""
    lines = [
        "| operation | requests | p50 ms | p95 ms | max ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    for op in report["operations"]:
        lines.append(
            f"| {op['operation']} | {op['requests']:,} | {op['p50_ms']} | {op['p95_ms']} | "
            f"{op['max_ms']} | {op['errors']} |"
        )
    lines.append(
        f"| all | {report['requests']:,} ({report['requests_per_s']}/s) | | | | "
        f"{report['errors']} |"
    )
    if "forms" in report:
        forms = report["forms"]
        lines.append("")
        lines.append(
            f"committee forms: {forms['assignments']} assigned, {forms['drafts_saved']} drafts "
            f"saved, {forms['submitted']} submitted (locked), {forms['reads']} read back"
        )
    if "rss_mb" in report:
        rss = report["rss_mb"]
        series = ", ".join(f"{s['t']:g} s {s['rss_mb']}" for s in report["rss_samples"])
        lines.append("")
        lines.append(
            f"server RSS MiB: first {rss['first']}, last {rss['last']}, max {rss['max']} "
            f"(samples: {series})"
        )
    return "\n".join(lines)
