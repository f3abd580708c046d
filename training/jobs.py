"""Starting, following and cancelling training jobs: what the CLI and the app call.

Contract: plain functions over :class:`~chestx.settings.Settings`. :func:`start` records a job
(refused with :class:`~review_db.errors.AlreadyRunning` while another is active, or waiting for
it with ``wait=True``) and starts its worker process; it never trains in the calling process,
so the web app can call it. :func:`request_loop` is the app's "run the loop now" (trigger check,
then a detached worker). :func:`cancel` ends the active job. :func:`overview` is what an admin
page shows: the active job with its progress, recent runs (a failed or cancelled one with the
tail of its log, else its error) and model versions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from review_db.engine import read_session, session_factory, session_scope
from review_db.errors import AlreadyRunning, NotFound
from review_db.models import ModelVersion, TrainingRun
from review_db.types import RunKind, RunStatus
from training import runs
from training.launch import log_tail, run_dir, spawn


def start(
    *,
    settings: Any,
    kind: RunKind | str,
    config: Mapping[str, Any],
    created_by: str,
    launcher: Sequence[str] = (),
    detach: bool = False,
    wait: bool = False,
    poll_s: float = 2.0,
    stale_after: dt.timedelta = dt.timedelta(minutes=10),
) -> tuple[int, subprocess.Popen]:
    """Record a job and start its worker; returns (run id, process)."""
    factory = session_factory(settings)
    while True:
        try:
            with session_scope(factory, actor=created_by) as session:
                run = runs.start_job(
                    session=session, kind=kind, config=config, created_by=created_by, stale_after=stale_after
                )
                run.log_path = str(run_dir(settings, run.id) / "worker.log")
                run_id = run.id
            break
        except AlreadyRunning:
            if not wait:
                raise
            time.sleep(poll_s)
    return run_id, spawn(run_id, settings=settings, launcher=launcher, detach=detach)


def request_loop(
    *, settings: Any, loop_config: Mapping[str, Any], created_by: str, force: bool = False
) -> tuple[int | None, str]:
    """Start a loop run if one is due (or ``force``), detached; (run id or None, why)."""
    from training.loop import LoopConfig, trigger_state

    config = LoopConfig.from_dict(dict(loop_config))
    with read_session(session_factory(settings)) as session:
        trigger = trigger_state(session=session, config=config)
    if not (trigger.due or force):
        return None, trigger.reason
    reason = trigger.reason if trigger.due else f"forced ({trigger.reason})"
    run_id, _ = start(
        settings=settings,
        kind=RunKind.loop,
        config={"loop": config.as_dict(), "trigger": reason},
        created_by=created_by,
        detach=True,
        stale_after=dt.timedelta(minutes=config.stale_minutes),
    )
    return run_id, reason


def cancel(*, settings: Any, actor: str) -> int:
    """Cancel the active job: SIGTERM its worker when it runs on this machine, mark it cancelled."""
    factory = session_factory(settings)
    with session_scope(factory, actor=actor) as session:
        job = runs.active_job(session=session)
        if job is None:
            raise NotFound("no training job is queued or running")
        pids = [
            (r.progress or {}).get("pid")
            for r in [job, *runs.children(session=session, run_id=job.id)]
            if (r.progress or {}).get("host") == socket.gethostname() and r.status in runs.ACTIVE
        ]
        runs.fail_run(
            session=session, run_id=job.id, error=f"cancelled by {actor}", status=RunStatus.cancelled
        )
        job_id = job.id
    for pid in pids:
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(pid), signal.SIGTERM)
    return job_id


def _log(run: TrainingRun) -> str | None:
    """What an admin reads about a run that did not succeed: its log's tail, else its error."""
    if run.status not in (RunStatus.failed, RunStatus.cancelled):
        return None
    return log_tail(run.log_path) or (run.error or "")[-4000:] or None


def _run_dict(run: TrainingRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind.value,
        "status": run.status.value,
        "parent_run_id": run.parent_run_id,
        "progress": dict(run.progress or {}),
        "metrics": dict(run.metrics or {}),
        "error": (run.error or "")[:500] or None,
        "log_path": run.log_path,
        "log": _log(run),
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def overview(*, session: Any, limit: int = 20) -> dict[str, Any]:
    """The active job (with its stages), recent runs and model versions, as plain dicts."""
    job = runs.active_job(session=session)
    recent = session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)).all()
    versions = session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()).limit(limit)).all()
    return {
        "active": None
        if job is None
        else {
            **_run_dict(job),
            "stages": [_run_dict(c) for c in runs.children(session=session, run_id=job.id)],
        },
        "runs": [_run_dict(r) for r in recent],
        "versions": [
            {
                "id": v.id,
                "name": v.name,
                "status": v.status.value,
                "parent_id": v.parent_id,
                "adapter_path": v.adapter_path,
                "training_run_id": v.training_run_id,
                "promoted_at": v.promoted_at.isoformat() if v.promoted_at else None,
                "eval": (v.metrics or {}).get("eval"),
            }
            for v in versions
        ],
    }
