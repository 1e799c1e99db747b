"""``techmatch serve`` as ``make run`` starts it: a real server process on loopback."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from matching.config import Settings
from matching.encode import Encoder
from matching.store.database import Database
from matching.store.models import Need
from tests.conftest import REPO
from tests.factories import need_row, write_csv
from tests.service.role_accounts import add_account
from tests.web.browser import keep_embeddings, seed_embeddings, served


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def _serve_until_healthy(
    data_dir: Path, demo_dir: Path, models_dir: Path, timeout: float = 180
) -> tuple[dict[str, Any], float]:
    port = _free_port()
    env = {
        **os.environ,
        "TECHMATCH_DATA_DIR": str(data_dir),
        "TECHMATCH_DEMO_DIR": str(demo_dir),
        "TECHMATCH_MODELS_DIR": str(models_dir),
        "TECHMATCH_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
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
def test_first_run_sets_up_store_and_indexes_and_second_run_reuses_them(
    tmp_path: Path, mini_demo_dir: Path, encoder_settings: Settings, encoder: Encoder
) -> None:
    models = encoder_settings.resolved_models_dir
    health, _first = _serve_until_healthy(tmp_path / "var", mini_demo_dir, models)
    assert health["status"] == "ok"
    counts = health["counts"]
    assert (counts["needs"], counts["results"], counts["experts"]) == (20, 40, 10)
    assert health["model_id"] == encoder.model_id
    assert {k: v["indexed"] for k, v in health["indexes"].items()} == {
        "needs": 20,
        "results": 40,
        "experts": 10,
    }
    assert (tmp_path / "var" / "techmatch.db").exists()
    assert (tmp_path / "var" / "indexes" / "results" / "manifest.json").exists()
    again, second = _serve_until_healthy(tmp_path / "var", mini_demo_dir, models)
    assert again["counts"] == counts and again["indexes"] == health["indexes"]
    assert second < 60, f"second start took {second:.1f} s"


@pytest.mark.slow
def test_a_running_service_makes_a_command_line_import_matchable_without_restart(
    tmp_path: Path,
    mini_demo_dir: Path,
    encoder_settings: Settings,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A centre imports a batch with ``techmatch import`` while the service runs: the service's
    store follower catches the new needs up within a few poll intervals."""
    monkeypatch.setenv("TECHMATCH_STORE_POLL_SECONDS", "0.5")
    data_dir = tmp_path / "var"
    models = encoder_settings.resolved_models_dir
    upload = write_csv(tmp_path / "needs.csv", [need_row(1), need_row(2)])
    with served(data_dir, mini_demo_dir, models) as base:
        assert _get(f"{base}/health")["indexes"]["needs"]["indexed"] == 20
        env = {
            **os.environ,
            "TECHMATCH_DATA_DIR": str(data_dir),
            "TECHMATCH_MODELS_DIR": str(models),
        }
        done = subprocess.run(
            [sys.executable, "-m", "service.cli", "import", "needs", str(upload)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        imported = time.perf_counter()
        while True:
            health = _get(f"{base}/health")
            # The follower counts a round's records once the round is over.
            if health["store_follower"]["refreshed"] == 2:
                break
            assert time.perf_counter() - imported < 60, "the import never reached the index"
            time.sleep(0.1)
        print(f"imported needs matchable {time.perf_counter() - imported:.1f} s after the import")
        assert health["indexes"]["needs"]["indexed"] == 22
        assert health["store_follower"]["interval_seconds"] == 0.5
        settings = Settings(data_dir=data_dir, load_demo=False)
        database = Database(settings.resolved_database_url)
        try:
            staff = add_account(database, settings, "staff", "staff1")
        finally:
            database.dispose()
        similar = _get(f"{base}/api/v1/needs/T-0001/similar", staff)
        assert "T-0002" in [item["ref"] for item in similar["items"]]


def _staff_and_twin(data_dir: Path) -> tuple[dict[str, str], int, dict[str, Any]]:
    """A staff account's header, the first need's id and the body of a published need with
    its text (so that the first need's similar needs must list it)."""
    settings = Settings(data_dir=data_dir, load_demo=False)
    database = Database(settings.resolved_database_url)
    try:
        staff = add_account(database, settings, "staff", "staff1")
        with database.session() as session:
            twin = session.scalars(select(Need).order_by(Need.id).limit(1)).one()
            body = {
                "title": twin.title,
                "description": twin.description,
                "organization_id": twin.enterprise_id,
                "status": "已发布",
            }
            return staff, twin.id, body
    finally:
        database.dispose()


def _second_server(data_dir: Path, models: Path, port: int) -> subprocess.Popen[bytes]:
    """Another ``techmatch serve`` on the same store and data folder (``--no-setup``)."""
    env = {
        **os.environ,
        "TECHMATCH_DATA_DIR": str(data_dir),
        "TECHMATCH_MODELS_DIR": str(models),
        "TECHMATCH_PORT": str(port),
    }
    with open(data_dir.parent / f"second-{port}.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--no-setup"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _until(check: Any, what: str, timeout: float = 60) -> float:
    started = time.perf_counter()
    while not check():
        assert time.perf_counter() - started < timeout, what
        time.sleep(0.1)
    return time.perf_counter() - started


@pytest.mark.slow
def test_two_service_processes_on_one_store_follow_each_other_s_writes(
    tmp_path: Path,
    mini_demo_dir: Path,
    encoder_settings: Settings,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two processes serve one store and data folder (as behind a load balancer): a need
    created through one is matchable through the other, a withdrawal through the other leaves
    the first's lists; both stop (and save their indexes into the same folders) and a third
    start loads those indexes, none rebuilt."""
    monkeypatch.setenv("TECHMATCH_STORE_POLL_SECONDS", "0.5")
    data_dir = tmp_path / "var"
    models = encoder_settings.resolved_models_dir
    with served(data_dir, mini_demo_dir, models) as first:
        staff, twin_id, body = _staff_and_twin(data_dir)
        port = _free_port()
        second = f"http://127.0.0.1:{port}"
        process = _second_server(data_dir, models, port)
        try:
            _until(lambda: _healthy(second), "the second process did not start", 180)
            created = httpx.post(f"{first}/api/v1/needs", json=body, headers=staff, timeout=60)
            assert created.status_code == 201, created.text
            new_id = created.json()["id"]

            def similar_ids(base: str) -> list[int]:
                listed = _get(f"{base}/api/v1/needs/{twin_id}/similar", staff)
                return [item["id"] for item in listed["items"]]

            seen = _until(lambda: new_id in similar_ids(second), "never reached the second")
            withdrawn = httpx.post(
                f"{second}/api/v1/needs/{new_id}/withdraw", headers=staff, timeout=60
            )
            assert withdrawn.status_code == 200, withdrawn.text
            gone = _until(lambda: new_id not in similar_ids(first), "never left the first")
            print(
                f"created via one process, matchable via the other after {seen:.1f} s; "
                f"withdrawn via the other, gone from the first after {gone:.1f} s"
            )
        finally:
            process.terminate()
            process.wait(timeout=60)
    # Both processes saved their indexes into the same folders on the way out.
    health, _ = _serve_until_healthy(data_dir, mini_demo_dir, models)
    assert {kind: state["indexed"] for kind, state in health["indexes"].items()} == {
        "needs": 20,
        "results": 40,
        "experts": 10,
    }
    last = max(data_dir.parent.glob("serve-*.log"), key=lambda path: path.stat().st_mtime)
    output = last.read_text(errors="replace")
    assert "rebuilt" not in output and "Traceback" not in output, output
    for log in data_dir.parent.glob("*.log"):
        assert "Traceback" not in log.read_text(errors="replace"), log


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
def test_serve_with_two_workers_answers_consistently_from_both(
    tmp_path: Path, mini_demo_dir: Path, encoder_settings: Settings, encoder: Encoder
) -> None:
    """``techmatch serve --workers 2``: two worker processes on one port; a need created through
    whichever answers is listed by every answer soon after; the workers save on the way out and
    the next start loads their indexes."""
    data_dir = tmp_path / "var"
    models = encoder_settings.resolved_models_dir
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "TECHMATCH_DATA_DIR": str(data_dir),
        "TECHMATCH_DEMO_DIR": str(mini_demo_dir),
        "TECHMATCH_MODELS_DIR": str(models),
        "TECHMATCH_PORT": str(port),
        "TECHMATCH_WORKERS": "2",
        "TECHMATCH_STORE_POLL_SECONDS": "0.5",
    }
    seed_embeddings(data_dir)
    log_path = tmp_path / "workers.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _until(lambda: _healthy(base) or process.poll() is not None, "no answer", 300)
        assert process.poll() is None, log_path.read_text(errors="replace")
        workers = _until_value(lambda: [p for p in _children(process.pid) if _is_worker(p)])
        assert len(workers) == 2, workers
        staff, twin_id, body = _staff_and_twin(data_dir)
        created = httpx.post(f"{base}/api/v1/needs", json=body, headers=staff, timeout=60)
        assert created.status_code == 201, created.text
        new_id = created.json()["id"]

        path = f"/api/v1/needs/{twin_id}/similar"

        def listed_by_ten_answers_from_both_workers() -> bool:
            round_start = log_path.stat().st_size
            for _ in range(10):  # fresh connections: the kernel spreads them over the workers
                with httpx.Client(timeout=60) as client:
                    answer = client.get(f"{base}{path}", headers=staff)
                if new_id not in [item["id"] for item in answer.json()["items"]]:
                    return False
            # The access log names the worker of each answer ("[pid]").
            since = log_path.read_bytes()[round_start:].decode(errors="replace")
            answered = {int(pid) for pid in re.findall(rf"\[(\d+)\] [^\n]*GET {path}", since)}
            return answered == set(workers)

        waited = _until(listed_by_ten_answers_from_both_workers, "not every worker lists it")
        print(f"2 workers {workers}: both list the new need, {waited:.1f} s after it was created")
    finally:
        process.terminate()
        process.wait(timeout=120)
    keep_embeddings(data_dir)
    output = log_path.read_text(errors="replace")
    assert "Traceback" not in output, output
    assert output.count("索引 needs：") >= 3  # the set-up, then each worker
    health, _ = _serve_until_healthy(data_dir, mini_demo_dir, models)
    assert health["indexes"]["needs"]["indexed"] == 21
    last = max(data_dir.parent.glob("serve-*.log"), key=lambda path: path.stat().st_mtime)
    assert "rebuilt" not in last.read_text(errors="replace")


def _is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _until_value(produce: Any, timeout: float = 120) -> Any:
    """The first value of ``produce()`` with two items (the workers), or the last one."""
    started = time.perf_counter()
    value = produce()
    while len(value) < 2 and time.perf_counter() - started < timeout:
        time.sleep(0.2)
        value = produce()
    return value
