"""Accounts and API keys: creating users, checking passwords and keys.

Passwords and keys are stored only as argon2 hashes (pwdlib). An API key is shown once, as
``tm_<prefix>_<secret>``; the prefix finds the row, the hash of the whole key checks it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.access import find_record, record_id
from matching.errors import NotFound, TechMatchError
from matching.store.models import ApiKey, Expert, Organization, User, utc_now
from matching.vocab import Role, parse_value

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "AccountError",
    "NewApiKey",
    "authenticate",
    "create_api_key",
    "create_user",
    "hash_secret",
    "revoke_api_key",
    "set_password",
    "verify_api_key",
    "verify_secret",
]

MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
_KEY = re.compile(r"^tm_([0-9a-f]{8})_([A-Za-z0-9_-]{20,})$")
_ORGANIZATION_ROLES = {Role.ENTERPRISE, Role.UNIVERSITY}


class AccountError(TechMatchError):
    """An account cannot be created or changed as asked; the message says why, in Chinese."""


@cache
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


def hash_secret(secret: str) -> str:
    """The argon2 hash of a password or key."""
    return _hasher().hash(secret)


def verify_secret(secret: str, hashed: str) -> bool:
    """Whether ``secret`` matches ``hashed`` (False for a malformed hash)."""
    try:
        return _hasher().verify(secret, hashed)
    except Exception:
        return False


# A hash to verify against when the user does not exist, so that timing does not tell.
@cache
def _dummy_hash() -> str:
    return hash_secret(secrets.token_urlsafe(16))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符")
    if password.isdigit() or password.isalpha():
        raise AccountError("密码须同时包含字母和数字（或符号）")


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role | str,
    display_name: str = "",
    organization: int | str | None = None,
    expert: int | str | None = None,
) -> User:
    """Create an account. Enterprise and university users need their ``organization`` (id or
    name); a committee expert needs the ``expert`` record (id or 编号) they are."""
    if not _USERNAME.match(username):
        raise AccountError("用户名须为 3-64 个字母、数字或 _ . @ - 字符")
    try:
        role = parse_value(Role, str(role))
    except ValueError as error:
        raise AccountError(f"角色「{role}」无效：{error}") from None
    _check_password(password)
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"用户名「{username}」已存在")
    organization_id = _organization_id(session, organization) if organization else None
    if role in _ORGANIZATION_ROLES and organization_id is None:
        raise AccountError(f"角色「{role.labels()[role]}」须指定所属单位")
    expert_id = _expert_id(session, expert) if expert else None
    if role == Role.EXPERT and expert_id is None:
        raise AccountError("评审专家账号须关联专家库中的专家（编号或 ID）")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role.value,
        organization_id=organization_id,
        expert_id=expert_id,
        password_hash=hash_secret(password),
    )
    session.add(user)
    session.flush()
    return user


def _organization_id(session: Session, key: int | str) -> int:
    found = None
    number = record_id(key)
    if number is not None:
        found = session.get(Organization, number)
    if found is None:
        found = session.scalar(select(Organization).where(Organization.name == str(key)))
    if found is None:
        raise AccountError(f"找不到单位「{key}」")
    return found.id


def _expert_id(session: Session, key: int | str) -> int:
    try:
        return find_record(session, Expert, key, "专家").id
    except NotFound as error:
        raise AccountError(str(error)) from None


def set_password(session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"找不到用户「{username}」")
    _check_password(password)
    user.password_hash = hash_secret(password)
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same work either way)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_secret(password, _dummy_hash())
        return None
    if not verify_secret(password, user.password_hash) or not user.active:
        return None
    return user


@dataclass(frozen=True)
class NewApiKey:
    """A created key: ``key`` is the only time the secret is available."""

    id: int
    name: str
    prefix: str
    key: str


def create_api_key(session: Session, username: str, name: str) -> NewApiKey:
    """A new key acting as ``username``."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"找不到用户「{username}」")
    if not name.strip():
        raise AccountError("密钥名称不能为空")
    prefix = secrets.token_hex(4)
    while session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) is not None:
        prefix = secrets.token_hex(4)
    key = f"tm_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name.strip()[:64], prefix=prefix, key_hash=hash_secret(key), user_id=user.id)
    session.add(row)
    session.flush()
    return NewApiKey(row.id, row.name, prefix, key)


# prefix → (stored hash, SHA-256 of the key that matched it): argon2 costs ~0.1 s, too much for
# every request of a machine client. Revocation and deactivation are still read each time.
_VERIFIED_KEYS: dict[str, tuple[str, bytes]] = {}


def verify_api_key(session: Session, key: str) -> User | None:
    """The active user a key acts as, or None for an unknown, revoked or malformed key."""
    key = key.strip()
    match = _KEY.match(key)
    if match is None:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1)))
    if row is None or row.revoked_at is not None:
        return None
    digest = hashlib.sha256(key.encode()).digest()
    known = _VERIFIED_KEYS.get(row.prefix)
    if known is None or known[0] != row.key_hash or not hmac.compare_digest(known[1], digest):
        if not verify_secret(key, row.key_hash):
            return None
        _VERIFIED_KEYS[row.prefix] = (row.key_hash, digest)
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def revoke_api_key(session: Session, prefix: str) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        raise AccountError(f"找不到前缀为「{prefix}」的密钥")
    row.revoked_at = utc_now()
    return row
