"""The training worker: executes one recorded run, in its own process.

    python -m training.worker RUN_ID --database-url URL --home DIR
    accelerate launch --config_file training/configs/accelerate_zero2.yaml -m training.worker RUN_ID ...

Contract: :func:`execute` reads the run (kind and config) from ``training_runs``, marks it
running, runs its stage (:mod:`training.stages`, or :func:`training.loop.run_loop` for a loop),
and marks it succeeded with its metrics, or failed (cancelled on SIGTERM / Ctrl-C) with the
error and the traceback; the log is the process's output, which the spawner sends to
``run-<id>/worker.log``. What a stage writes to the registry happens in the same transaction as
its success, so a crash leaves either both or neither. Under ``accelerate launch`` every rank
trains, and only the main process touches the database.

Fault injection (tests, drills): a run config ``{"fault": {"after_step": N, "mode": "raise" |
"kill"}}`` makes the training stop after optimiser step N, by an exception (the worker records
the failure) or by ``os._exit`` (as if the OOM killer struck: whoever waits records it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review_db.engine import session_factory, session_scope
from review_db.models import TrainingRun
from review_db.types import RunStatus
from training import runs
from training.launch import run_dir


class InjectedFault(RuntimeError):
    """Raised by fault injection ("mode": "raise")."""


@dataclass
class StageResult:
    """What a stage hands back: metrics, its output folder, and registry writes to commit with success."""

    metrics: dict[str, Any]
    checkpoint: str | None = None
    snapshot_hash: str | None = None
    finalize: Callable[[Any], dict[str, Any]] | None = None  # session -> extra metrics


@dataclass
class RunContext:
    """A run as its stage sees it: config, folders, database access and progress reporting."""

    run_id: int
    kind: str
    config: dict[str, Any]
    settings: Any
    factory: Any
    out_dir: Path
    main_process: bool = True
    base_model_version_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return f"system:training:run-{self.run_id}"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        with session_scope(self.factory, actor=self.actor) as session:
            yield session

    def report(self, progress: dict[str, Any]) -> None:
        if self.main_process:
            runs.write_progress(self.factory, self.run_id, progress)

    def callbacks(self, stage: str) -> list[Any]:
        """The trainer callbacks of a stage: progress to the database, and fault injection."""
        # Here, not at the top: it subclasses transformers' TrainerCallback (seconds to import),
        # and the web app imports this module to start the loop without training anything.
        from training.progress import ProgressCallback

        return [ProgressCallback(self.report, stage=stage, on_step=self._fault_hook())]

    def _fault_hook(self) -> Callable[[int], None] | None:
        fault = self.config.get("fault") or {}
        if not fault.get("after_step"):
            return None
        after, mode = int(fault["after_step"]), fault.get("mode", "raise")

        def hook(step: int) -> None:
            if step < after:
                return
            if mode == "kill":
                os._exit(137)  # no handler runs, no status is written: a hard crash
            raise InjectedFault(f"fault injected after step {step}")

        return hook


def _is_main_process() -> bool:
    # torchrun / accelerate set RANK; without it this is the only process.
    from accelerate import PartialState

    return PartialState().is_main_process


def _stage(kind: str) -> Callable[[RunContext], StageResult]:
    from training import stages

    if kind == "loop":
        from training.loop import run_loop

        return run_loop
    return stages.STAGES[kind]


def execute(
    run_id: int, *, settings: Any, factory: Any | None = None, main_process: bool | None = None
) -> int:
    """Run the recorded run ``run_id``; 0 on success, 1 on failure (recorded either way)."""
    from training.progress import Heartbeat  # see RunContext.callbacks

    factory = factory or session_factory(settings)
    main_process = _is_main_process() if main_process is None else main_process
    out_dir = run_dir(settings, run_id)
    with session_scope(factory, actor=f"system:training:run-{run_id}") as session:
        run = session.get(TrainingRun, run_id)
        if run is None:
            raise SystemExit(f"no training run {run_id}")
        if main_process:
            runs.mark_running(
                session=session, run_id=run_id, log_path=run.log_path or str(out_dir / "worker.log")
            )
        ctx = RunContext(
            run_id,
            run.kind.value,
            dict(run.config or {}),
            settings,
            factory,
            out_dir,
            main_process,
            run.base_model_version_id,
        )
    try:
        with Heartbeat(lambda: ctx.report({}), interval_s=15.0) if main_process else contextlib.nullcontext():
            result = _stage(ctx.kind)(ctx)
        if main_process:
            with ctx.transaction() as session:
                extra = result.finalize(session) if result.finalize else {}
                runs.finish_run(
                    session=session,
                    run_id=run_id,
                    metrics={**result.metrics, **(extra or {})},
                    checkpoint=result.checkpoint,
                    snapshot_hash=result.snapshot_hash,
                )
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
    parser.add_argument("--database-url", help="the database holding the run (default: the settings')")
    parser.add_argument("--home", help="CHESTX_HOME of the caller (runs, models, exports live there)")
    args = parser.parse_args(argv)
    from chestx.settings import Settings

    overrides = {k: v for k, v in {"database_url": args.database_url, "home": args.home}.items() if v}
    settings = Settings(**overrides)
    signal.signal(signal.SIGTERM, _on_sigterm)
    return execute(args.run_id, settings=settings)


if __name__ == "__main__":
    raise SystemExit(main())
