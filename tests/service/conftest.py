"""Fixtures for going through the real app over HTTP: an app on a fresh store, accounts of
every role, and their auth headers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from matching.accounts import create_user
from matching.config import Settings
from matching.store.database import Database
from matching.store.models import Expert, Organization
from matching.vocab import Role
from service.app import create_app

PASSWORD = "test-password-1"

UserFactory = Callable[..., dict[str, str]]


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """The app on a fresh migrated store, without a matching engine."""
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def login_headers(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """``Authorization`` header for a user, through the real login endpoint."""
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def make_user(client: TestClient, database: Database) -> UserFactory:
    """Create an account of a role (with an organization or expert record where the role needs
    one) and return its auth headers. ``organization``/``expert``: an existing id to use."""
    counter = iter(range(1, 10_000))

    def factory(
        role: Role | str,
        organization: int | None = None,
        expert: int | None = None,
        username: str | None = None,
    ) -> dict[str, str]:
        role = Role(role)
        number = next(counter)
        name = username or f"{role.value}{number}"
        with database.session("test") as session:
            if role in (Role.ENTERPRISE, Role.UNIVERSITY) and organization is None:
                kind = "enterprise" if role == Role.ENTERPRISE else "university"
                body = Organization(name=f"测试单位{name}", kind=kind)
                session.add(body)
                session.flush()
                organization = body.id
            if role == Role.EXPERT and expert is None:
                person = Expert(external_ref=f"ZJ-T{number:04d}", name=f"专家{number}")
                session.add(person)
                session.flush()
                expert = person.id
            create_user(session, name, PASSWORD, role, organization=organization, expert=expert)
        return login_headers(client, name)

    return factory
