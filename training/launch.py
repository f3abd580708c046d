"""Starting a worker process for a recorded run, and waiting on it.

Contract: :func:`spawn` starts ``python -m training.worker RUN_ID --config FILE`` (or the same
under a launcher such as ``accelerate launch --config_file ...``) in a new process with its output
in the run's log file, and returns the ``Popen``. ``FILE`` is the :class:`~training.context.WorkerConfig`
written into the run's folder readable by its user only: the database URL (with any password)
and the pseudonym key never appear on a command line, which every user of the machine can read;
the worker removes it when the run ends (:func:`follow` too, for a worker that was killed).
:func:`follow` waits for the process, handing the run's progress row to a callback as it
changes; when the process exits non-zero and the run is still active (the worker was killed and
could not say so itself), it marks the run failed with the exit status and the log's tail.
Training therefore never runs in the caller's process.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from review_db.engine import session_scope
from review_db.models import TrainingRun
from training import runs
from training.context import WorkerConfig

_PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOG_TAIL_CHARS = 4000
CONFIG_FILE = "worker-config.json"


def config_path(worker: WorkerConfig, run_id: int) -> Path:
    """Where the worker of ``run_id`` reads its :class:`~training.context.WorkerConfig`."""
    return worker.run_dir(run_id) / CONFIG_FILE


def worker_command(run_id: int, *, config: Path, launcher: Sequence[str] = ()) -> list[str]:
    """The command line of the worker for ``run_id``: no secret on it, only the config file's path."""
    tail = ["-m", "training.worker", str(run_id), "--config", str(config)]
    if launcher:
        return [*launcher, *tail]
    return [sys.executable, *tail]


def spawn(
    run_id: int, *, worker: WorkerConfig, launcher: Sequence[str] = (), detach: bool = False
) -> subprocess.Popen:
    """Start the worker; its stdout and stderr go to ``run-<id>/worker.log``.

    ``detach`` puts it in its own session, so it outlives the caller (the web app's case).
    """
    folder = worker.run_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    config = worker.save(config_path(worker, run_id))
    log = worker.log_path(run_id).open("ab")
    try:
        return subprocess.Popen(  # noqa: S603 - our own module, arguments we built
            worker_command(run_id, config=config, launcher=launcher),
            cwd=_PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=detach,
        )
    finally:
        log.close()  # the child holds its own descriptor


def log_tail(path: str | Path | None, chars: int = LOG_TAIL_CHARS) -> str:
    """The end of a log file ('' when there is none)."""
    if not path:
        return ""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ""
    return data[-chars:].decode("utf-8", "replace")


def snapshot_of(factory: sessionmaker[Session], run_id: int) -> dict[str, Any]:
    """The run's status and progress, plus its active stage's progress when it is a loop."""
    with factory() as session:
        run = session.get(TrainingRun, run_id)
        if run is None:
            return {}
        stage = session.scalar(
            select(TrainingRun)
            .where(TrainingRun.parent_run_id == run_id)
            .order_by(TrainingRun.id.desc())
            .limit(1)
        )
        return {
            "status": run.status.value,
            "kind": run.kind.value,
            "progress": dict(run.progress or {}),
            "stage": None
            if stage is None
            else {
                "id": stage.id,
                "kind": stage.kind.value,
                "status": stage.status.value,
                "progress": dict(stage.progress or {}),
            },
            "error": run.error,
            "metrics": dict(run.metrics or {}),
        }


def follow(
    proc: subprocess.Popen,
    *,
    factory: sessionmaker[Session],
    run_id: int,
    worker: WorkerConfig | None = None,
    on_update: Callable[[dict[str, Any]], None] | None = None,
    poll_s: float = 0.5,
) -> int:
    """Wait for the worker; report progress; fail the run if the process died without saying so.

    With ``worker``, the worker's config file is removed once the process has ended (a killed
    worker cannot remove it itself). Returns the process's exit status.
    """
    last: dict[str, Any] | None = None
    while True:
        code = proc.poll()
        if on_update is not None:
            now = snapshot_of(factory, run_id)
            if now != last:
                on_update(now)
                last = now
        if code is not None:
            break
        time.sleep(poll_s)
    if worker is not None:
        config_path(worker, run_id).unlink(missing_ok=True)
    if code != 0:
        with session_scope(factory, actor="system:training") as session:
            run = session.get(TrainingRun, run_id)
            tail = log_tail(run.log_path if run else None)
            runs.fail_run(
                session=session, run_id=run_id, error=f"the worker exited with status {code}\n{tail}"
            )
    return code
