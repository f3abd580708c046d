"""``chestx eval model [VERSION]``: evaluate a model version on the held-out verified test split.

The evaluation runs as a recorded ``eval`` job in a worker process (like ``chestx train``): it
snapshots a de-identified SFT export of the verified cases, generates a chain for every case of
its test split (never trained on), scores accuracy, RadRScore (offline judge), held-out NLL and
the malformed rate, and stores them on the model version (``model_versions.metrics["eval"]``,
with a bounded history in ``["evals"]``). The loop's promotion gate reads the same numbers. The
use case is :func:`services.training.start_eval`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from chestx.cli.common import clean_errors, database, settings
from chestx.cli.evaluate import eval_app
from chestx.cli.train import follow_job, report
from chestx.compose import worker_config
from services import training as jobs
from training.arguments import load_yaml


def register(app: typer.Typer) -> None:
    @eval_app.command("model")
    def model(
        version: str | None = typer.Argument(None, help="Version name or id (default: the promoted one)."),
        config: Path | None = typer.Option(None, exists=True, dir_okay=False, help="EvalConfig YAML."),
        dataset: Path | None = typer.Option(None, help="An existing SFT export to take the test split from."),
        max_cases: int | None = typer.Option(None, min=1, help="Evaluate at most this many cases."),
        wait: bool = typer.Option(False, help="If a job is running, wait for it instead of refusing."),
    ) -> None:
        """Evaluate VERSION on the held-out test split and store the metrics on it."""
        factory = database()
        args = load_yaml(config) if config else {}
        if max_cases:
            args["max_cases"] = max_cases
        with clean_errors():
            started = jobs.start_eval(
                factory=factory,
                worker=worker_config(settings()),
                version=version,
                args=args,
                dataset=dataset,
                wait=wait,
                created_by="cli:eval",
            )
        typer.echo(f"run {started.job.run_id} (eval of {started.version_name}) started")
        outcome = follow_job(started.job)
        if outcome.succeeded:
            metrics = jobs.version_eval(factory=factory, version_id=started.version_id)
            typer.echo(f"{started.version_name}: {metrics}")
        raise typer.Exit(report(outcome))
