"""Accounts of every role for API tests, without paying for argon2 on each one: the password
hash is computed once per run and tokens are issued as the login endpoint issues them (the
login itself is tested in ``test_auth.py``). Requests still go through the real token check."""

from __future__ import annotations

from functools import cache

from matching.accounts import hash_secret
from matching.config import Settings
from matching.store.database import Database
from matching.store.models import User
from matching.vocab import Role
from service.security import issue_token
from tests.service.conftest import PASSWORD

Headers = dict[str, str]


@cache
def _password_hash() -> str:
    return hash_secret(PASSWORD)


def add_account(
    database: Database,
    settings: Settings,
    role: Role | str,
    username: str,
    organization_id: int | None = None,
    expert_id: int | None = None,
) -> Headers:
    """A new active account and its ``Authorization`` header."""
    with database.session("test") as session:
        user = User(
            username=username,
            display_name=username,
            role=Role(role).value,
            organization_id=organization_id,
            expert_id=expert_id,
            password_hash=_password_hash(),
        )
        session.add(user)
        session.flush()
        token, _ = issue_token(user, settings)
    return {"Authorization": f"Bearer {token}"}
