"""Training-run bookkeeping: one job at a time, status transitions, progress ticks, stale runs.

Contract: keyword-only functions that take a session and never commit (the caller owns the
transaction), except :func:`write_progress`, which takes a session *factory* because progress
ticks come from a training callback, outside any unit of work.

One job at a time. A *job* is a top-level run (``parent_run_id`` NULL: a ``chestx train`` run or
a loop run); the stages a loop starts are its children. :func:`start_job` refuses a second job
with :class:`~review_db.errors.AlreadyRunning` while one is queued or running. The check and the
insert are serialised by the database, not by this process: on SQLite every writing transaction
is ``BEGIN IMMEDIATE`` (see :mod:`review_db.engine`), so two of them never interleave; on
PostgreSQL a transaction-scoped advisory lock is taken first. (A partial unique index on active
top-level runs would make the rule a constraint as well; see docs/TRAINING.md.)

Crashes. A worker that raises marks its run failed itself (:func:`fail_run`). A worker that is
killed cannot, so whoever waits on it marks the run failed when the process exits non-zero, and
:func:`reap_stale` fails active runs whose heartbeat stopped, so a dead job never blocks the next.

Progress ticks (``progress``, ``heartbeat_at``) are written with a plain UPDATE: they are not
audited (the model says so), they do not bump the row's version, and so they never conflict with
a status change made at the same moment.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from review_db.errors import AlreadyRunning, ValidationError
from review_db.models import TrainingRun
from review_db.store.common import get_or_raise
from review_db.types import RunKind, RunStatus, utcnow

ACTIVE = (RunStatus.queued, RunStatus.running)
FINISHED = (RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled)
# Any 64-bit number no other part of the application uses for pg_advisory_xact_lock.
_JOB_LOCK_KEY = 0x43_68_65_73_74_58_01  # "ChestX" + 1
MAX_ERROR_CHARS = 8000


def _serialise_job_starts(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_JOB_LOCK_KEY)))
    # SQLite: the transaction began with BEGIN IMMEDIATE and already holds the write lock.


def active_job(*, session: Session) -> TrainingRun | None:
    """The queued or running top-level run, if any."""
    return session.scalar(
        select(TrainingRun)
        .where(TrainingRun.parent_run_id.is_(None), TrainingRun.status.in_(ACTIVE))
        .order_by(TrainingRun.id)
        .limit(1)
    )


def describe(run: TrainingRun) -> str:
    """One line for people: "run 12 (loop, running since 10:02 UTC, sft step 30/120)"."""
    since = run.started_at or run.created_at
    where = ""
    p = run.progress or {}
    if p.get("total"):
        where = f", {p.get('stage') or run.kind.value} step {p.get('step', 0)}/{p['total']}"
    return f"run {run.id} ({run.kind.value}, {run.status.value} since {since:%Y-%m-%d %H:%M} UTC{where})"


def start_job(
    *,
    session: Session,
    kind: RunKind | str,
    config: Mapping[str, Any],
    created_by: str,
    base_model_version_id: int | None = None,
    stale_after: dt.timedelta | None = dt.timedelta(minutes=10),
) -> TrainingRun:
    """Queue a top-level run, or raise AlreadyRunning naming the job in the way.

    Active runs whose heartbeat is older than ``stale_after`` are failed first (see
    :func:`reap_stale`), so a killed worker does not block the queue forever.
    """
    _serialise_job_starts(session)
    if stale_after is not None:
        reap_stale(session=session, stale_after=stale_after)
    current = active_job(session=session)
    if current is not None:
        raise AlreadyRunning(
            f"a training job is already in progress: {describe(current)}; "
            "wait for it to finish (or use --wait), or cancel it with `chestx loop --cancel`"
        )
    return _insert(session, kind, config, created_by, None, base_model_version_id)


def start_child(
    *,
    session: Session,
    parent_run_id: int,
    kind: RunKind | str,
    config: Mapping[str, Any],
    base_model_version_id: int | None = None,
) -> TrainingRun:
    """Queue a stage of a running job (SFT, PRM, RL or evaluation inside a loop)."""
    parent = get_or_raise(session, TrainingRun, parent_run_id)
    if parent.status not in ACTIVE:
        raise ValidationError(f"run {parent.id} is {parent.status.value}; it cannot start stages")
    return _insert(session, kind, config, parent.created_by, parent.id, base_model_version_id)


def _insert(
    session: Session,
    kind: RunKind | str,
    config: Mapping[str, Any],
    created_by: str,
    parent_run_id: int | None,
    base_model_version_id: int | None,
) -> TrainingRun:
    run = TrainingRun(
        kind=RunKind(kind),
        status=RunStatus.queued,
        parent_run_id=parent_run_id,
        base_model_version_id=base_model_version_id,
        config=dict(config),
        metrics={},
        progress={},
        created_by=created_by,
    )
    session.add(run)
    session.flush()
    return run


def mark_running(*, session: Session, run_id: int, log_path: str | None = None) -> TrainingRun:
    """queued -> running; records the log path, the start time and who runs it (pid, host)."""
    run = get_or_raise(session, TrainingRun, run_id, for_update=True)
    if run.status is not RunStatus.queued:
        raise ValidationError(f"run {run_id} is {run.status.value}, not queued; it cannot start")
    now = utcnow()
    run.status = RunStatus.running
    run.started_at = now
    run.heartbeat_at = now
    run.log_path = log_path or run.log_path
    run.progress = {**(run.progress or {}), "pid": os.getpid(), "host": socket.gethostname()}
    session.flush()
    return run


def finish_run(
    *,
    session: Session,
    run_id: int,
    metrics: Mapping[str, Any] | None = None,
    checkpoint: str | None = None,
    snapshot_hash: str | None = None,
) -> TrainingRun:
    """running -> succeeded, with the run's metrics and its output folder."""
    run = get_or_raise(session, TrainingRun, run_id, for_update=True)
    if run.status is not RunStatus.running:
        raise ValidationError(f"run {run_id} is {run.status.value}, not running; it cannot succeed")
    run.status = RunStatus.succeeded
    run.finished_at = utcnow()
    run.metrics = {**(run.metrics or {}), **dict(metrics or {})}
    run.checkpoint = checkpoint or run.checkpoint
    run.snapshot_hash = snapshot_hash or run.snapshot_hash
    session.flush()
    return run


