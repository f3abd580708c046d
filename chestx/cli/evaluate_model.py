"""``chestx eval model [VERSION]``: evaluate a model version on the held-out verified test split.

The evaluation runs as a recorded ``eval`` job in a worker process (like ``chestx train``): it
snapshots a de-identified SFT export of the verified cases, generates a chain for every case of
its test split (never trained on), scores accuracy, RadRScore (offline judge), held-out NLL and
the malformed rate, and stores them on the model version (``model_versions.metrics["eval"]``,
with a bounded history in ``["evals"]``). The loop's promotion gate reads the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import typer

from chestx.cli.common import clean_errors, database, settings


def register(app: typer.Typer) -> None:
    from chestx.cli.evaluate import eval_app

    @eval_app.command("model")
    def model(
        version: str | None = typer.Argument(None, help="Version name or id (default: the promoted one)."),
        config: Path | None = typer.Option(None, exists=True, dir_okay=False, help="EvalConfig YAML."),
        dataset: Path | None = typer.Option(None, help="An existing SFT export to take the test split from."),
        max_cases: int | None = typer.Option(None, min=1, help="Evaluate at most this many cases."),
        wait: bool = typer.Option(False, help="If a job is running, wait for it instead of refusing."),
    ) -> None:
        """Evaluate VERSION on the held-out test split and store the metrics on it."""
        from chestx.cli.train import follow_job, report
        from review_db.engine import read_session
        from training import jobs, registry
        from training.arguments import load_yaml

        factory = database()
        args = load_yaml(config) if config else {}
        if max_cases:
            args["max_cases"] = max_cases
        with clean_errors():
            with read_session(factory) as session:
                target = registry.resolve_version(session=session, ref=version)
                version_id, name = target.id, target.name
            run_config = {"args": args, "version_ids": [version_id]}
            if dataset:
                run_config["dataset_dir"] = str(dataset.resolve())
            run_id, proc = jobs.start(
                settings=settings(), kind="eval", config=run_config, created_by="cli:eval", wait=wait
            )
        typer.echo(f"run {run_id} (eval of {name}) started")
        code = follow_job(run_id, proc)
        if code == 0:
            with read_session(factory) as session:
                evaluated = registry.resolve_version(session=session, ref=version_id)
                metrics = (evaluated.metrics or {}).get("eval")
            typer.echo(f"{name}: {metrics}")
        raise typer.Exit(report(run_id, code))
