"""Crash safety: ``techmatch serve`` (and an index save) SIGKILLed mid-write, then restarted.

Each test works on a copy of one mini-demo data folder set up once by a real server, kills a
real process with SIGKILL during (a) a bulk import, (b) index saves, (c) a burst of committee
form submissions, restarts the server on the same folder and checks that acknowledged writes
are there, nothing is half-applied, the store passes ``PRAGMA integrity_check`` and the index
loads and catches up. Figures: ``docs/operations.md`` ("Crash safety")."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from matching.config import Settings
from matching.encode import Encoder
from matching.importing import import_file
from matching.index import load_index, read_manifest
from matching.store.database import Database
from matching.store.models import Expert, Need, ReviewForm
from tests.conftest import REPO
from tests.factories import need_row, write_csv
from tests.matching.committee_data import SIMPLE_TEMPLATE
from tests.service.role_accounts import add_account
from tests.web.browser import free_port, keep_embeddings, seed_embeddings

pytestmark = pytest.mark.crash

API = "/api/v1"
IMPORT_ROWS = 5_000


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no index save, no SQLite close."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _env(data_dir: Path, demo_dir: Path, models_dir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "TECHMATCH_DATA_DIR": str(data_dir),
        "TECHMATCH_DEMO_DIR": str(demo_dir),
        "TECHMATCH_MODELS_DIR": str(models_dir),
        "TECHMATCH_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
    }


def _start(data_dir: Path, demo_dir: Path, models_dir: Path, timeout: float = 180) -> Server:
    """``techmatch serve`` on ``data_dir``, once it answers ``/health``."""
    port = free_port()
    log_path = data_dir.parent / f"serve-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve"],
            cwd=REPO,
            env=_env(data_dir, demo_dir, models_dir, port),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.base}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    pytest.fail("server did not answer /health in time")


@contextlib.contextmanager
def _served(data_dir: Path, demo_dir: Path, models_dir: Path) -> Iterator[Server]:
    server = _start(data_dir, demo_dir, models_dir)
    try:
        yield server
    finally:
        server.stop()


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, load_demo=False)


@contextlib.contextmanager
def _database(data_dir: Path) -> Iterator[Database]:
    database = Database(_settings(data_dir).resolved_database_url)
    try:
        yield database
    finally:
        database.dispose()


def _integrity(data_dir: Path) -> str:
    with contextlib.closing(sqlite3.connect(data_dir / "techmatch.db")) as connection:
        row = connection.execute("PRAGMA integrity_check").fetchone()
    return str(row[0])


def _health(server: Server) -> dict[str, Any]:
    answer = httpx.get(f"{server.base}/health", timeout=10)
    assert answer.status_code == 200, answer.text
    health: dict[str, Any] = answer.json()
    return health


@pytest.fixture(scope="module")
def base_dir(
    tmp_path_factory: pytest.TempPathFactory,
    mini_demo_dir: Path,
    encoder_settings: Settings,
    encoder: Encoder,
) -> Path:
    """A data folder a real server has set up (mini demo, indexes saved), stopped cleanly."""
    data_dir = tmp_path_factory.mktemp("crash-base") / "var"
    seed_embeddings(data_dir)
    with _served(data_dir, mini_demo_dir, encoder_settings.resolved_models_dir):
        pass
    keep_embeddings(data_dir)
    return data_dir


@pytest.fixture
def data_dir(base_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "var"
    shutil.copytree(base_dir, target)
    return target


def _wal_state(data_dir: Path) -> tuple[int, int]:
    wal = data_dir / "techmatch.db-wal"
    try:
        stat = wal.stat()
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_size, stat.st_mtime_ns)


def test_bulk_import_killed_midway_is_all_or_nothing(
    data_dir: Path, tmp_path: Path, mini_demo_dir: Path, encoder_settings: Settings
) -> None:
    models = encoder_settings.resolved_models_dir
    with _database(data_dir) as database:
        staff = add_account(database, _settings(data_dir), "staff", "staff1")
    # Drafts: not indexed, so a committed import costs no embedding at restart.
    rows = [need_row(number, **{"状态": "草稿"}) for number in range(1, IMPORT_ROWS + 1)]
    upload = write_csv(tmp_path / "needs.csv", rows).read_bytes()
    server = _start(data_dir, mini_demo_dir, models)
    answers: list[int] = []

    def post() -> None:
        files = {"file": ("需求征集表.csv", upload, "text/csv")}
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.post(
                f"{server.base}{API}/imports/needs", headers=staff, files=files, timeout=300
            )
            answers.append(answer.status_code)

    before = _wal_state(data_dir)
    sender = threading.Thread(target=post)
    started = time.perf_counter()
    sender.start()
    # Kill as soon as the import starts writing to the store (the WAL changes), or after 30 s.
    while _wal_state(data_dir) == before and time.perf_counter() - started < 30 and not answers:
        time.sleep(0.005)
    killed_after = time.perf_counter() - started
    server.kill()
    sender.join(timeout=30)
    print(f"import of {IMPORT_ROWS} rows killed after {killed_after:.2f} s, answers {answers}")
    assert _integrity(data_dir) == "ok"

    with _served(data_dir, mini_demo_dir, models) as again:
        counts = _health(again)["counts"]
    with _database(data_dir) as database, database.session() as session:
        imported = session.scalar(
            select(func.count()).select_from(Need).where(Need.external_ref.like("T-%"))
        )
    print(f"after restart: {imported} of {IMPORT_ROWS} imported rows in the store")
    assert imported in (0, IMPORT_ROWS)
    if answers and answers[0] == 200:
        assert imported == IMPORT_ROWS  # acknowledged: must be there
    assert counts["needs"] == 20 + imported
    assert _integrity(data_dir) == "ok"


SAVER = """
import sys
from matching.config import Settings
from matching.corpus_index import CorpusIndex
from matching.encode import load_encoder
from matching.store.database import Database

