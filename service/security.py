"""Who is calling: access tokens (OAuth2 password flow, JWT) and API keys, and role checks.

A request is authenticated by ``Authorization: Bearer <token>`` (from ``POST
/api/v1/auth/token``) or by ``X-API-Key: tm_...``. ``require_roles`` guards a route; an admin
passes every role check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer

from matching.access import record_id
from matching.accounts import verify_api_key
from matching.config import Settings
from matching.store.models import User
from matching.vocab import Role
from service.problems import Problem

__all__ = [
    "Principal",
    "PrincipalDep",
    "issue_token",
    "optional_principal",
    "principal_of",
    "require_roles",
]

ALGORITHM = "HS256"
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: int
    username: str
    role: Role
    organization_id: int | None
    expert_id: int | None
    via: str  # "token" or "api_key"

    @property
    def actor(self) -> str:
        """How the change log names this caller."""
        return f"user:{self.username}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def has(self, *roles: Role) -> bool:
        return self.is_admin or self.role in roles


def principal_of(user: User, via: str) -> Principal:
    return Principal(
        user.id, user.username, Role(user.role), user.organization_id, user.expert_id, via
    )


def issue_token(user: User, settings: Settings) -> tuple[str, int]:
    """A signed access token for ``user`` and its lifetime in seconds."""
    lifetime = settings.access_token_minutes * 60
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(user.id),
        "name": user.username,
        "role": user.role,
        "iat": now,
        "exp": now + dt.timedelta(seconds=lifetime),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), lifetime


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "未登录或登录已失效", detail, headers={"WWW-Authenticate": "Bearer"})


def optional_principal(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> Principal | None:
    """The caller, None when no credentials were sent; 401 for invalid ones."""
    settings: Settings = request.app.state.settings
    database = request.app.state.database
    if api_key:
        with database.session("api_key") as session:
            user = verify_api_key(session, api_key)
            if user is None:
                raise _unauthorized("API 密钥无效或已吊销")
            return principal_of(user, "api_key")
    if not token:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("访问令牌已过期，请重新登录") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("访问令牌无效") from None
    with database.session("token") as session:
        number = record_id(str(claims["sub"]))
        user = session.get(User, number) if number is not None else None
        if user is None or not user.active:
            raise _unauthorized("账号不存在或已停用")
        return principal_of(user, "token")


def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The caller; 401 without credentials."""
    if principal is None:
        raise _unauthorized("请先登录（Bearer 令牌）或提供 X-API-Key")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through the given roles (and admins), 403 for the others."""
    allowed = "、".join(Role.labels()[role] for role in roles) or "系统管理员"

    def check(principal: PrincipalDep) -> Principal:
        if not principal.has(*roles):
            raise Problem(403, "无权访问", f"此操作仅限：{allowed}")
        return principal

    return check
