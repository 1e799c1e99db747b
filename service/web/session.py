"""Who is using the pages, and protection of their forms.

- The session is a cookie (``techmatch_session``) holding the same signed access token the API
  issues (``service.security.issue_token``), HttpOnly, SameSite=Lax, Secure in production. It
  is read with the API's own token check, so accounts, roles and deactivation are the API's.
- CSRF: a random seed in a second cookie (``techmatch_csrf``, HttpOnly) and a token derived
  from it and the session by HMAC with the secret key (a signed double-submit token bound to
  the session). Every page's forms carry it as the field ``csrf_token``; HTMX requests send it
  in the header ``X-CSRF-Token`` (``hx-headers`` on ``<body>``). A POST without the right token
  is refused with 403. Logging in rotates both cookies.

Dependencies for routes: ``PageUser`` (logged in, else redirect to the login page),
``page_roles(...)`` (403 page for other roles), ``CsrfChecked`` (for urlencoded POST forms;
multipart forms call ``verify_csrf`` with the field they read).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response

from matching.config import Settings
from matching.store.models import User
from matching.vocab import Role
from service.problems import Problem
from service.security import Principal, issue_token, optional_principal

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "CsrfChecked",
    "LoginRequired",
    "PageUser",
    "csrf_token",
    "end_session",
    "login_url",
    "page_roles",
    "safe_next",
    "session_user",
    "set_csrf_cookie",
    "start_session",
    "verify_csrf",
]

SESSION_COOKIE = "techmatch_session"
CSRF_COOKIE = "techmatch_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_CSRF_SEED_DAYS = 30


class LoginRequired(Exception):
    """The page needs a logged-in user; the web routes answer with the login page's address."""

    def __init__(self, clear_cookie: bool = False) -> None:
        super().__init__("login required")
        self.clear_cookie = clear_cookie


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _secure(request: Request) -> bool:
    return _settings(request).environment == "production"


def safe_next(target: str | None) -> str:
    """A local path to return to after logging in ("/" for anything else, so the login page
    cannot send anyone to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_url(request: Request) -> str:
    """The login page, coming back to the current page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(safe_next(here), safe="/")


# --- CSRF ---------------------------------------------------------------------------------


def _csrf_seed(request: Request) -> str:
    """The browser's CSRF seed; a new one (set on the response by the web routes) if none."""
    seed = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_seed", None)
    if not seed:
        seed = secrets.token_urlsafe(24)
        request.state.new_csrf_seed = seed
    return str(seed)


def csrf_token(request: Request) -> str:
    """The token this browser's forms must send back (bound to its seed and its session)."""
    session = getattr(request.state, "session_token", None)
    if session is None:
        session = request.cookies.get(SESSION_COOKIE, "")
    message = f"{_csrf_seed(request)}|{session}".encode()
    key = _settings(request).secret_key.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify_csrf(request: Request, submitted: str | None) -> None:
    """403 unless ``submitted`` (or the ``X-CSRF-Token`` header) is this browser's token."""
    sent = request.headers.get(CSRF_HEADER) or submitted or ""
    if not request.cookies.get(CSRF_COOKIE) or not hmac.compare_digest(
        sent.encode(), csrf_token(request).encode()
    ):
        raise Problem(403, "请求校验失败", "页面已过期或来源不明，请刷新页面后重试")


async def _check_csrf(request: Request) -> None:
    submitted = None
    if CSRF_HEADER not in request.headers:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    verify_csrf(request, submitted)


CsrfChecked = Depends(_check_csrf)


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Send the seed made while rendering this response (if one was made)."""
    seed = getattr(request.state, "new_csrf_seed", None)
    if seed:
        response.set_cookie(
            CSRF_COOKIE,
            seed,
            max_age=_CSRF_SEED_DAYS * 86400,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )


# --- the session --------------------------------------------------------------------------


def start_session(request: Request, response: Response, user: User) -> None:
    """Log ``user`` in on ``response``: a fresh session cookie and a fresh CSRF seed (which
    ``WebRoute`` sets as a cookie on the way out)."""
    token, lifetime = issue_token(user, _settings(request))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=lifetime,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    request.state.session_token = token
    request.state.new_csrf_seed = secrets.token_urlsafe(24)  # set by the web route


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=_secure(request))


def _page_user(request: Request) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired()
    try:
        principal = optional_principal(request, token, None)
    except Problem:
        raise LoginRequired(clear_cookie=True) from None
    if principal is None:
        raise LoginRequired()
    request.state.principal = principal
    return principal


def session_user(request: Request) -> Principal | None:
    """The logged-in user, None without a valid session (for pages open to everyone)."""
    try:
        return _page_user(request)
    except LoginRequired:
        return None


PageUser = Annotated[Principal, Depends(_page_user)]


def page_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency letting through logged-in users of ``roles`` (and admins); a 403 page for
    the others."""
    allowed = "、".join(Role.labels()[role] for role in roles) or "系统管理员"

    def check(principal: PageUser) -> Principal:
        if not principal.has(*roles):
            raise Problem(403, "无权访问", f"此页面仅限：{allowed}")
        return principal

    return check
