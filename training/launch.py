"""Starting a worker process for a recorded run, and waiting on it.

Contract: :func:`spawn` starts ``python -m training.worker RUN_ID`` (or the same under a
launcher such as ``accelerate launch --config_file ...``) in a new process with its output in the
run's log file, and returns the ``Popen``. :func:`follow` waits for it, handing the run's
progress row to a callback as it changes; when the process exits non-zero and the run is still
active (the worker was killed and could not say so itself), it marks the run failed with the
exit status and the log's tail. Training therefore never runs in the caller's process.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from review_db.models import TrainingRun

_PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOG_TAIL_CHARS = 4000


def run_dir(settings: Any, run_id: int) -> Path:
    """The folder of a run's outputs and log: ``<home>/runs/run-<id>``."""
    return Path(settings.runs_dir) / f"run-{run_id}"


def worker_command(run_id: int, *, settings: Any, launcher: Sequence[str] = ()) -> list[str]:
    """The command line of the worker for ``run_id`` (the database is passed explicitly)."""
    tail = [
        "-m",
        "training.worker",
        str(run_id),
        "--database-url",
        settings.sqlalchemy_url,
        "--home",
        str(settings.home),
    ]
    if launcher:
        return [*launcher, *tail]
    return [sys.executable, *tail]


def spawn(
    run_id: int, *, settings: Any, launcher: Sequence[str] = (), detach: bool = False
) -> subprocess.Popen:
    """Start the worker; its stdout and stderr go to ``run-<id>/worker.log``.

    ``detach`` puts it in its own session, so it outlives the caller (the web app's case).
    """
    folder = run_dir(settings, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "worker.log").open("ab")
    try:
        return subprocess.Popen(  # noqa: S603 - our own module, arguments we built
            worker_command(run_id, settings=settings, launcher=launcher),
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


def snapshot_of(factory: Any, run_id: int) -> dict[str, Any]:
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
    factory: Any,
    run_id: int,
    on_update: Callable[[dict[str, Any]], None] | None = None,
    poll_s: float = 0.5,
) -> int:
    """Wait for the worker; report progress; fail the run if the process died without saying so.

    Returns the process's exit status.
    """
    from review_db.engine import session_scope
    from training import runs

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
    if code != 0:
        with session_scope(factory, actor="system:training") as session:
            run = session.get(TrainingRun, run_id)
            tail = log_tail(run.log_path if run else None)
            runs.fail_run(
                session=session, run_id=run_id, error=f"the worker exited with status {code}\n{tail}"
            )
    return code
