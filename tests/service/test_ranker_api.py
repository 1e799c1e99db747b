"""The ranking model over HTTP: admin only, clear problems, rollback, through the real app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from matching.config import Settings
from matching.demo import load_demo
from matching.encode import Encoder
from matching.engine import MatchingEngine
from matching.ranker import MatchRanker
from matching.ranking_features import FEATURE_NAMES
from matching.store.database import Database
from service.app import create_app
from tests.service.role_accounts import add_account


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, encoder: Encoder, mini_demo_dir: Path
) -> Iterator[tuple[TestClient, MatchingEngine, dict[str, dict[str, str]]]]:
    folder = tmp_path_factory.mktemp("ranker-api")
    settings = Settings(data_dir=folder, load_demo=False, demo_dir=mini_demo_dir)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    load_demo(database, mini_demo_dir, settings)
    engine = MatchingEngine(database, settings, encoder)
    engine.open()
    headers = {
        role: add_account(database, settings, role, f"{role}-ranker")
        for role in ("admin", "staff", "organiser", "expert")
    }
    with TestClient(create_app(settings, database, engine)) as client:
        yield client, engine, headers
    database.dispose()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/ranker"),
        ("post", "/api/v1/ranker/train"),
        ("post", "/api/v1/ranker/rollback"),
    ],
)
def test_only_admins_reach_the_ranker(
    served: tuple[TestClient, MatchingEngine, dict[str, dict[str, str]]], method: str, path: str
) -> None:
    client, _, headers = served
    assert client.request(method, path).status_code == 401
    for role in ("staff", "organiser", "expert"):
        answer = client.request(method, path, headers=headers[role], json={})
        assert answer.status_code == 403 and answer.json()["status"] == 403


def test_cold_start_status_and_nothing_to_roll_back(
    served: tuple[TestClient, MatchingEngine, dict[str, dict[str, str]]],
) -> None:
    client, _, headers = served
    status = client.get("/api/v1/ranker", headers=headers["admin"]).json()
    assert status["active"] is None and status["versions"] == []
    refused = client.post("/api/v1/ranker/rollback", headers=headers["admin"])
    assert refused.status_code == 409 and "无可回滚" in refused.json()["detail"]


def test_training_without_feedback_or_with_a_missing_folder_is_a_clear_422(
    served: tuple[TestClient, MatchingEngine, dict[str, dict[str, str]]],
) -> None:
    client, _, headers = served
    empty = client.post("/api/v1/ranker/train", headers=headers["admin"], json={})
    assert empty.status_code == 422 and "训练数据不足" in empty.json()["detail"]
    missing = client.post(
        "/api/v1/ranker/train",
        headers=headers["admin"],
        json={"from_feedback": False, "from_qrels": ["/no/such/beir"]},
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "from_qrels.0"
    wrong = client.post("/api/v1/ranker/train", headers=headers["admin"], json={"from_qrels": 3})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "from_qrels"


def test_rollback_switches_the_served_lists_back_to_fusion(
    served: tuple[TestClient, MatchingEngine, dict[str, dict[str, str]]],
) -> None:
    client, engine, headers = served
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, len(FEATURE_NAMES)))
    labels = (features[:, 0] > 0).astype(np.int64)
    engine.rankers.save(MatchRanker(max_iter=5).fit(features, labels), {}, activate=True)
    engine.reload_ranker()
    status = client.get("/api/v1/ranker", headers=headers["admin"]).json()
    assert status["active"] == "v0001" and status["versions"][0]["active"] is True
    assert engine.need_to_results(1, top=3).ranker_version == "v0001"
    rolled = client.post("/api/v1/ranker/rollback", headers=headers["admin"])
    assert rolled.status_code == 200 and rolled.json()["active"] is None
    assert engine.need_to_results(1, top=3).ranker_version is None


def test_without_an_engine_the_ranker_answers_503(settings: Settings, database: Database) -> None:
    headers = add_account(database, settings, "admin", "root-no-engine")
    with TestClient(create_app(settings, database)) as client:
        answer = client.get("/api/v1/ranker", headers=headers)
    assert answer.status_code == 503 and answer.json()["title"] == "匹配引擎未就绪"
