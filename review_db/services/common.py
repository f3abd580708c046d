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


def on_rollback(session: Session, fn: Callable[[], None]) -> None:
    """Run ``fn`` if the session's current root transaction rolls back (e.g. remove a new file)."""
    root = session.get_transaction()

    def _rolled_back(_sess: Session, previous) -> None:  # noqa: ANN001
        if previous is root:
            _forget()
            fn()

    def _forget(*_args: Any) -> None:
        for name, hook in (("after_soft_rollback", _rolled_back), ("after_commit", _forget)):
            if event.contains(session, name, hook):
                event.remove(session, name, hook)

    event.listen(session, "after_soft_rollback", _rolled_back)
    event.listen(session, "after_commit", _forget)