settings = Settings()
database = Database(settings.resolved_database_url)
corpus = CorpusIndex("needs", load_encoder(settings), settings)
print("opening", corpus.open(database).action, flush=True)
need = int(sys.argv[1])
vector = corpus.encoder.encode_passages([corpus.texts[need]])
saves = 0
while True:
    # Alternate two versions of one vector, so that every save writes a different file.
    corpus.vectors.upsert([need], vector if saves % 2 else vector * 0.999)
    corpus.save(database)
    saves += 1
    print("saved", saves, flush=True)
"""


def test_index_save_killed_midway_loads_and_catches_up(
    data_dir: Path, tmp_path: Path, mini_demo_dir: Path, encoder_settings: Settings
) -> None:
    models = encoder_settings.resolved_models_dir
    settings = _settings(data_dir)
    with _database(data_dir) as database:
        staff = add_account(database, settings, "staff", "staff1")
        with database.session() as session:
            first = session.scalars(select(Need).order_by(Need.id).limit(1)).one()
            twin_of, title, description = first.id, first.title, first.description
        # A need written while the saved index does not hold it: its twin's text, so that the
        # twin's similar needs must list it once the index has caught up.
        twin = need_row(9001, **{"需求名称": title, "需求描述": description})
        report = import_file(database, "needs", write_csv(tmp_path / "twin.csv", [twin]))
        assert report.created == 1
        with database.session() as session:
            new_id = session.scalars(select(Need.id).where(Need.external_ref == "T-9001")).one()
    folder = data_dir / "indexes" / "needs"
    env = _env(data_dir, mini_demo_dir, models, free_port())
    for delay in (0.0, 0.3):
        with open(tmp_path / "saver.log", "wb") as log:
            saver = subprocess.Popen(
                [sys.executable, "-c", SAVER, str(new_id)],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        assert saver.stdout is not None
        opening = saver.stdout.readline().decode()
        assert opening.startswith("opening"), (tmp_path / "saver.log").read_text()
        time.sleep(delay)
        saver.send_signal(signal.SIGKILL)
        saver.wait(timeout=30)
        saves = saver.stdout.read().decode().count("saved")
        saver.stdout.close()
        manifest = read_manifest(folder)
        vectors, _ = load_index(folder, manifest.model_id, manifest.dimension, settings)
        print(f"save loop killed after {delay} s ({saves} saves done): {opening.strip()}")
        assert new_id in set(vectors.ids().tolist())

    with _served(data_dir, mini_demo_dir, models) as server:
        indexes = _health(server)["indexes"]
        similar = httpx.get(
            f"{server.base}{API}/needs/{twin_of}/similar", headers=staff, timeout=60
        )
    assert similar.status_code == 200, similar.text
    assert new_id in [item["id"] for item in similar.json()["items"]]
    assert indexes["needs"]["indexed"] == 21
    output = server.output()
    assert "Traceback" not in output
    # The engine's open() reports what it did for each corpus, and never failed.
    assert re.search(r"索引 needs：(loaded|caught up|rebuilt)（", output), output


def test_form_submissions_acknowledged_before_a_kill_are_stored_and_locked(
    data_dir: Path, mini_demo_dir: Path, encoder_settings: Settings
) -> None:
    models = encoder_settings.resolved_models_dir
    settings = _settings(data_dir)
    with _database(data_dir) as database:
        staff = add_account(database, settings, "staff", "staff1")
        with database.session() as session:
            experts = [(e.id, e.external_ref) for e in session.scalars(select(Expert))]
            needs = list(session.scalars(select(Need.external_ref).order_by(Need.id)))
        accounts = {
            expert_id: add_account(
                database, settings, "expert", f"expert{expert_id}", None, expert_id
            )
            for expert_id, _ref in experts
        }
    server = _start(data_dir, mini_demo_dir, models)
    try:
        with httpx.Client(base_url=server.base, timeout=120) as client:
            body = {
                "name": "崩溃测试批次",
                "template": SIMPLE_TEMPLATE,
                "reviewers_per_item": 3,
                "max_load": 10,
            }
            created = client.post(f"{API}/rounds", json=body, headers=staff)
            assert created.status_code == 201, created.text
            round_id = created.json()["id"]
            for path, payload in (
                ("items", {"needs": needs}),
                ("experts", {"experts": [ref for _id, ref in experts]}),
            ):
                answer = client.post(f"{API}/rounds/{round_id}/{path}", json=payload, headers=staff)
                assert answer.status_code == 200, answer.text
            report = client.post(f"{API}/rounds/{round_id}/assign", headers=staff)
            assert report.status_code == 200, report.text
        pairs = [
            (panel["item_id"], member["expert_id"])
            for panel in report.json()["panels"]
            for member in panel["members"]
        ]
    except BaseException:
        server.stop()
        raise
    acknowledged: list[tuple[int, int]] = []
    lock = threading.Lock()

    def submit(pair: tuple[int, int]) -> None:
        item_id, expert_id = pair
        path = f"{server.base}{API}/rounds/{round_id}/items/{item_id}/form/submit"
        answers = {"scores": {"q": 7.5}, "declared_no_conflict": True}
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.post(path, json=answers, headers=accounts[expert_id], timeout=60)
            if 200 <= answer.status_code < 300:
                with lock:
                    acknowledged.append(pair)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(submit, pair) for pair in pairs]
        started = time.perf_counter()
        while len(acknowledged) < len(pairs) // 3 and time.perf_counter() - started < 60:
            time.sleep(0.002)
        server.kill()
        with lock:
            at_kill = len(acknowledged)
        for future in futures:
            future.result()
    print(
        f"{len(pairs)} submissions sent, {at_kill} acknowledged at the kill, "
        f"{len(acknowledged)} acknowledged in all"
    )
    assert 0 < len(acknowledged) < len(pairs)
    assert _integrity(data_dir) == "ok"

    with _served(data_dir, mini_demo_dir, models) as again:
        with _database(data_dir) as database, database.session() as session:
            stored = {
                (form.item_id, form.expert_id): form.status
                for form in session.scalars(
                    select(ReviewForm).where(ReviewForm.round_id == round_id)
                )
            }
        for item_id, expert_id in acknowledged:
            assert stored.get((item_id, expert_id)) == "submitted"
            form = f"{again.base}{API}/rounds/{round_id}/items/{item_id}/form"
            change = {"scores": {"q": 1}, "declared_no_conflict": True}
            locked = httpx.put(form, json=change, headers=accounts[expert_id], timeout=60)
            assert locked.status_code == 409, locked.text
    submitted = sum(status == "submitted" for status in stored.values())
    print(f"after restart: {submitted} forms submitted and locked")
    assert submitted >= len(acknowledged)