def fail_run(*, session: Session, run_id: int, error: str, status: RunStatus = RunStatus.failed) -> bool:
    """Mark an active run failed (or cancelled) with ``error``; False if it had already ended.

    Active children of the run end with it: a loop that fails takes its running stage along.
    """
    run = get_or_raise(session, TrainingRun, run_id, for_update=True)
    if run.status not in ACTIVE:
        return False
    for child in session.scalars(
        select(TrainingRun).where(TrainingRun.parent_run_id == run.id, TrainingRun.status.in_(ACTIVE))
    ):
        fail_run(
            session=session, run_id=child.id, error=f"its job (run {run.id}) ended: {error}", status=status
        )
    run.status = status
    run.finished_at = utcnow()
    run.error = error[-MAX_ERROR_CHARS:]
    session.flush()
    return True


def set_fields(*, session: Session, run_id: int, **fields: Any) -> TrainingRun:
    """Record what a run learns along the way: snapshot_hash, checkpoint, metrics (merged), config."""
    allowed = {"snapshot_hash", "checkpoint", "metrics", "config", "base_model_version_id", "log_path"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"cannot set {', '.join(sorted(unknown))} on a run")
    run = get_or_raise(session, TrainingRun, run_id)
    for key, value in fields.items():
        if key == "metrics":
            value = {**(run.metrics or {}), **dict(value)}
        setattr(run, key, value)
    session.flush()
    return run


def reap_stale(*, session: Session, stale_after: dt.timedelta, now: dt.datetime | None = None) -> list[int]:
    """Fail active runs that stopped sending heartbeats (a killed worker, a lost machine).

    A queued run counts from its creation, a running one from its last heartbeat. Returns the
    ids failed.
    """
    cutoff = (now or utcnow()) - stale_after
    last_sign = func.coalesce(TrainingRun.heartbeat_at, TrainingRun.started_at, TrainingRun.created_at)
    stale = session.scalars(
        select(TrainingRun).where(
            TrainingRun.status.in_(ACTIVE), TrainingRun.parent_run_id.is_(None), last_sign < cutoff
        )
    ).all()
    for run in stale:
        fail_run(
            session=session,
            run_id=run.id,
            error=f"no heartbeat for more than {stale_after}; the worker is presumed dead"
            + (f" (log: {run.log_path})" if run.log_path else ""),
        )
    return [run.id for run in stale]


def write_progress(factory: sessionmaker[Session], run_id: int, progress: Mapping[str, Any]) -> None:
    """Merge ``progress`` into the run's progress and beat its heart, in its own short transaction.

    A plain UPDATE (no version bump, not audited): see the module docstring.
    """
    with factory() as session, session.begin():
        current = session.scalar(select(TrainingRun.progress).where(TrainingRun.id == run_id)) or {}
        session.execute(
            update(TrainingRun)
            .where(TrainingRun.id == run_id)
            .values(progress={**current, **dict(progress)}, heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def children(*, session: Session, run_id: int) -> list[TrainingRun]:
    """The stages of a job, in order."""
    return list(
        session.scalars(
            select(TrainingRun).where(TrainingRun.parent_run_id == run_id).order_by(TrainingRun.id)
        )
    )


def last_job(
    *, session: Session, kind: RunKind | str, statuses: tuple[RunStatus, ...] = FINISHED
) -> TrainingRun | None:
    """The newest top-level run of ``kind`` with one of ``statuses``."""
    return session.scalar(
        select(TrainingRun)
        .where(
            TrainingRun.kind == RunKind(kind),
            TrainingRun.parent_run_id.is_(None),
            TrainingRun.status.in_(statuses),
        )
        .order_by(TrainingRun.id.desc())
        .limit(1)
    )
