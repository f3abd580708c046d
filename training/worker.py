"""The training worker: executes one recorded run, in its own process.

    python -m training.worker RUN_ID --config run-<id>/worker-config.json
    accelerate launch --config_file training/configs/accelerate_zero2.yaml -m training.worker RUN_ID ...

Contract: :func:`execute` reads the run (kind and config) from ``training_runs``, marks it
running, runs the stage of its kind (:data:`RUNS`: :mod:`training.stages`, and
:func:`training.loop_run.run_loop` for a loop), and marks it succeeded with its metrics, or failed
(cancelled on SIGTERM / Ctrl-C) with the error and the traceback; the log is the process's
output, which the spawner sends to ``run-<id>/worker.log``. What a stage writes to the registry
happens in the same transaction as its success, so a crash leaves either both or neither. Under
``accelerate launch`` every rank trains, and only the main process touches the database.

The process gets its :class:`~training.context.WorkerConfig` from the file ``--config`` names
(written by :func:`training.launch.spawn`, readable by its user only), never from the
application's settings: this package does not import the application.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from review_db.engine import session_factory, session_scope
from review_db.models import TrainingRun
from review_db.types import RunStatus
from training import runs
from training.context import RunContext, Stage, StageResult, WorkerConfig
from training.loop_run import run_loop
from training.stages import STAGES

# What a worker runs, by run kind. A loop runs its stages as child runs, by the same table.
RUNS: Mapping[str, Stage] = {**STAGES, "loop": run_loop}


class Heartbeat:
    """Calls ``beat()`` every ``interval_s`` seconds from a daemon thread until closed, so a stage
    that has no steps to report (loading a model, exporting, evaluating) still looks alive."""

    def __init__(self, beat: Callable[[], None], *, interval_s: float = 15.0) -> None:
        self._beat = beat
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chestx-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - a missed beat must never kill the training
                continue

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)


def _is_main_process() -> bool:
    # torchrun / accelerate set RANK; without it this is the only process.
    from accelerate import PartialState  # lazy: imports torch

    return PartialState().is_main_process


def _begin(
    run_id: int,
    *,
    worker: WorkerConfig,
    factory: sessionmaker[Session],
    main_process: bool,
    stages: Mapping[str, Stage],
) -> RunContext:
    """Mark the run running (main process) and build its context."""
    out_dir = worker.run_dir(run_id)
    with session_scope(factory, actor=f"system:training:run-{run_id}") as session:
        run = session.get(TrainingRun, run_id)
        if run is None:
            raise SystemExit(f"no training run {run_id}")
        if main_process:
            runs.mark_running(
                session=session, run_id=run_id, log_path=run.log_path or str(worker.log_path(run_id))
            )
        kind, config, base_id = run.kind.value, dict(run.config or {}), run.base_model_version_id

    def inline(child_id: int) -> int:  # the loop's "isolation: inline": a child run in this process
        return execute(child_id, worker=worker, factory=factory, main_process=True, stages=stages)

    return RunContext(
        run_id=run_id,
        kind=kind,
        config=config,
        worker=worker,
        factory=factory,
        out_dir=out_dir,
        main_process=main_process,
        base_model_version_id=base_id,
        run_inline=inline,
    )


def _succeed(ctx: RunContext, result: StageResult) -> None:
    with ctx.transaction() as session:
        extra = result.finalize(session) if result.finalize else {}
        runs.finish_run(
            session=session,
            run_id=ctx.run_id,
            metrics={**result.metrics, **(extra or {})},
            checkpoint=result.checkpoint,
            snapshot_hash=result.snapshot_hash,
        )


def execute(
    run_id: int,
    *,
    worker: WorkerConfig,
    factory: sessionmaker[Session] | None = None,
    main_process: bool | None = None,
    stages: Mapping[str, Stage] = RUNS,
) -> int:
    """Run the recorded run ``run_id``; 0 on success, 1 on failure (recorded either way).

    ``factory`` defaults to the worker's database; ``stages`` maps run kinds to what runs them.
    """
    factory = factory or session_factory(worker.database_url, busy_timeout_ms=worker.busy_timeout_ms)
    main_process = _is_main_process() if main_process is None else main_process
    ctx = _begin(run_id, worker=worker, factory=factory, main_process=main_process, stages=stages)
    try:
        with Heartbeat(lambda: ctx.report({}), interval_s=15.0) if main_process else contextlib.nullcontext():
            result = stages[ctx.kind](ctx)
        if main_process:
            _succeed(ctx, result)
        return 0
    except BaseException as exc:  # noqa: BLE001 - every way out is recorded, then re-reported
        cancelled = isinstance(exc, KeyboardInterrupt | _Terminated)
        message = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-6000:]}"
        print(message, flush=True)
        if main_process:
            with ctx.transaction() as session:
                runs.fail_run(
                    session=session,
                    run_id=run_id,
                    error=message,
                    status=RunStatus.cancelled if cancelled else RunStatus.failed,
                )
        return 130 if cancelled else 1


class _Terminated(BaseException):
    """SIGTERM (a cancel): unwinds like Ctrl-C, so the run is recorded as cancelled."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated("cancelled (SIGTERM)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_id", type=int)
    parser.add_argument(
        "--config", required=True, type=Path, help="the worker's config file (written by the spawner)"
    )
    args = parser.parse_args(argv)
    worker = WorkerConfig.load(args.config)
    signal.signal(signal.SIGTERM, _on_sigterm)
    main_process = _is_main_process()
    try:
        return execute(args.run_id, worker=worker, main_process=main_process)
    finally:
        if main_process:  # every rank read it at start; the secret does not outlive the run
            args.config.unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
