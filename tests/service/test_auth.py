"""Login, tokens, API keys and role checks, through the real app."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from fastapi.testclient import TestClient

from matching.accounts import AccountError, create_api_key, create_user, revoke_api_key
from matching.config import DEVELOPMENT_SECRET, Settings
from matching.store.database import Database
from matching.store.models import ApiKey, ChangeRecord, User
from service.app import create_app
from tests.service.conftest import PASSWORD, UserFactory, login_headers


def test_login_and_me(client: TestClient, make_user: UserFactory) -> None:
    headers = make_user("staff", username="wang")
    body = client.get("/api/v1/auth/me", headers=headers).json()
    assert body["username"] == "wang" and body["role"] == "staff" and body["via"] == "token"
    assert body["role_label"] == "转移中心工作人员"


def test_wrong_password_and_missing_credentials(client: TestClient, make_user: UserFactory) -> None:
    make_user("staff", username="liu")
    wrong = client.post("/api/v1/auth/token", data={"username": "liu", "password": "nope-nope-1"})
    assert wrong.status_code == 401 and wrong.headers["content-type"] == "application/problem+json"
    unknown = client.post("/api/v1/auth/token", data={"username": "who", "password": PASSWORD})
    assert unknown.status_code == 401
    assert client.get("/api/v1/auth/me").status_code == 401
    forged = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401 and forged.json()["detail"] == "访问令牌无效"


def test_expired_and_foreign_tokens_are_refused(
    client: TestClient, make_user: UserFactory, settings: Settings
) -> None:
    make_user("staff", username="zhao")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    expired = jwt.encode({"sub": "1", "exp": past}, settings.secret_key, algorithm="HS256")
    answer = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert answer.status_code == 401 and "过期" in answer.json()["detail"]
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    foreign = jwt.encode({"sub": "1", "exp": future}, "another-key" * 4, algorithm="HS256")
    answer = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {foreign}"})
    assert answer.status_code == 401


def test_login_is_rate_limited(client: TestClient, make_user: UserFactory) -> None:
    make_user("staff", username="sun")
    for _ in range(5):
        bad = client.post("/api/v1/auth/token", data={"username": "sun", "password": "x" * 12})
        assert bad.status_code == 401
    blocked = client.post("/api/v1/auth/token", data={"username": "sun", "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in blocked.json()["detail"]


def test_api_key_round_trip_and_revocation(client: TestClient, database: Database) -> None:
    with database.session("test") as session:
        create_user(session, "robot", PASSWORD, "staff")
        new = create_api_key(session, "robot", "夜间同步")
    me = client.get("/api/v1/auth/me", headers={"X-API-Key": new.key})
    assert me.status_code == 200 and me.json()["via"] == "api_key"
    with database.session("test") as session:
        stored = session.query(ApiKey).one()
        assert new.key not in stored.key_hash and stored.key_hash.startswith("$argon2")
        revoke_api_key(session, new.prefix)
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": new.key}).status_code == 401
    garbage = client.get("/api/v1/auth/me", headers={"X-API-Key": "tm_zz_not-a-key"})
    assert garbage.status_code == 401


def test_passwords_are_hashed_and_never_logged(database: Database) -> None:
    with database.session("test") as session:
        create_user(session, "qian", PASSWORD, "staff")
    with database.session("test") as session:
        user = session.query(User).one()
        assert user.password_hash.startswith("$argon2") and PASSWORD not in user.password_hash
        logged = [r.changes for r in session.query(ChangeRecord).filter_by(entity_type="user")]
    assert logged and all(PASSWORD not in str(c) for c in logged)
    assert all("$argon2" not in str(c) for c in logged)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "a", "password": PASSWORD, "role": "staff"}, "用户名"),
        ({"username": "abc", "password": "short1", "role": "staff"}, "至少"),
        ({"username": "abc", "password": "onlyletterss", "role": "staff"}, "字母和数字"),
        ({"username": "abc", "password": PASSWORD, "role": "boss"}, "角色"),
        ({"username": "abc", "password": PASSWORD, "role": "enterprise"}, "所属单位"),
        ({"username": "abc", "password": PASSWORD, "role": "expert"}, "专家"),
    ],
)
def test_create_user_rejects_bad_input(
    database: Database, kwargs: dict[str, str], message: str
) -> None:
    with database.session("test") as session, pytest.raises(AccountError, match=message):
        create_user(session, **kwargs)  # type: ignore[arg-type]


def test_default_secret_is_refused_outside_development(tmp_path: object) -> None:
    production = Settings(environment="production", load_demo=False)
    with pytest.raises(ValueError, match="TECHMATCH_SECRET_KEY"):
        create_app(production)
    short = Settings(environment="production", secret_key="short", load_demo=False)
    with pytest.raises(ValueError, match="TECHMATCH_SECRET_KEY"):
        create_app(short)
    assert Settings().secret_key == DEVELOPMENT_SECRET


def test_login_headers_helper_uses_the_real_endpoint(
    client: TestClient, make_user: UserFactory
) -> None:
    make_user("admin", username="root1")
    assert login_headers(client, "root1")["Authorization"].startswith("Bearer ")
