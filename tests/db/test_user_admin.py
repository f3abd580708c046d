"""Account management rules (review_db.store.users), on SQLite and PostgreSQL: bad input
changes nothing, the last active admin stays, deactivation and an admin's reset end logins, and
every change is audited with the acting admin."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from review_db.engine import session_scope
from review_db.errors import AuthenticationFailed, ValidationError
from review_db.models import AuditLog, LoginSession, User
from review_db.store import users
from review_db.types import Role


def _user(db, name: str, role: Role) -> int:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        return users.add_user(session=s, username=name, password="long enough pw", role=role).id


def _state(db) -> tuple:  # noqa: ANN001
    with db.factory() as s:
        rows = s.execute(select(User.username, User.role, User.active, User.password_hash).order_by(User.id))
        return tuple(rows), s.scalar(select(func.count()).select_from(AuditLog))


def _login(db, user_id: int) -> str:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        return users.create_login(session=s, user=s.get(User, user_id), hours=1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s, uid: users.set_role(session=s, user_id=uid, role="superuser"), "unknown role 'superuser'"),
        (lambda s, uid: users.set_password(session=s, user_id=uid, password="short"), "at least 8"),
        (lambda s, uid: users.set_active(session=s, user_id=uid, active=False), "last active admin"),
        (lambda s, uid: users.set_role(session=s, user_id=uid, role="reviewer"), "last active admin"),
        (lambda s, uid: users.add_user(session=s, username="root", password="x" * 9, role="admin"), "exists"),
        (lambda s, uid: users.add_user(session=s, username="", password="x" * 9, role="admin"), "username"),
        (lambda s, uid: users.add_user(session=s, username="nu", password="x" * 9, role="boss"), "unknown"),
    ],
)
def test_bad_account_changes_are_refused_and_change_nothing(db, change, message: str) -> None:  # noqa: ANN001
    root = _user(db, "root", Role.admin)
    _user(db, "ann", Role.reviewer)
    token = _login(db, root)
    before = _state(db)
    with pytest.raises(ValidationError, match=message), session_scope(db.factory, actor=f"user:{root}") as s:
        change(s, root)
    assert _state(db) == before
    with db.factory() as s:
        assert users.resolve_login(session=s, token=token).id == root  # still logged in


def test_an_admin_may_step_down_once_another_admin_is_active(db) -> None:  # noqa: ANN001
    root = _user(db, "root", Role.admin)
    other = _user(db, "other", Role.admin)
    with session_scope(db.factory, actor=f"user:{root}") as s:
        users.set_active(session=s, user_id=other, active=False)  # root stays: allowed
    with pytest.raises(ValidationError), session_scope(db.factory, actor=f"user:{root}") as s:
        users.set_role(session=s, user_id=root, role="reviewer")  # other is inactive now
    with session_scope(db.factory, actor=f"user:{root}") as s:
        users.set_active(session=s, user_id=other, active=True)
        users.set_role(session=s, user_id=root, role="researcher")
    with db.factory() as s:
        assert s.get(User, root).role is Role.researcher and s.get(User, other).active


def test_deactivation_and_an_admins_reset_end_logins_and_are_audited_as_the_admin(db) -> None:  # noqa: ANN001
    root = _user(db, "root", Role.admin)
    ann = _user(db, "ann", Role.reviewer)
    first, second = _login(db, ann), _login(db, ann)
    with session_scope(db.factory, actor=f"user:{root}") as s:
        users.set_password(session=s, user_id=ann, password="a new passphrase", end_sessions=True)
    with db.factory() as s:
        assert users.resolve_login(session=s, token=first) is None
        assert users.resolve_login(session=s, token=second) is None
        assert users.authenticate(session=s, username="ann", password="a new passphrase").id == ann
    third = _login(db, ann)
    with session_scope(db.factory, actor=f"user:{root}") as s:
        users.set_active(session=s, user_id=ann, active=False)
        users.set_role(session=s, user_id=ann, role="educator")
    with db.factory() as s:
        assert users.resolve_login(session=s, token=third) is None
        open_logins = select(func.count()).select_from(LoginSession).where(LoginSession.revoked_at.is_(None))
        assert s.scalar(open_logins.where(LoginSession.user_id == ann)) == 0
        with pytest.raises(AuthenticationFailed):
            users.authenticate(session=s, username="ann", password="a new passphrase")
        of_ann = select(AuditLog).where(AuditLog.entity == "users", AuditLog.entity_id == str(ann))
        audit = s.scalars(of_ann.order_by(AuditLog.id)).all()
    changes = [(a.actor, a.action, a.after) for a in audit if a.action == "update"]
    assert [c[0] for c in changes] == [f"user:{root}"] * len(changes) and changes
    assert {"password_hash": "***"}.items() <= changes[0][2].items()  # the hash never reaches the log
    assert any(c[2].get("active") is False for c in changes)
    assert any(c[2].get("role") == "educator" for c in changes)
