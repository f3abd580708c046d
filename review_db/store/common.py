"""Small helpers shared by the service modules."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from review_db.errors import ConflictError, NotFound

T = TypeVar("T")


def get_or_raise(session: Session, model: type[T], ident: Any, *, for_update: bool = False) -> T:
    """``session.get`` that raises NotFound (and can lock the row on PostgreSQL)."""
    obj = session.get(model, ident, with_for_update=for_update or None, populate_existing=for_update)
    if obj is None:
        raise NotFound(f"no {model.__tablename__.rstrip('s')} {ident}")  # type: ignore[attr-defined]
    return obj


def check_version(row: Any, expected_version: int | None) -> None:
    """Refuse an edit made from a stale copy of ``row`` (optimistic concurrency)."""
    if expected_version is not None and row.version != expected_version:
        raise ConflictError(
            f"{row.__tablename__} {row.id} was changed by someone else (now version {row.version}, "
            f"your copy is version {expected_version}); reload and try again"
        )


@contextlib.contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A nested transaction, so an IntegrityError leaves the outer transaction usable."""
    with session.begin_nested():
        yield


def try_insert(session: Session, obj: Any) -> bool:
    """Insert ``obj`` inside a savepoint; False if a unique constraint refused it."""
    try:
        with savepoint(session):
            session.add(obj)
            session.flush()
    except IntegrityError:
        return False
    return True


_ROLLBACK_HOOKS = "chestx_on_rollback"


def on_rollback(session: Session, fn: Callable[[], None]) -> None:
    """Run ``fn`` if the session's current transaction rolls back (e.g. remove a new file).

    The callbacks live in ``session.info`` and are run or dropped by the two listeners below,
    which are registered once for every Session (removing listeners mid-dispatch is not safe).
    """
    session.info.setdefault(_ROLLBACK_HOOKS, []).append(fn)


@event.listens_for(Session, "after_soft_rollback")
def _run_rollback_hooks(session: Session, previous_transaction) -> None:  # noqa: ANN001
    if previous_transaction.parent is None:  # the outermost transaction, not a savepoint
        for fn in session.info.pop(_ROLLBACK_HOOKS, []):
            fn()


@event.listens_for(Session, "after_commit")
def _drop_rollback_hooks(session: Session) -> None:
    session.info.pop(_ROLLBACK_HOOKS, None)
