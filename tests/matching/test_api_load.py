"""The API load benchmark with several server processes: clients spread over the servers, the
set-up only in the first, all stopped; and a short run against two real servers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from matching.benchmarks import api_load as api_load_module
from matching.benchmarks.api_load import Server, api_load, drive, markdown, running_servers
from matching.config import Settings
from matching.encode import Encoder
from tests.web.browser import seed_embeddings


class _Counting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real server

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _CountingServer)
        with server.lock:
            server.count += 1
        body = b"[]"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Counting)
        self.count = 0
        self.lock = threading.Lock()


@contextmanager
def _stub_servers(number: int) -> Iterator[list[_CountingServer]]:
    servers = [_CountingServer() for _ in range(number)]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    try:
        yield servers
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_clients_are_spread_over_the_servers() -> None:
    with _stub_servers(2) as servers:
        urls = [f"http://127.0.0.1:{server.server_address[1]}" for server in servers]
        level = drive(urls, "token", ["/a", "/b", "/c"], clients=3, seconds=1)
    assert level.errors == 0 and level.processes == 2
    # clients 0 and 2 on the first server, client 1 on the second; each server saw its own
    assert level.server_requests == [server.count for server in servers]
    assert all(count > 0 for count in level.server_requests)
    assert sum(level.server_requests) == level.requests
    report = {"levels": [{**vars(level), "server_cores": 1.5}]}
    table = markdown(report)
    assert table.splitlines()[0].startswith("| processes | clients |")
    assert f"| 2 | 3 | {level.requests:,} |" in table
    assert table.endswith(f"| {level.server_requests[0]:,} / {level.server_requests[1]:,} |")


def test_one_server_url_is_one_process() -> None:
    with _stub_servers(1) as servers:
        level = drive(f"http://127.0.0.1:{servers[0].server_address[1]}", "t", ["/a"], 2, 1)
    assert level.processes == 1 and level.server_requests == [level.requests] != [0]


def test_only_the_first_server_sets_up_and_all_stop_when_one_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[bool] = []
    stopped: list[int] = []

    @contextmanager
    def fake(settings: Settings, timeout: float = 600, setup: bool = True) -> Iterator[Server]:
        number = len(started)
        started.append(setup)
        if number == 2:
            raise RuntimeError("server did not start")
        try:
            yield Server(f"http://127.0.0.1:{8000 + number}", 0)
        finally:
            stopped.append(number)

    monkeypatch.setattr(api_load_module, "running_server", fake)
    settings = Settings(data_dir=tmp_path)
    with running_servers(settings, 2) as servers:
        assert [server.url for server in servers] == [
            "http://127.0.0.1:8000",
            "http://127.0.0.1:8001",
        ]
    assert started == [True, False] and stopped == [1, 0]
    started.clear()
    stopped.clear()
    with pytest.raises(RuntimeError), running_servers(settings, 3):
        pass
    assert started == [True, False, False] and sorted(stopped) == [0, 1]


@pytest.mark.slow
def test_two_real_server_processes_both_answer_without_errors(
    tmp_path: Path, mini_demo_dir: Path, encoder_settings: Settings, encoder: Encoder
) -> None:
    settings = Settings(
        data_dir=tmp_path / "var",
        demo_dir=mini_demo_dir,
        models_dir=encoder_settings.resolved_models_dir,
    )
    seed_embeddings(settings.data_dir)
    report = api_load(settings, levels=(4,), seconds=3, processes=2)
    print(markdown(report))
    assert report["processes"] == 2 and len(set(report["servers"])) == 2
    (level,) = report["levels"]
    assert level["errors"] == 0, level["error_samples"]
    assert level["processes"] == 2
    assert len(level["server_requests"]) == 2 and all(level["server_requests"])
    assert sum(level["server_requests"]) == level["requests"]
    assert level["server_cores"] is not None and level["server_cores"] > 0
    # two server processes ran over the one data folder (each logs to serve-<port>.log there)
    logs = sorted(settings.data_dir.glob("serve-*.log"))
    assert len(logs) == 2
