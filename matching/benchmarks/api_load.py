"""API load (``techmatch bench api``): the real server (``techmatch serve``, a subprocess) on
loopback, driven by N concurrent clients for a fixed time at each N.

Each client is a thread with its own keep-alive HTTP connection that requests need → results
(top 10) for the store's needs in turn, authenticated with a token from the login endpoint.
Before measuring, every need is requested once, so query vectors come from the embedding cache
as they do for a stored need that was asked for before. Reported per level: requests,
requests/s, latency p50/p95/max (ms, as the client sees it), errors (any answer but 200), and
the CPU the server and the clients used (in cores: CPU seconds per second), since both share
the machine.

With ``processes`` > 1, that many ``techmatch serve`` processes run over the same store (the
first one sets it up, the others start with ``--no-setup`` once it is healthy, each on its own
port) and client i talks to server i mod N; "server cores" is then the sum over the processes,
and the requests each server answered are reported too.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from matching.accounts import AccountError, create_user, set_password
from matching.config import Settings
from matching.corpus import ACTIVE_STATUSES
from matching.store.database import Database
from matching.store.models import Need

__all__ = [
    "LoadLevel",
    "Server",
    "api_load",
    "drive",
    "ensure_account",
    "free_port",
    "login",
    "markdown",
    "running_server",
    "running_servers",
    "warm_up",
]

USERNAME = "bench-api"
MATCH_PATH = "/api/v1/needs/{}/matches/results?top=10"


@dataclass
class LoadLevel:
    """What N concurrent clients saw in ``seconds``."""

    clients: int
    seconds: float
    requests: int
    errors: int
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    client_cores: float
    server_cores: float | None = None
    error_samples: list[str] = field(default_factory=list)
    processes: int = 1
    server_requests: list[int] = field(default_factory=list)  # answered, per server


def free_port() -> int:
    """A loopback port nobody listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_env(settings: Settings, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "TECHMATCH_DATA_DIR": str(settings.data_dir.resolve()),
        "TECHMATCH_DATABASE_URL": settings.resolved_database_url,
        "TECHMATCH_MODELS_DIR": str(settings.resolved_models_dir.resolve()),
        "TECHMATCH_DEMO_DIR": str(settings.demo_dir.resolve()),
        "TECHMATCH_LOAD_DEMO": "true",
        "TECHMATCH_HOST": "127.0.0.1",
        "TECHMATCH_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
    }


def _healthy(base_url: str) -> bool:
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(base_url).netloc, timeout=2)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


