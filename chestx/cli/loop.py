"""``chestx loop [--once]``: the feedback loop's worker, or one run of it.

``chestx loop`` keeps running: every ``poll_seconds`` it fails jobs whose heartbeat stopped,
checks the trigger (enough newly verified cases, or the schedule) and, when due, starts a loop
run in a worker process and waits for it. ``--once`` checks once (``--force`` skips the
trigger). ``--status`` shows the active job and recent runs; ``--cancel`` ends the active job.
Only one training job runs at a time: a second is refused with a message naming the first, or
waits for it with ``--wait``. The use case is :mod:`services.training`, the same functions the
admin page's "Run loop now" and "Cancel" call.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from chestx.cli.common import clean_errors, database, settings
from chestx.cli.train import follow_job, report, worker_config
from review_db.engine import read_session
from services import training as jobs
from training.loop import LoopConfig


def _status() -> None:
    with read_session(database()) as session:
        info = jobs.overview(session=session, limit=8)
    active = info["active"]
    if active is None:
        typer.echo("no training job is running")
    else:
        p = active["progress"]
        typer.echo(
            f"active: run {active['id']} ({active['kind']}, {active['status']}) stage {p.get('stage')} "
            f"step {p.get('step')}/{p.get('total')} loss {p.get('loss')} eta {p.get('eta_s')}s"
        )
        for stage in active["stages"]:
            typer.echo(f"  stage run {stage['id']} {stage['kind']} {stage['status']}")
    for run in info["runs"]:
        extra = (
            run["metrics"].get("decision_reason") or run["metrics"].get("model_version") or run["error"] or ""
        )
        typer.echo(f"run {run['id']:>4} {run['kind']:<5} {run['status']:<10} {str(extra)[:90]}")
    for v in info["versions"]:
        typer.echo(f"model {v['id']:>4} {v['name']:<20} {v['status']}")


def run_once(config: LoopConfig, *, force: bool, wait: bool, quiet: bool = False) -> int:
    """One trigger check and, when due, one loop run followed to its end; returns an exit code."""
    with clean_errors():
        request = jobs.request_loop(
            factory=database(),
            worker=worker_config(settings()),
            config=config,
            created_by="cli:loop",
            force=force,
            wait=wait,
        )
    if request.job is None:
        typer.echo(f"not due: {request.reason}")
        return 0
    typer.echo(f"loop run {request.job.run_id} started: {request.reason}")
    return report(follow_job(request.job, quiet=quiet))


def _cancel() -> None:
    with clean_errors():
        run_id = jobs.cancel(factory=database(), actor="cli:loop")
    typer.echo(f"cancelled run {run_id}")


def _config(path: Path | None) -> LoopConfig:
    """The loop configuration, refused early when it has no model to start from."""
    with clean_errors():
        config = jobs.load_loop_config(path)
        with read_session(database()) as session:
            jobs.check_loop(session=session, config=config)
    return config


def register(app: typer.Typer) -> None:
    @app.command("loop")
    def loop(
        once: bool = typer.Option(False, "--once", help="Check the trigger once, run if due, and exit."),
        config: Path = typer.Option(
            None, "--config", exists=True, dir_okay=False, help="Loop YAML (training/configs/loop.yaml)."
        ),
        force: bool = typer.Option(
            False, "--force", help="Run now, whatever the trigger says (with --once)."
        ),
        wait: bool = typer.Option(
            False, "--wait", help="If a job is running, wait for it instead of refusing."
        ),
        status: bool = typer.Option(False, "--status", help="Show the active job, recent runs and versions."),
        cancel: bool = typer.Option(False, "--cancel", help="Cancel the active training job."),
    ) -> None:
        """The feedback loop: fine-tune on newly verified cases, evaluate, promote or keep."""
        if status:
            _status()
            return
        if cancel:
            _cancel()
            return
        cfg = _config(config)
        if once:
            raise typer.Exit(run_once(cfg, force=force, wait=wait))
        typer.echo(f"loop worker: checking every {cfg.poll_seconds:g} s (Ctrl-C to stop)")
        try:
            while True:
                run_once(cfg, force=False, wait=True, quiet=True)
                time.sleep(cfg.poll_seconds)
        except KeyboardInterrupt:
            typer.echo("loop worker stopped")
            raise typer.Exit(130) from None
