"""``chestx loop [--once]``: the feedback loop's worker, or one run of it.

``chestx loop`` keeps running: every ``poll_seconds`` it fails jobs whose heartbeat stopped,
checks the trigger (enough newly verified cases, or the schedule) and, when due, starts a loop
run in a worker process and waits for it. ``--once`` checks once (``--force`` skips the
trigger). ``--status`` shows the active job and recent runs; ``--cancel`` ends the active job.
Only one training job runs at a time: a second is refused with a message naming the first, or
waits for it with ``--wait``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from chestx.cli.common import clean_errors, database, fail, settings


def _config(path: Path | None) -> Any:
    from training.arguments import load_yaml
    from training.loop import LoopConfig

    with clean_errors():
        config = LoopConfig.from_dict(load_yaml(path) if path else {})
    if config.base_model is None and config.stages.get("sft", False):
        from review_db.engine import read_session
        from training import registry

        with read_session(database()) as session:
            if registry.current_version(session=session) is None:
                raise fail(
                    "no current model version: set base_model in the loop config (the first run registers it)"
                )
    return config


def _status() -> None:
    from review_db.engine import read_session
    from training import jobs

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


def run_once(config: Any, *, force: bool, wait: bool, quiet: bool = False) -> int:
    """One trigger check and, when due, one loop run followed to its end; returns an exit code."""
    import datetime as dt

    from chestx.cli.train import follow_job
    from review_db.engine import read_session
    from review_db.types import RunKind
    from training import jobs
    from training.loop import trigger_state

    with read_session(database()) as session:
        trigger = trigger_state(session=session, config=config)
    if not (trigger.due or force):
        typer.echo(f"not due: {trigger.reason}")
        return 0
    reason = trigger.reason if trigger.due else f"forced ({trigger.reason})"
    with clean_errors():
        run_id, proc = jobs.start(
            settings=settings(),
            kind=RunKind.loop,
            config={"loop": config.as_dict(), "trigger": reason},
            created_by="cli:loop",
            wait=wait,
            stale_after=dt.timedelta(minutes=config.stale_minutes),
        )
    typer.echo(f"loop run {run_id} started: {reason}")
    return follow_job(run_id, proc, quiet=quiet)


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
            from training import jobs

            database()
            with clean_errors():
                run_id = jobs.cancel(settings=settings(), actor="cli:loop")
            typer.echo(f"cancelled run {run_id}")
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
