"""The record of each import of images: a row of ``imports`` the admin page lists while it runs.

Contract: :meth:`ImportRecorder.start` writes a ``running`` row and returns its recorder;
:meth:`~ImportRecorder.count` adds one item's outcome, inside the caller's unit of work (so the
count commits with the study it counts) or in one of its own; :meth:`~ImportRecorder.finish`
marks the row ``done`` or ``failed``. Counters are incremented under the row's lock, so several
threads (the receiver's associations) may count into one row. :func:`recent_imports` is the
admin page's read model (plain dicts). Items are named without PHI by the callers (positions,
keyed pseudonyms); :func:`safe_source` strips credentials and the query from a URL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from review_db.engine import session_scope
from review_db.models import ImportRun
from review_db.types import utcnow
from vocab.imports import ImportKind, ImportStatus, Outcome

MAX_PROBLEMS = 200  # the rejected and skipped items kept by name; the counts stay exact
# A running import whose row has not moved for this long is shown as stalled (its process may be
# gone) and does not keep the admin page's timer on.
STALLED_AFTER = dt.timedelta(minutes=5)


def safe_source(url: str) -> str:
    """``url`` without user, password, query or fragment: what a record may keep of it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))[:512]


@dataclass(frozen=True)
class ImportRecorder:
    """Writes the progress of one import into its ``imports`` row (``import_id``)."""

    factory: sessionmaker[Session]
    import_id: int
    actor: str

    @classmethod
    def start(
        cls,
        *,
        factory: sessionmaker[Session],
        kind: ImportKind,
        source: str,
        actor: str,
        total: int | None = None,
    ) -> ImportRecorder:
        """Record a new running import; ``source`` must hold no PHI (see :func:`safe_source`)."""
        with session_scope(factory, actor=actor) as session:
            run = ImportRun(kind=kind, source=source[:512], actor=actor, total=total)
            session.add(run)
            session.flush()
            return cls(factory, run.id, actor)

    def set_total(self, total: int) -> None:
        """The number of items, once known (after a DICOMweb query)."""
        with session_scope(self.factory, actor=self.actor) as session:
            self._row(session).total = total

    def count(self, outcome: Outcome, item: str, reason: str = "", *, session: Session | None = None) -> None:
        """Add one item's outcome (``reason`` for skipped and rejected items) to the row, in
        ``session`` (the caller's unit of work) or in a unit of work of its own."""
        if session is None:
            with session_scope(self.factory, actor=self.actor) as own:
                self._count(own, outcome, item, reason)
        else:
            self._count(session, outcome, item, reason)

    def finish(self, *, error: str | None = None) -> None:
        """Mark the import done, or failed with ``error`` (a sentence, no PHI)."""
        with session_scope(self.factory, actor=self.actor) as session:
            run = self._row(session)
            run.status = ImportStatus.failed if error else ImportStatus.done
            run.error = error
            run.finished_at = run.updated_at = utcnow()

    def _row(self, session: Session) -> ImportRun:
        run = session.get(ImportRun, self.import_id, with_for_update=True, populate_existing=True)
        if run is None:  # the row is never deleted; a missing one is a bug, not input
            raise LookupError(f"import {self.import_id} is not recorded")
        return run

    def _count(self, session: Session, outcome: Outcome, item: str, reason: str) -> None:
        run = self._row(session)
        setattr(run, outcome.value, getattr(run, outcome.value) + 1)
        if outcome in (Outcome.skipped, Outcome.rejected) and len(run.problems) < MAX_PROBLEMS:
            run.problems = [*run.problems, [outcome.value, item, reason]]
        run.updated_at = utcnow()


def recent_imports(*, session: Session, limit: int = 15) -> list[dict[str, Any]]:
    """The latest imports, newest first, as plain dicts for the admin page; ``stalled`` marks a
    running import that has not moved for :data:`STALLED_AFTER`."""
    now = utcnow()
    rows = session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit))
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "source": r.source,
            "status": r.status,
            "stalled": r.status is ImportStatus.running and now - r.updated_at > STALLED_AFTER,
            "total": r.total,
            "counts": {o: getattr(r, o.value) for o in Outcome},
            "problems": [tuple(p) for p in r.problems],
            "error": r.error,
            "started_at": r.started_at,
            "updated_at": r.updated_at,
            "finished_at": r.finished_at,
        }
        for r in rows
    ]


def any_moving(imports: list[dict[str, Any]]) -> bool:
    """Whether one of ``imports`` is running and not stalled (the admin page keeps refreshing)."""
    return any(i["status"] is ImportStatus.running and not i["stalled"] for i in imports)
