"""Column types and enums shared by the models."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.engine import Dialect


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


class Role(enum.StrEnum):
    reviewer = "reviewer"
    educator = "educator"
    researcher = "researcher"
    admin = "admin"


class TaskType(enum.StrEnum):
    binary = "binary"
    single_choice = "single_choice"
    multiple_choice = "multiple_choice"
    open_findings = "open_findings"
    temporal = "temporal"


class CaseStatus(enum.StrEnum):
    open = "open"  # waiting for (more) reviews
    verified = "verified"  # has its required number of submitted reviews
    archived = "archived"  # withdrawn from the worklist


class ChainSource(enum.StrEnum):
    model = "model"  # in-process transformers backend
    endpoint = "endpoint"  # OpenAI-compatible server
    report = "report"  # mined from the study's report
    imported = "imported"  # predictions file
    demo = "demo"  # written for the offline demo


class ChainStatus(enum.StrEnum):
    complete = "complete"
    incomplete = "incomplete"  # generation stopped early (cancelled, dropped, truncated)
    malformed = "malformed"  # output did not follow the <think>/<answer> format


class StepKind(enum.StrEnum):
    model = "model"  # produced by the reasoner
    added = "added"  # inserted by a reviewer


class Verdict(enum.StrEnum):
    accept = "accept"
    correct = "correct"
    reject = "reject"


class AnswerVerdict(enum.StrEnum):
    """How a submitted review judged the chain's final answer (the review's outcome)."""

    agree = "agree"
    disagree = "disagree"  # with the right answer in ``corrected_answer``
    # The chain cannot be verified (no steps, no answer, malformed, or nonsense): the reason is
    # the review's comment. It does not count towards the case's reviews; the case waits for a
    # fresh chain, and the training exports leave the chain out.
    unusable = "unusable"


class ModelStatus(enum.StrEnum):
    candidate = "candidate"
    promoted = "promoted"  # the current model; at most one at a time
    retired = "retired"  # was promoted once
    rejected = "rejected"  # lost its evaluation


class RunKind(enum.StrEnum):
    sft = "sft"
    prm = "prm"
    rl = "rl"
    eval = "eval"
    loop = "loop"


class RunStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
