"""Logging in and out of the pages, the session cookie's flags, CSRF, and where a visitor
without a session is sent."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from matching.config import Settings
from matching.store.database import Database
from service.app import create_app
from service.web.session import CSRF_COOKIE, SESSION_COOKIE
from tests.web.conftest import Site, csrf_of, log_in

PAGES = ["/needs", "/results", "/needs/XQ-A-001", "/import", "/dashboard", "/ranker"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_visitor_without_session_to_login(site: Site, path: str) -> None:
    response = site.new_client().get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_htmx_request_without_session_is_told_to_go_to_login(site: Site) -> None:
    client = site.new_client()
    headers = {"HX-Request": "true", "HX-Current-URL": "http://testserver/needs/XQ-A-001"}
    response = client.get("/jobs/x/progress", headers=headers)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/needs/XQ-A-001"


def test_home_shows_counts_to_visitors_and_sends_users_to_their_start_page(site: Site) -> None:
    visitor = site.new_client().get("/")
    assert visitor.status_code == 200 and "科技供需对接" in visitor.text and "登录" in visitor.text
    staff = site.clients["staff"].get("/", follow_redirects=False)
    assert staff.headers["location"] == "/needs"
    organiser = site.clients["organiser"].get("/", follow_redirects=False)
    assert organiser.headers["location"] == "/dashboard"


def test_login_sets_httponly_lax_cookies_and_returns_to_the_page(site: Site) -> None:
    client = site.new_client()
    page = client.get("/login?next=/results")
    assert page.status_code == 200 and "用户名" in page.text and "密码" in page.text
    form = {
        "username": "staff",
        "password": "test-password-1",
        "csrf_token": csrf_of(page.text),
        "next": "/results",
    }
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/results"
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        assert "httponly" in cookies[name] and "samesite=lax" in cookies[name]
        assert "secure" not in cookies[name]  # development
    assert "staff（转移中心工作人员）" in client.get("/results").text


def test_wrong_password_shows_the_form_again(site: Site) -> None:
    client = site.new_client()
    page = client.get("/login")
    form = {"username": "staff", "password": "wrong", "csrf_token": csrf_of(page.text)}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_login_returns_only_to_local_pages(site: Site) -> None:
    client = site.new_client()
    page = client.get("/login")
    form = {
        "username": "staff",
        "password": "test-password-1",
        "csrf_token": csrf_of(page.text),
        "next": "//evil.example/",
    }
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_logout_ends_the_session(site: Site) -> None:
    client = log_in(site.new_client(), "expert")
    page = client.get("/needs")
    response = client.post(
        "/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/needs", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/login", {"username": "staff", "password": "test-password-1"}),
        ("/logout", {}),
        ("/feedback", {"need": "1", "result": "1", "action": "opened"}),
        ("/import/confirm", {"token": "x"}),
        ("/ranker/train", {}),
    ],
)
def test_a_post_without_the_csrf_token_is_refused(
    site: Site, path: str, data: dict[str, str]
) -> None:
    client = site.clients["admin"]
    response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "请求校验失败" in response.text
    forged = client.post(path, data={**data, "csrf_token": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403


def test_a_token_from_another_browser_is_refused(site: Site) -> None:
    other_token = csrf_of(site.clients["staff"].get("/needs").text)
    response = site.clients["organiser"].post(
        "/logout", data={"csrf_token": other_token}, follow_redirects=False
    )
    assert response.status_code == 403


def test_htmx_posts_carry_the_token_in_a_header(site: Site) -> None:
    client = site.clients["staff"]
    page = client.get("/needs")
    assert f'"X-CSRF-Token": "{csrf_of(page.text)}"' in page.text  # hx-headers on <body>
    need, result = site.ids()
    headers = {"HX-Request": "true"}
    data = {"need": str(need), "result": str(result), "action": "opened"}
    refused = client.post("/feedback", data=data, headers=headers)
    assert refused.status_code == 403 and refused.headers["HX-Retarget"] == "#flash"
    headers["X-CSRF-Token"] = csrf_of(page.text)
    assert client.post("/feedback", data=data, headers=headers).status_code == 200


def test_session_cookie_is_secure_in_production(settings: Settings, database: Database) -> None:
    production = settings.model_copy(update={"environment": "production", "secret_key": "p" * 40})
    from tests.service.role_accounts import add_account

    add_account(database, production, "staff", "prod-staff")
    with TestClient(create_app(production, database), base_url="https://testserver") as client:
        response = client.post(
            "/login",
            data={
                "username": "prod-staff",
                "password": "test-password-1",
                "csrf_token": csrf_of(client.get("/login").text),
            },
            follow_redirects=False,
        )
    assert response.status_code == 303
    for cookie in response.headers.get_list("set-cookie"):
        assert "secure" in cookie.lower() and "httponly" in cookie.lower()
