"""Training jobs, the use case: what ``chestx train|loop|eval model`` and the admin page call.

Contract: keyword-only functions over a session factory and a
:class:`~training.context.WorkerConfig`, both from the composition root (the CLI, the web app).
A *job* is a recorded top-level run whose worker process trains; nothing here trains in the
calling process, so the web app may call all of it.

- :func:`start_stage` checks a stage's arguments with its entry point's parser, then
  :func:`start_job`; :func:`start_eval` evaluates a model version the same way.
- :func:`start_job` records a job (refused with :class:`~review_db.errors.AlreadyRunning` while
  another is active, or waiting for it with ``wait=True``) and starts its worker process.
- :func:`load_loop_config` reads a loop YAML; :func:`request_loop` checks that the loop has a
  model to start from and whether a run is due, then starts it (``force``: whatever the trigger
  says; ``detach``: the worker outlives the caller, the web app's case).
- :func:`cancel` ends the active job; :func:`overview` is what an admin reads (the active job
  with its progress, recent runs, each failed or cancelled one with the tail of its log, model
  versions); :func:`wait_for_job` follows a job's worker to its end and :func:`outcome` says how
  it ended.

Errors meant for a person are :class:`~review_db.errors.ChestXError` subclasses.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from review_db.engine import read_session, session_scope
from review_db.errors import AlreadyRunning, NotFound, ValidationError
from review_db.models import ModelVersion, TrainingRun
from review_db.types import RunKind, RunStatus
from training import registry, runs
from training.arguments import load_yaml
from training.context import WorkerConfig
from training.entry_points import check_args, entry_name
from training.launch import follow, log_tail, spawn
from training.loop import LoopConfig, trigger_state

STAGE_KINDS = ("sft", "prm", "rl")  # what `chestx train` starts on its own


@dataclass(frozen=True)
class Job:
    """A started job: its run, its worker process and the worker's log."""

    run_id: int
    process: subprocess.Popen
    log_path: Path


@dataclass(frozen=True)
class Outcome:
    """How a job ended, as the run records it (``exit_code``: its worker's)."""

    run_id: int
    status: str
    metrics: dict[str, Any]
    error: str | None
    log_path: str | None
    exit_code: int

    @property
    def succeeded(self) -> bool:
        return self.status == RunStatus.succeeded.value


def start_job(
    *,
    factory: sessionmaker[Session],
    worker: WorkerConfig,
    kind: RunKind | str,
    config: Mapping[str, Any],
    created_by: str,
    launcher: Sequence[str] = (),
    detach: bool = False,
    wait: bool = False,
    poll_s: float = 2.0,
    stale_after: dt.timedelta = dt.timedelta(minutes=10),
) -> Job:
    """Record a job and start its worker (see the module docstring)."""
    while True:
        try:
            with session_scope(factory, actor=created_by) as session:
                run = runs.start_job(
                    session=session, kind=kind, config=config, created_by=created_by, stale_after=stale_after
                )
                run.log_path = str(worker.log_path(run.id))
                run_id = run.id
            break
        except AlreadyRunning:
            if not wait:
                raise
            time.sleep(poll_s)
    process = spawn(run_id, worker=worker, launcher=launcher, detach=detach)
    return Job(run_id, process, worker.log_path(run_id))


def stage_config(
    *,
    stage: str,
    args: Mapping[str, Any],
    dataset: Path | None = None,
    prm_kind: str = "text",
    prm_path: Path | None = None,
) -> dict[str, Any]:
    """The run config of a stage job, its arguments checked first (ValidationError naming the fault).

    ``args`` are the entry point's YAML keys; ``dataset`` an export folder to train on (default:
    the worker exports the verified data itself).
    """
    if stage not in STAGE_KINDS:
        raise ValidationError(f"unknown stage {stage!r}; one of {', '.join(STAGE_KINDS)}")
    args = dict(args)
    if dataset:
        args["dataset_dir"] = str(Path(dataset).resolve())
    check_args(entry_name(stage, prm_kind=prm_kind), args)
    config: dict[str, Any] = {"args": args}
    if stage == "prm":
        config["prm_kind"] = prm_kind
    if prm_path:
        config["prm_path"] = str(Path(prm_path).resolve())
    if args.get("dataset_dir"):
        config["dataset_dir"] = args["dataset_dir"]
    return config


def start_stage(
    *,
    factory: sessionmaker[Session],
    worker: WorkerConfig,
    stage: str,
    args: Mapping[str, Any],
    created_by: str,
    dataset: Path | None = None,
    prm_kind: str = "text",
    prm_path: Path | None = None,
    launcher: Sequence[str] = (),
    wait: bool = False,
    detach: bool = False,
) -> Job:
    """One training stage (sft, prm or rl) as a job: checked, recorded, started."""
    config = stage_config(stage=stage, args=args, dataset=dataset, prm_kind=prm_kind, prm_path=prm_path)
    return start_job(
        factory=factory,
        worker=worker,
        kind=stage,
        config=config,
        created_by=created_by,
        launcher=launcher,
        detach=detach,
        wait=wait,
    )


