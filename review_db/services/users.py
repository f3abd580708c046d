"""Accounts and login sessions.

Passwords are hashed with argon2id (argon2-cffi); login tokens are random and only their sha256
is stored, so a copy of the database does not let anyone log in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from review_db import audit
from review_db.errors import AuthenticationFailed, NotFound, PermissionDenied, ValidationError
from review_db.models import LoginSession, User
from review_db.services.common import check_version, get_or_raise
from review_db.types import Role, utcnow

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 8


def add_user(
    *, session: Session, username: str, password: str, role: Role | str, display_name: str = ""
) -> User:
    """Create an account. Raises ValidationError for a bad name, weak password or duplicate."""
    if not _USERNAME.match(username):
        raise ValidationError("username must be 2-64 letters, digits or . _ @ -")
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"password must have at least {MIN_PASSWORD} characters")
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}") from None
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationError(f"user {username!r} already exists")
    user = User(
        username=username,
        role=role,
        password_hash=_hasher.hash(password),
        display_name=display_name or username,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def get_user(*, session: Session, user_id: int) -> User:
    return get_or_raise(session, User, user_id)


def user_by_name(*, session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def authenticate(*, session: Session, username: str, password: str) -> User:
    """The active user with these credentials, or AuthenticationFailed (same message for all causes)."""
    user = session.scalar(select(User).where(User.username == username))
    failure = AuthenticationFailed("unknown user or wrong password")
    if user is None:
        _hasher.hash(password)  # spend the same time as a real check: no username oracle
        raise failure
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    if not user.active:
        raise failure
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def set_password(*, session: Session, user_id: int, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"password must have at least {MIN_PASSWORD} characters")
    get_user(session=session, user_id=user_id).password_hash = _hasher.hash(password)


def set_active(*, session: Session, user_id: int, active: bool, expected_version: int | None = None) -> User:
    user = get_user(session=session, user_id=user_id)
    check_version(user, expected_version)
    user.active = active
    if not active:
        for login in session.scalars(
            select(LoginSession).where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        ):
            login.revoked_at = utcnow()
    return user


def set_role(
    *, session: Session, user_id: int, role: Role | str, expected_version: int | None = None
) -> User:
    user = get_user(session=session, user_id=user_id)
    check_version(user, expected_version)
    user.role = Role(role)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_login(*, session: Session, user: User, hours: float) -> str:
    """Start a login session for ``user``; returns the secret token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    audit.record(session, action="login", entity="users", entity_id=str(user.id))
    return token


def resolve_login(*, session: Session, token: str | None) -> User | None:
    """The user behind a login token, or None if unknown, expired, revoked or inactive."""
    if not token:
        return None
    login = session.scalar(select(LoginSession).where(LoginSession.token_hash == _token_hash(token)))
    if login is None or login.revoked_at is not None or login.expires_at <= utcnow():
        return None
    return login.user if login.user.active else None


def revoke_login(*, session: Session, token: str) -> None:
    login = session.scalar(select(LoginSession).where(LoginSession.token_hash == _token_hash(token)))
    if login is not None and login.revoked_at is None:
        login.revoked_at = utcnow()
        audit.record(session, action="logout", entity="users", entity_id=str(login.user_id))


def require_role(user: User, *roles: Role) -> None:
    """Raise PermissionDenied unless ``user`` has one of ``roles`` (admins may do everything)."""
    if user.role is Role.admin or user.role in roles:
        return
    raise PermissionDenied(f"{user.username} ({user.role.value}) may not do this")
