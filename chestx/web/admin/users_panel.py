"""The admin page's users section: the accounts table and what an admin may do to an account.

Contract: :func:`users_html` renders the accounts (escaped) and :func:`user_choices` the picker's
options. The actions (:func:`add_user`, :func:`change_role`, :func:`reset_password`,
:func:`set_active`) are for admins only; each is one unit of work on behalf of the admin (so
audited as ``user:<id>``) through :mod:`review_db.store.users`, which holds the rules (name,
password length, role, the last active admin), and returns the message to show. Bad input raises
:class:`~review_db.errors.ChestXError` with nothing changed. Deactivating an account and changing
its role also drop its cached login here, so that its next request already sees the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chestx.web.auth import UserInfo, require
from chestx.web.context import AppContext
from chestx.web.html import table
from review_db.errors import ValidationError
from review_db.models import User
from review_db.store import users as accounts
from review_db.types import Role
from services import overview

# (label, value) for the role pickers, from the one vocabulary of roles.
ROLE_CHOICES: list[tuple[str, str]] = [(role.value.capitalize(), role.value) for role in Role]


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def users_html(data: Mapping[str, Any]) -> str:
    """The accounts table of :func:`services.overview.admin_overview`'s users."""
    rows = [
        (
            u["username"], u["display_name"], u["role"], "yes" if u["active"] else "no", u["sessions"],
            u["verdicts"], _when(u["created"]),
        )
        for u in data["users"]
    ]  # fmt: skip
    return table(["User", "Name", "Role", "Active", "Open logins", "Verdicts", "Created"], rows)


def user_choices(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, username) per account: 'ann (reviewer)', 'bob (admin, inactive)'."""
    return [
        (f"{u['username']} ({u['role']}{'' if u['active'] else ', inactive'})", u["username"])
        for u in data["users"]
    ]


def admin_data(ctx: AppContext) -> dict[str, Any]:
    with ctx.read() as session:
        return overview.admin_overview(session=session)


def _target(session: Any, username: str | None) -> User:
    if not username:
        raise ValidationError("Pick a user first.")
    return accounts.user_by_name(session=session, username=username)


def add_user(
    ctx: AppContext, user: UserInfo | None, *, username: str, password: str, role: str, display_name: str = ""
) -> str:
    """Create an account; the message to show."""
    admin = require(user)  # no roles named: admins only
    if not role:
        raise ValidationError("Pick a role for the new account.")
    with ctx.write(admin) as session:
        added = accounts.add_user(
            session=session,
            username=(username or "").strip(),
            password=password or "",
            role=role,
            display_name=(display_name or "").strip(),
        )
        return f"Added {added.username} ({added.role.value})."


def change_role(ctx: AppContext, user: UserInfo | None, *, username: str, role: str) -> str:
    """Give an account another role; the message to show."""
    admin = require(user)
    if not role:
        raise ValidationError("Pick the new role.")
    with ctx.write(admin) as session:
        target = _target(session, username)
        before = target.role.value
        accounts.set_role(session=session, user_id=target.id, role=role or "")
        after = target.role.value
    if after == before:
        return f"{username} already has the role {after}; nothing changed."
    return f"{username} is now {after} (was {before})."


def reset_password(ctx: AppContext, user: UserInfo | None, *, username: str, password: str) -> str:
    """Set a new password; another account's open logins end with it (the admin stays logged in)."""
    admin = require(user)
    with ctx.write(admin) as session:
        target = _target(session, username)
        others = target.id != admin.id
        accounts.set_password(
            session=session, user_id=target.id, password=password or "", end_sessions=others
        )
    return f"New password set for {username}" + ("; their open logins ended." if others else ".")


def set_active(ctx: AppContext, user: UserInfo | None, *, username: str, active: bool) -> str:
    """Deactivate (ending the account's logins) or reactivate an account; the message to show."""
    admin = require(user)
    with ctx.write(admin) as session:
        target = _target(session, username)
        if target.active == active:
            return f"{username} is already {'active' if active else 'inactive'}; nothing changed."
        accounts.set_active(session=session, user_id=target.id, active=active)
    if active:
        return f"Reactivated {username}: they can log in again."
    return f"Deactivated {username}: their open logins ended and they can no longer log in."