@dataclass(frozen=True)
class Server:
    """A running ``techmatch serve``: its base URL and process id."""

    url: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """CPU time the server has used so far (user + system), None off Linux."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_server(
    settings: Settings, timeout: float = 600, setup: bool = True
) -> Iterator[Server]:
    """Run ``techmatch serve`` on a free loopback port over ``settings``' store (set up and
    indexed first, as ``make run`` does; with ``setup=False`` as ``serve --no-setup``); yield
    it, stop it at exit. The server's output goes to ``<data_dir>/serve-<port>.log``;
    ``RuntimeError`` (with its tail) if it exits or stays unhealthy for ``timeout`` seconds."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.data_dir / f"serve-{port}.log"
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port)]
    if not setup:
        command.append("--no-setup")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=settings.data_dir,
            env=_server_env(settings, port),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        started = time.monotonic()
        while not _healthy(base_url):
            if process.poll() is not None or time.monotonic() - started > timeout:
                tail = log_path.read_text(errors="replace")[-4000:]
                raise RuntimeError(f"server did not start (exit {process.poll()}):\n{tail}")
            time.sleep(0.3)
        yield Server(base_url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_servers(
    settings: Settings, processes: int = 1, timeout: float = 600
) -> Iterator[list[Server]]:
    """``processes`` servers over the same store, as ``running_server`` runs one: the first
    sets the store up; once it is healthy the others start, one after another, with
    ``--no-setup``. All are healthy when yielded and all are stopped at exit (also when one
    fails to start)."""
    with ExitStack() as stack:
        servers = [
            stack.enter_context(running_server(settings, timeout, setup=number == 0))
            for number in range(processes)
        ]
        yield servers


def ensure_account(database: Database, username: str = USERNAME) -> str:
    """A staff account for the benchmark with a fresh random password (returned)."""
    password = secrets.token_urlsafe(18) + "7x"
    with database.session("bench") as session:
        try:
            create_user(session, username, password, "staff")
        except AccountError:  # already there from an earlier run
            set_password(session, username, password)
    return password


def login(base_url: str, username: str, password: str) -> str:
    """An access token through ``POST /api/v1/auth/token`` (the OAuth2 password flow)."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(base_url).netloc, timeout=30)
    body = urllib.parse.urlencode({"username": username, "password": password})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        connection.request("POST", "/api/v1/auth/token", body, headers)
        response = connection.getresponse()
        payload = json.loads(response.read())
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"login failed: {response.status} {payload}")
    token: str = payload["access_token"]
    return token


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class _Client(threading.Thread):
    """One client: a keep-alive connection (to one server), requests until the deadline."""

    def __init__(self, netloc: str, token: str, paths: list[str], offset: int, deadline: float):
        super().__init__(daemon=True)
        self.netloc, self.paths, self.offset, self.deadline = netloc, paths, offset, deadline
        self.headers = {"Authorization": f"Bearer {token}"}
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.netloc, timeout=60)
        number = self.offset
        while time.perf_counter() < self.deadline:
            path = self.paths[number % len(self.paths)]
            number += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=self.headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection(self.netloc, timeout=60)
                self.errors.append(f"{path}: {error!r}")
                continue
            self.latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                self.errors.append(f"{path}: HTTP {status}")
        connection.close()


def warm_up(base_url: str, token: str, paths: list[str]) -> list[str]:
    """Request every path once, one after another; the failures."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(base_url).netloc, timeout=120)
    failures = []
    for path in paths:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            failures.append(f"{path}: HTTP {response.status}")
    connection.close()
    return failures


def drive(
    base_url: str | Sequence[str], token: str, paths: list[str], clients: int, seconds: float
) -> LoadLevel:
    """``clients`` concurrent clients for ``seconds``; every client starts at another need.
    With several base URLs (servers), client i uses server i mod their number."""
    base_urls = [base_url] if isinstance(base_url, str) else list(base_url)
    netlocs = [urllib.parse.urlsplit(url).netloc for url in base_urls]
    started, client_cpu = time.perf_counter(), time.process_time()
    deadline = started + seconds
    step = max(1, len(paths) // clients)
    threads = [
        _Client(netlocs[i % len(netlocs)], token, paths, i * step, deadline) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    client_cores = (time.process_time() - client_cpu) / elapsed
    latencies = [value for thread in threads for value in thread.latencies]
    errors = [error for thread in threads for error in thread.errors]
    server_requests = [0] * len(netlocs)
    for i, thread in enumerate(threads):
        server_requests[i % len(netlocs)] += len(thread.latencies)
    return LoadLevel(
        clients=clients,
        seconds=round(elapsed, 1),
        requests=len(latencies),
        errors=len(errors),
        requests_per_s=round(len(latencies) / elapsed, 1),
        p50_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
        p95_ms=round(_percentile(latencies, 0.95), 1) if latencies else 0.0,
        max_ms=round(max(latencies), 1) if latencies else 0.0,
        client_cores=round(client_cores, 2),
        error_samples=errors[:5],
        processes=len(netlocs),
        server_requests=server_requests,
    )


def _need_paths(database: Database) -> list[str]:
    with database.session() as session:
        refs = session.scalars(
            select(Need.external_ref)
            .where(Need.status.in_(ACTIVE_STATUSES["needs"]))
            .order_by(Need.id)
        )
        return [MATCH_PATH.format(urllib.parse.quote(ref)) for ref in refs]


def _cpu_seconds(servers: Sequence[Server]) -> float | None:
    """The servers' CPU time so far, summed; None if it cannot be read (off Linux)."""
    times = [server.cpu_seconds() for server in servers]
    return None if any(value is None for value in times) else sum(filter(None, times))


def api_load(
    settings: Settings,
    levels: Sequence[int] = (2, 8, 32),
    seconds: float = 20,
    progress: Callable[[str], None] = lambda message: None,
    processes: int = 1,
) -> dict[str, Any]:
    """Start ``processes`` servers over ``settings``' store (the demo data is loaded into an
    empty one by the first), warm each up and drive them at each level, client i on server
    i mod ``processes``; the levels and the set-up as a dict."""
    if processes < 1:
        raise ValueError("processes must be at least 1")
    database = Database(settings.resolved_database_url)
    database.upgrade()
    password = ensure_account(database)
    progress(
        f"starting {processes} server process{'es' if processes > 1 else ''} on "
        f"{settings.data_dir} (first run: demo load and indexing)"
    )
    try:
        with running_servers(settings, processes) as servers:
            base_urls = [server.url for server in servers]
            token = login(base_urls[0], USERNAME, password)
            paths = _need_paths(database)
            for base_url in base_urls:
                progress(f"warm-up of {base_url}: each of {len(paths)} needs once")
                failures = warm_up(base_url, token, paths)
                if failures:
                    raise RuntimeError(f"warm-up failed: {failures[:5]}")
            results = []
            for clients in levels:
                progress(f"{clients} clients for {seconds:g} s")
                server_cpu = _cpu_seconds(servers)
                level = drive(base_urls, token, paths, clients, seconds)
                if server_cpu is not None:
                    level.server_cores = round(
                        ((_cpu_seconds(servers) or 0) - server_cpu) / level.seconds, 2
                    )
                results.append(level)
    finally:
        database.dispose()
    return {
        "endpoint": "GET " + MATCH_PATH.format("{need}"),
        "needs": len(paths),
        "seconds_per_level": seconds,
        "cpus": os.cpu_count(),
        "processes": processes,
        "servers": base_urls,
        "levels": [asdict(level) for level in results],
    }


def markdown(report: dict[str, Any]) -> str:
    """The levels as a Markdown table."""
    lines = [
        "| processes | clients | requests | requests/s | p50 ms | p95 ms | max ms | errors "
        "| server cores | client cores | requests per server |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for level in report["levels"]:
        per_server = " / ".join(f"{count:,}" for count in level["server_requests"])
        lines.append(
            f"| {level['processes']} | {level['clients']} | {level['requests']:,} | "
            f"{level['requests_per_s']} | {level['p50_ms']} | {level['p95_ms']} | "
            f"{level['max_ms']} | {level['errors']} | {level['server_cores']} | "
            f"{level['client_cores']} | {per_server} |"
        )
    return "\n".join(lines)
