"""The login throttle's memory and the per-request login check (review_db.store.users), on SQLite
and PostgreSQL: failures counted per (name as typed, address) in a window, pruned, cleared; and
``login_user`` refusing a revoked, expired or deactivated login at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from review_db.engine import session_scope
from review_db.models import LoginFailure, LoginSession, User
from review_db.store import users
from review_db.types import Role, utcnow

WINDOW = dt.timedelta(minutes=1)


def _count(db, name: str, address: str) -> int:  # noqa: ANN001
    with db.factory() as s:
        return users.count_login_failures(session=s, username=name, address=address, within=WINDOW)


def _fail(db, name: str, address: str) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        users.record_login_failure(session=s, username=name, address=address, keep=WINDOW)


def test_failures_count_per_name_and_address_and_a_success_clears_them(db) -> None:  # noqa: ANN001
    for _ in range(3):
        _fail(db, " Alice ", "10.0.0.1")  # the name as typed: trimmed, any case
    _fail(db, "alice", "10.0.0.2")
    assert _count(db, "ALICE", "10.0.0.1") == 3
    assert _count(db, "alice", "10.0.0.2") == 1
    assert _count(db, "bob", "10.0.0.1") == 0
    with session_scope(db.factory, actor="test") as s:
        users.clear_login_failures(session=s, username="alice", address="10.0.0.1")
    assert _count(db, "alice", "10.0.0.1") == 0
    assert _count(db, "alice", "10.0.0.2") == 1  # another address keeps its count


def test_old_failures_leave_the_window_and_are_pruned(db) -> None:  # noqa: ANN001
    old = utcnow() - dt.timedelta(minutes=5)
    with session_scope(db.factory, actor="test") as s:
        s.add_all([LoginFailure(username="carol", address="10.0.0.9", failed_at=old) for _ in range(4)])
    assert _count(db, "carol", "10.0.0.9") == 0  # outside the window: not counted
    _fail(db, "dave", "10.0.0.3")  # any new failure prunes everyone's old rows
    with db.factory() as s:
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 1


def test_a_huge_name_is_bounded_not_an_error(db) -> None:  # noqa: ANN001
    _fail(db, "x" * 10_000, "2001:db8::1")
    assert _count(db, "x" * 10_000, "2001:db8::1") == 1


def test_login_user_is_refused_at_once_after_revocation_deactivation_or_expiry(db) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        admin = users.add_user(session=s, username="root", password="long enough pw", role=Role.admin)
        uid = users.add_user(session=s, username="erin", password="long enough pw", role=Role.reviewer).id
        tokens = [users.create_login(session=s, user=s.get(User, uid), hours=1) for _ in range(3)]
        admin_id = admin.id

    def who(token: str):  # noqa: ANN202
        with db.factory() as s:
            return users.login_user(session=s, token=token)

    row = who(tokens[0])
    assert (row.id, row.username, row.role) == (uid, "erin", Role.reviewer)
    assert who("not-a-token") is None and who("") is None
    with session_scope(db.factory, actor="test") as s:
        users.revoke_login(session=s, token=tokens[0])
    assert who(tokens[0]) is None and who(tokens[1]) is not None
    with session_scope(db.factory, actor="test") as s:
        login = s.scalar(select(LoginSession).where(LoginSession.token_hash == users._token_hash(tokens[1])))
        login.expires_at = utcnow() - dt.timedelta(seconds=1)
    assert who(tokens[1]) is None
    with session_scope(db.factory, actor=f"user:{admin_id}") as s:
        s.get(User, uid).active = False  # the flag alone (set_active also ends the logins)
    assert who(tokens[2]) is None
    with session_scope(db.factory, actor="test") as s:
        assert users.count_active_admins(session=s) == 1
