"""The audit trail: every change made through a session writes an ``audit_log`` row.

A ``after_flush`` listener inspects what the flush inserted, updated and deleted and writes one
row per changed object with the actor, the action, the entity and the values before and after.
Services therefore cannot forget to audit. Models opt out with ``__audit__ = False`` (the audit
table itself, login sessions) or ignore noisy columns with ``__audit_ignore__`` (lease renewals,
progress ticks). Secrets never reach the log: columns named in ``REDACTED`` are masked.

The table is insert-only: database triggers (see the migrations) refuse UPDATE and DELETE.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from review_db.models import AuditLog

REDACTED = frozenset({"password_hash", "token_hash"})
_ACTOR_KEY = "chestx_actor"


def set_actor(session: Session, actor: str) -> None:
    """Name who is acting for the changes made through ``session``."""
    session.info[_ACTOR_KEY] = actor


def actor_of(session: Session) -> str:
    return session.info.get(_ACTOR_KEY, "unknown")


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _columns(obj: Any) -> list[str]:
    return [attr.key for attr in inspect(obj).mapper.column_attrs]


def _snapshot(obj: Any, keys: list[str]) -> dict[str, Any]:
    return {k: ("***" if k in REDACTED else _jsonable(getattr(obj, k))) for k in keys}


def _entity_id(obj: Any) -> str | None:
    # Primary keys are assigned by now, though new objects have no identity key yet.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    if any(v is None for v in key):
        return None
    return ",".join(str(v) for v in key)


def _audited(obj: Any) -> bool:

    return getattr(type(obj), "__audit__", True) and not isinstance(obj, AuditLog)


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The changed columns of a dirty object: (before, after); ignored columns left out."""
    ignore = getattr(type(obj), "__audit_ignore__", frozenset())
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in _columns(obj):
        hist = state.attrs[key].history
        if not hist.has_changes() or key in ignore:
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        masked = key in REDACTED
        before[key] = "***" if masked else _jsonable(old)
        after[key] = "***" if masked else _jsonable(new)
    return before, after


def record(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write an explicit audit row (for actions that change no mapped row, e.g. a login)."""

    session.add(
        AuditLog(
            actor=actor_of(session),
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
        )
    )


def record_insert(session: Session, *, entity: str, entity_id: str, values: dict[str, Any]) -> None:
    """Audit a row inserted with a Core statement (which bypasses the flush listener below)."""

    row = {k: ("***" if k in REDACTED else _jsonable(v)) for k, v in values.items()}
    session.execute(
        insert(AuditLog).values(
            actor=actor_of(session),
            action="insert",
            entity=entity,
            entity_id=entity_id,
            before=None,
            after=row,
            at=dt.datetime.now(dt.UTC),
        )
    )


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:

    actor = actor_of(session)
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if _audited(obj):
            rows.append(
                dict(
                    action="insert",
                    entity=obj.__tablename__,
                    entity_id=_entity_id(obj),
                    before=None,
                    after=_snapshot(obj, _columns(obj)),
                )
            )
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if after:
                rows.append(
                    dict(
                        action="update",
                        entity=obj.__tablename__,
                        entity_id=_entity_id(obj),
                        before=before,
                        after=after,
                    )
                )
    for obj in session.deleted:
        if _audited(obj):
            rows.append(
                dict(
                    action="delete",
                    entity=obj.__tablename__,
                    entity_id=_entity_id(obj),
                    before=_snapshot(obj, _columns(obj)),
                    after=None,
                )
            )
    if rows:
        now = dt.datetime.now(dt.UTC)
        # Core insert on the flush's own connection: same transaction, no recursion into flush.
        session.connection().execute(insert(AuditLog), [dict(r, actor=actor, at=now) for r in rows])
