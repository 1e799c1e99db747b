"""Logging in (OAuth2 password flow) and who am I."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from matching.accounts import authenticate
from matching.vocab import Role
from service.deps import DatabaseDep, SettingsDep
from service.problems import Problem
from service.security import PrincipalDep, issue_token

__all__ = ["LoginLimiter", "router"]

router = APIRouter(prefix="/api/v1/auth", tags=["账号"])


class LoginLimiter:
    """Failed logins per (user name, client address) in a sliding window."""

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], window: float) -> deque[float]:
        now = time.monotonic()
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > window:
            failures.popleft()
        return failures

    def retry_after(self, key: tuple[str, str], limit: int, window: float) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        with self._lock:
            failures = self._recent(key, window)
            if len(failures) < limit:
                return 0
            return max(1, int(window - (time.monotonic() - failures[0])) + 1)

    def failed(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.setdefault(key, deque()).append(time.monotonic())

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


class Me(BaseModel):
    id: int
    username: str
    role: str
    role_label: str
    organization_id: int | None
    expert_id: int | None
    via: str


def _limiter(request: Request) -> LoginLimiter:
    limiter: LoginLimiter = request.app.state.login_limiter
    return limiter


@router.post("/token", summary="登录，换取访问令牌", response_model=Token)
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    database: DatabaseDep,
    settings: SettingsDep,
) -> Any:
    limiter = _limiter(request)
    key = (form.username.lower(), request.client.host if request.client else "")
    wait = limiter.retry_after(key, settings.login_max_attempts, settings.login_window_seconds)
    if wait:
        raise Problem(
            429,
            detail=f"登录失败次数过多，请 {wait} 秒后再试",
            headers={"Retry-After": str(wait)},
        )
    with database.session(f"login:{form.username}") as session:
        user = authenticate(session, form.username, form.password)
        if user is None:
            limiter.failed(key)
            raise Problem(401, "登录失败", "用户名或密码错误，或账号已停用")
        limiter.succeeded(key)
        token, lifetime = issue_token(user, settings)
        return Token(access_token=token, expires_in=lifetime, role=user.role)


@router.get("/me", summary="当前登录的账号", response_model=Me)
def me(principal: PrincipalDep) -> Any:
    return Me(
        id=principal.user_id,
        username=principal.username,
        role=principal.role.value,
        role_label=Role.labels()[principal.role.value],
        organization_id=principal.organization_id,
        expert_id=principal.expert_id,
        via=principal.via,
    )
