"""Accounts and login sessions.

Passwords are hashed with argon2id (argon2-cffi); login tokens are random and only their sha256
is stored, so a copy of the database does not let anyone log in.

Account changes (add, role, password, active) validate first and raise
:class:`~review_db.errors.ValidationError` with nothing changed: a bad name or role, a password
under :data:`MIN_PASSWORD` characters, a duplicate, or leaving no active admin (the last one can
be neither deactivated nor given another role: nobody could then manage accounts in the app).
Every change is audited by the session's actor (the audit log records the row's before/after).

Logins: :func:`login_user` answers "who is behind this token, now" in one indexed query (the app
asks it on every request, so a revoked login or a deactivated account is refused at once on every
replica). Failed logins are rows of ``login_failures`` (:func:`count_login_failures`,
:func:`record_login_failure`, :func:`clear_login_failures`): the throttle every replica shares.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Row, bindparam, delete, func, select
from sqlalchemy.orm import Session

from review_db import audit
from review_db.errors import AuthenticationFailed, NotFound, PermissionDenied, ValidationError
from review_db.models import LoginFailure, LoginSession, User
from review_db.store.common import check_version, get_or_raise
from review_db.types import Role, utcnow

# Argon2id at OWASP's recommended minimum (Password Storage Cheat Sheet: 19 MiB, 2 iterations,
# 1 lane): ~0.1 s a login on a busy 2-core server instead of ~0.45 s with argon2-cffi's defaults
# (64 MiB, 3, 4), which a reviewer waits for at every login. Hashes made with other parameters
# still verify and are re-hashed with these at the next login (check_needs_rehash).
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 8


def add_user(
    *, session: Session, username: str, password: str, role: Role | str, display_name: str = ""
) -> User:
    """Create an account. Raises ValidationError for a bad name, weak password or duplicate."""
    if not _USERNAME.match(username):
        raise ValidationError("username must be 2-64 letters, digits or . _ @ -")
    _check_password(password)
    role = _role(role)
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


def count_active_admins(*, session: Session) -> int:
    """How many active admin accounts exist (0 on a fresh database: nobody can manage accounts)."""
    return session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.admin, User.active.is_(True))
    )


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationError(f"unknown role {value!r}; one of {', '.join(r.value for r in Role)}") from None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"password must have at least {MIN_PASSWORD} characters")


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to take away the last active admin (``user`` is about to stop being one)."""
    if not (user.active and user.role is Role.admin):
        return
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin, User.active.is_(True), User.id != user.id)
    )
    if not others:
        raise ValidationError(f"{user.username} is the last active admin: make another account admin first")


def end_logins(*, session: Session, user_id: int) -> int:
    """Revoke every open login of ``user_id``; returns how many."""
    logins = session.scalars(
        select(LoginSession).where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
    ).all()
    for login in logins:
        login.revoked_at = utcnow()
    return len(logins)


def set_password(*, session: Session, user_id: int, password: str, end_sessions: bool = False) -> None:
    """A new password; ``end_sessions`` also ends the account's open logins (an admin's reset)."""
    _check_password(password)
    get_user(session=session, user_id=user_id).password_hash = _hasher.hash(password)
    if end_sessions:
        end_logins(session=session, user_id=user_id)


def set_active(*, session: Session, user_id: int, active: bool, expected_version: int | None = None) -> User:
    """(De)activate an account; deactivating ends its logins. Not the last active admin."""
    user = get_user(session=session, user_id=user_id)
    check_version(user, expected_version)
    if not active:
        _keep_an_admin(session, user)
        end_logins(session=session, user_id=user_id)
    user.active = active
    return user


def set_role(
    *, session: Session, user_id: int, role: Role | str, expected_version: int | None = None
) -> User:
    """Give the account ``role``; the last active admin keeps theirs."""
    user = get_user(session=session, user_id=user_id)
    check_version(user, expected_version)
    role = _role(role)
    if role is not Role.admin:
        _keep_an_admin(session, user)
    user.role = role
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


# Built once: the app runs it at every request, and building a statement costs more than running it.
_LOGIN_USER = (
    select(User.id, User.username, User.role, User.display_name)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        LoginSession.token_hash == bindparam("token_hash"),
        LoginSession.revoked_at.is_(None),
        LoginSession.expires_at > bindparam("now"),
        User.active.is_(True),
    )
)


def login_user(*, session: Session, token: str | None) -> Row[tuple[int, str, Role, str]] | None:
    """(id, username, role, display_name) of the active user behind an open, unexpired login
    token, else None: one query on the token hash's unique index, no ORM objects."""
    if not token:
        return None
    return session.execute(_LOGIN_USER, {"token_hash": _token_hash(token), "now": utcnow()}).first()


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


def _failure_key(username: str, address: str) -> tuple[str, str]:
    """The throttle's key: the name as typed (trimmed, lower case, bounded) and the address."""
    return username.strip().lower()[:128], address[:64]


def count_login_failures(*, session: Session, username: str, address: str, within: dt.timedelta) -> int:
    """Failed logins for ``username`` from ``address`` in the last ``within``."""
    name, addr = _failure_key(username, address)
    return session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            LoginFailure.username == name,
            LoginFailure.address == addr,
            LoginFailure.failed_at > utcnow() - within,
        )
    )


def record_login_failure(*, session: Session, username: str, address: str, keep: dt.timedelta) -> None:
    """Remember a failed login; rows older than ``keep`` (anyone's) are deleted on the way, so the
    table holds only the window the throttle looks at."""
    name, addr = _failure_key(username, address)
    now = utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at < now - keep))
    session.add(LoginFailure(username=name, address=addr, failed_at=now))


def clear_login_failures(*, session: Session, username: str, address: str) -> None:
    """Forget the failures of ``username`` from ``address`` (after a successful login)."""
    name, addr = _failure_key(username, address)
    session.execute(delete(LoginFailure).where(LoginFailure.username == name, LoginFailure.address == addr))
