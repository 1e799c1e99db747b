"""Page tests: the real app (pages and API) on a store with the mini demo slice, a stand-in
matching engine, and one logged-in browser-like client per role (cookies kept per client)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from matching.config import Settings
from matching.demo import load_demo
from matching.store.database import Database
from matching.store.models import Need, Result
from service.app import create_app
from tests.service.conftest import PASSWORD
from tests.service.role_accounts import add_account
from tests.web.stub_engine import StubEngine

OWN_NEED = "XQ-A-001"  # the enterprise user's need
OWN_RESULT = "CG-A-001"  # the university user's result
OTHER_NEED = "XQ-A-012"  # another enterprise's need
ROLES = ("admin", "staff", "organiser", "expert", "enterprise", "university")
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    form = {"username": username, "password": password, "csrf_token": csrf_of(page.text)}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


@dataclass
class Site:
    app: FastAPI
    database: Database
    engine: StubEngine
    settings: Settings
    clients: dict[str, TestClient]
    new_client: Callable[[], TestClient]

    def ids(self, need: str = OWN_NEED, result: str = OWN_RESULT) -> tuple[int, int]:
        with self.database.session("test") as session:
            need_id = session.scalar(select(Need.id).where(Need.external_ref == need))
            result_id = session.scalar(select(Result.id).where(Result.external_ref == result))
            assert need_id and result_id
            return need_id, result_id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mini_demo_dir: Path) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("web")
    settings = Settings(data_dir=folder / "var", load_demo=False, demo_dir=mini_demo_dir)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    load_demo(database, mini_demo_dir, settings)
    with database.session("test") as session:
        need = session.scalar(select(Need).where(Need.external_ref == OWN_NEED))
        result = session.scalar(select(Result).where(Result.external_ref == OWN_RESULT))
        assert need is not None and result is not None
        owners = {"enterprise": need.enterprise_id, "university": result.institution_id}
    for role in ROLES:
        add_account(database, settings, role, role, organization_id=owners.get(role))
    engine = StubEngine(database)
    app = create_app(settings, database, engine)  # type: ignore[arg-type]
    made: list[TestClient] = []

    def new_client() -> TestClient:
        client = TestClient(app)
        made.append(client)
        return client

    clients = {role: log_in(new_client(), role) for role in ROLES}
    yield Site(app, database, engine, settings, clients, new_client)
    for client in made:
        client.close()
    app.state.jobs.shutdown()
    database.dispose()
