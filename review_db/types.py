"""Column types shared by the models, and the enums they store.

The enums are defined once in :mod:`vocab` (with their labels and keys) and re-exported here, so
``from review_db.types import Verdict`` keeps working; this module adds what only the database
needs: :class:`UTCDateTime` and :func:`utcnow`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.engine import Dialect

from vocab import (
    AnswerVerdict,
    CaseStatus,
    ChainSource,
    ChainStatus,
    ModelStatus,
    Role,
    RunKind,
    RunStatus,
    StepKind,
    TaskType,
    Verdict,
)

__all__ = [
    "AnswerVerdict",
    "CaseStatus",
    "ChainSource",
    "ChainStatus",
    "ModelStatus",
    "Role",
    "RunKind",
    "RunStatus",
    "StepKind",
    "TaskType",
    "UTCDateTime",
    "Verdict",
    "utcnow",
]


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as naive UTC and always returned timezone-aware (UTC).

    SQLite has no time zones; storing naive UTC everywhere keeps comparisons correct on both
    SQLite and PostgreSQL, and refusing naive input catches local-time bugs early.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC (review_db.types.utcnow)")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)