@dataclass(frozen=True)
class EvalJob:
    """An evaluation job and the model version it evaluates."""

    job: Job
    version_id: int
    version_name: str


def start_eval(
    *,
    factory: sessionmaker[Session],
    worker: WorkerConfig,
    version: str | int | None,
    args: Mapping[str, Any],
    created_by: str,
    dataset: Path | None = None,
    wait: bool = False,
) -> EvalJob:
    """Evaluate a model version (by name or id; None: the promoted one) as an ``eval`` job on the
    held-out test split (of ``dataset``, else of a fresh export)."""
    with read_session(factory) as session:
        target = registry.resolve_version(session=session, ref=version)
        version_id, name = target.id, target.name
    config: dict[str, Any] = {"args": dict(args), "version_ids": [version_id]}
    if dataset:
        config["dataset_dir"] = str(Path(dataset).resolve())
    job = start_job(
        factory=factory, worker=worker, kind=RunKind.eval, config=config, created_by=created_by, wait=wait
    )
    return EvalJob(job, version_id, name)


def version_eval(*, factory: sessionmaker[Session], version_id: int) -> dict[str, Any] | None:
    """A model version's latest held-out evaluation (what :func:`start_eval`'s job stored)."""
    with read_session(factory) as session:
        version = registry.resolve_version(session=session, ref=version_id)
        return (version.metrics or {}).get("eval")


def load_loop_config(path: Path | None) -> LoopConfig:
    """The loop configuration in the YAML file ``path`` (None: the defaults); ValidationError when
    the file cannot be read or names unknown settings."""
    if path is None:
        return LoopConfig.from_dict({})
    try:
        data = load_yaml(path)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read the loop config {Path(path).name}: {exc}") from None
    return LoopConfig.from_dict(data)


def check_loop(*, session: Session, config: LoopConfig) -> None:
    """Refuse a loop that has no model to start from (no base_model and none promoted yet)."""
    needs_model = config.base_model is None and config.stages.get("sft", False)
    if needs_model and registry.current_version(session=session) is None:
        raise ValidationError(
            "no current model version: set base_model in the loop config (the first run registers it)"
        )


@dataclass(frozen=True)
class LoopRequest:
    """What :func:`request_loop` did: a started job, or why none started."""

    job: Job | None
    reason: str


def request_loop(
    *,
    factory: sessionmaker[Session],
    worker: WorkerConfig,
    config: LoopConfig,
    created_by: str,
    force: bool = False,
    wait: bool = False,
    detach: bool = False,
) -> LoopRequest:
    """Start a loop run if one is due, or whatever the trigger says with ``force``."""
    with read_session(factory) as session:
        check_loop(session=session, config=config)
        trigger = trigger_state(session=session, config=config)
    if not (trigger.due or force):
        return LoopRequest(None, trigger.reason)
    reason = trigger.reason if trigger.due else f"forced ({trigger.reason})"
    job = start_job(
        factory=factory,
        worker=worker,
        kind=RunKind.loop,
        config={"loop": config.as_dict(), "trigger": reason},
        created_by=created_by,
        detach=detach,
        wait=wait,
        stale_after=dt.timedelta(minutes=config.stale_minutes),
    )
    return LoopRequest(job, reason)


def cancel(*, factory: sessionmaker[Session], actor: str) -> int:
    """Cancel the active job: SIGTERM its workers running on this machine, mark it cancelled."""
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


def wait_for_job(
    *,
    factory: sessionmaker[Session],
    worker: WorkerConfig,
    job: Job,
    on_update: Callable[[dict[str, Any]], None] | None = None,
) -> Outcome:
    """Follow a job's worker to its end (progress to ``on_update``); how it ended."""
    code = follow(job.process, factory=factory, run_id=job.run_id, worker=worker, on_update=on_update)
    return outcome(factory=factory, run_id=job.run_id, exit_code=code)


def outcome(*, factory: sessionmaker[Session], run_id: int, exit_code: int) -> Outcome:
    """How run ``run_id`` ended, as recorded."""
    with read_session(factory) as session:
        run = session.get(TrainingRun, run_id)
        if run is None:
            raise NotFound(f"no training run {run_id}")
        return Outcome(run_id, run.status.value, dict(run.metrics or {}), run.error, run.log_path, exit_code)


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


def _version_dict(version: ModelVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "name": version.name,
        "status": version.status.value,
        "parent_id": version.parent_id,
        "adapter_path": version.adapter_path,
        "training_run_id": version.training_run_id,
        "promoted_at": version.promoted_at.isoformat() if version.promoted_at else None,
        "eval": (version.metrics or {}).get("eval"),
    }


def overview(*, session: Session, limit: int = 20) -> dict[str, Any]:
    """The active job (with its stages), recent runs and model versions, as plain dicts."""
    job = runs.active_job(session=session)
    recent = session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)).all()
    versions = session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()).limit(limit)).all()
    active = None
    if job is not None:
        stages = [_run_dict(c) for c in runs.children(session=session, run_id=job.id)]
        active = {**_run_dict(job), "stages": stages}
    return {
        "active": active,
        "runs": [_run_dict(r) for r in recent],
        "versions": [_version_dict(v) for v in versions],
    }
