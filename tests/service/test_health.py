"""``GET /health`` and the landing page, through the real app over HTTP (TestClient)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from matching import __version__
from matching.config import Settings
from matching.demo import load_demo
from matching.store.database import Database
from service.app import create_app


@pytest.fixture
def client(database: Database, settings: Settings) -> Iterator[TestClient]:
    load_demo(database, settings.demo_dir, settings)
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def test_health_reports_version_backend_and_demo_counts(
    client: TestClient, database: Database
) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["database"] == "sqlite"
    assert body["schema_revision"] == database.head_revision()
    assert body["counts"] == dict(database.counts())
    assert body["counts"]["needs"] >= 200


def test_home_page_is_chinese_and_shows_counts(client: TestClient, database: Database) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "科技供需对接" in response.text
    assert f'<b id="needs">{database.counts()["needs"]}</b>' in response.text


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert "/health" in client.get("/openapi.json").json()["paths"]
