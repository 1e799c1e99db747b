"""Logging in and out of the pages (the API's accounts; the API's failed-login limit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from matching.accounts import authenticate
from matching.vocab import Role
from service.deps import DatabaseDep, SettingsDep
from service.routes.auth import LoginLimiter
from service.security import Principal
from service.web.routing import WebRoute
from service.web.session import CsrfChecked, PageUser, end_session, safe_next, start_session
from service.web.templating import render

__all__ = ["router", "start_page"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# Where each role lands after logging in.
_START = {
    Role.ADMIN: "/needs",
    Role.STAFF: "/needs",
    Role.ORGANISER: "/dashboard",
    Role.EXPERT: "/needs",
    Role.ENTERPRISE: "/needs",
    Role.UNIVERSITY: "/results",
}


def start_page(principal: Principal) -> str:
    return _START.get(principal.role, "/needs")


def _form(request: Request, next_page: str, error: str = "", status: int = 200) -> Response:
    context = {"next": safe_next(next_page), "error": error}
    return render(request, "login.html", context, status)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return _form(request, next)


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    limiter: LoginLimiter = request.app.state.login_limiter
    key = (username.lower(), request.client.host if request.client else "")
    wait = limiter.retry_after(key, settings.login_max_attempts, settings.login_window_seconds)
    if wait:
        return _form(request, next, f"登录失败次数过多，请 {wait} 秒后再试", 429)
    with database.session(f"login:{username}") as session:
        user = authenticate(session, username, password) if username and password else None
        if user is None:
            limiter.failed(key)
            return _form(request, next, "用户名或密码错误，或账号已停用", 401)
        limiter.succeeded(key)
        target = safe_next(next)
        response = RedirectResponse(target, status_code=303)
        start_session(request, response, user)
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, principal: PageUser) -> Response:
    response = RedirectResponse("/login", status_code=303)
    end_session(request, response)
    return response
