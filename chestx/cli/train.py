"""``chestx train sft|prm|rl [--config FILE]``: one training stage as a recorded job.

The config is the entry point's YAML (see training/configs/); it is checked here, recorded in
``training_runs``, and trained by a worker process (``python -m training.worker``) while this
command shows its progress (step, loss, ETA). Without ``dataset_dir`` in the config (or
``--dataset``), the worker exports the verified data first. A trained adapter is registered as a
candidate model version whose parent is the current one; promotion is the loop's job
(``chestx loop``), after evaluation.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import typer

from chestx.cli.common import clean_errors, database, fail, settings

ENTRY_POINTS = {
    "sft": "training.sft",
    "rl": "training.grpo",
    "prm:text": "training.prm_text",
    "prm:trl": "training.prm_trl",
}


def check_config(entry: str, args: dict[str, Any]) -> None:
    """Parse ``args`` with the entry point's parser, so a bad config fails before a run is recorded."""
    import importlib

    from training.arguments import parse_config

    probe = {"output_dir": "unused", **args}
    try:
        parse_config(importlib.import_module(ENTRY_POINTS[entry]).make_parser(), probe)
    except (ValueError, TypeError) as exc:
        raise fail(f"invalid {entry} config: {exc}") from None


def follow_job(run_id: int, proc: Any, *, quiet: bool = False) -> int:
    """Show a job's progress (a tqdm bar per stage) until its worker exits; return 0 if it succeeded."""
    from tqdm import tqdm

    from training.launch import follow

    bar: dict[str, Any] = {"bar": None, "key": None}

    def update(snap: dict[str, Any]) -> None:
        stage = snap.get("stage") or {}
        progress = (
            stage.get("progress") if stage and stage.get("status") == "running" else snap.get("progress")
        )
        progress = progress or {}
        key = (stage.get("id"), progress.get("stage"))
        if quiet or not progress.get("total"):
            return
        if bar["key"] != key:
            if bar["bar"] is not None:
                bar["bar"].close()
            bar["bar"] = tqdm(
                total=progress["total"], desc=str(progress.get("stage") or snap.get("kind")), unit="step"
            )
            bar["key"] = key
        b = bar["bar"]
        b.n = int(progress.get("step") or 0)
        loss, eta = progress.get("loss"), progress.get("eta_s")
        b.set_postfix_str(
            " ".join(
                x
                for x in (
                    f"loss={loss:.4g}" if loss is not None else "",
                    f"eta={eta:.0f}s" if eta is not None else "",
                )
                if x
            )
        )
        b.refresh()

    factory = database()
    code = follow(proc, factory=factory, run_id=run_id, on_update=update)
    if bar["bar"] is not None:
        bar["bar"].close()
    return report(run_id, code)


def report(run_id: int, code: int) -> int:
    """Print how a job ended; 0 when it succeeded."""
    from review_db.engine import read_session
    from review_db.models import TrainingRun

    with read_session(database()) as session:
        run = session.get(TrainingRun, run_id)
        status, metrics, error, log = run.status.value, dict(run.metrics or {}), run.error, run.log_path
    shown = {
        k: v
        for k, v in metrics.items()
        if k
        in (
            "model_version",
            "auroc",
            "auroc_test",
            "train_loss",
            "decision",
            "decision_reason",
            "steps",
            "prm_dir",
            "adapter_dir",
        )
    }
    typer.echo(f"run {run_id} {status}" + "".join(f"\n  {k}: {v}" for k, v in shown.items()))
    if status != "succeeded":
        typer.echo(
            f"  error: {(error or '').strip().splitlines()[0] if error else 'worker exited ' + str(code)}",
            err=True,
        )
        typer.echo(f"  log: {log}", err=True)
        return 1
    return 0


def _start_stage(
    kind: str,
    entry: str,
    config: Path | None,
    dataset: Path | None,
    launcher: str | None,
    wait: bool,
    detach: bool,
    extra: dict[str, Any],
) -> None:
    from training import jobs
    from training.arguments import load_yaml

    args = load_yaml(config) if config else {}
    if dataset:
        args["dataset_dir"] = str(dataset.resolve())
    check_config(entry, args)
    run_config = {"args": args, **extra}
    if args.get("dataset_dir"):
        run_config["dataset_dir"] = args["dataset_dir"]
    database()
    with clean_errors():
        run_id, proc = jobs.start(
            settings=settings(),
            kind=kind,
            config=run_config,
            created_by="cli:train",
            launcher=shlex.split(launcher) if launcher else (),
            detach=detach,
            wait=wait,
        )
    typer.echo(f"run {run_id} ({kind}) started; log: {settings().runs_dir / f'run-{run_id}' / 'worker.log'}")
    if detach:
        return
    raise typer.Exit(follow_job(run_id, proc))


_CONFIG = typer.Option(
    None, "--config", exists=True, dir_okay=False, help="YAML config (see training/configs/)."
)
_DATASET = typer.Option(
    None, "--dataset", exists=True, file_okay=False, help="An export folder; default: export now."
)
_LAUNCHER = typer.Option(
    None, "--launcher", help='e.g. "accelerate launch --config_file training/configs/accelerate_zero2.yaml"'
)
_WAIT = typer.Option(False, "--wait", help="If a job is running, wait for it instead of refusing.")
_DETACH = typer.Option(False, "--detach", help="Start the worker and return at once.")


def register(app: typer.Typer) -> None:
    train = typer.Typer(
        help="Train one stage: LoRA SFT, a process reward model, or RL (GRPO).", no_args_is_help=True
    )

    @train.command("sft")
    def sft(
        config: Path = _CONFIG,
        dataset: Path = _DATASET,
        launcher: str = _LAUNCHER,
        wait: bool = _WAIT,
        detach: bool = _DETACH,
    ) -> None:
        """LoRA SFT of the reasoner on verified chains (TRL SFTTrainer)."""
        _start_stage("sft", "sft", config, dataset, launcher, wait, detach, {})

    @train.command("prm")
    def prm(
        config: Path = _CONFIG,
        dataset: Path = _DATASET,
        kind: str = typer.Option("text", "--kind", help="text (MiniLM, CPU) or trl (PRMTrainer)"),
        wait: bool = _WAIT,
        detach: bool = _DETACH,
    ) -> None:
        """A process reward model on step verdicts; reports held-out AUROC."""
        if kind not in ("text", "trl"):
            raise fail("--kind is text or trl")
        _start_stage("prm", f"prm:{kind}", config, dataset, None, wait, detach, {"prm_kind": kind})

    @train.command("rl")
    def rl(
        config: Path = _CONFIG,
        dataset: Path = _DATASET,
        launcher: str = _LAUNCHER,
        wait: bool = _WAIT,
        detach: bool = _DETACH,
        prm: Path = typer.Option(None, "--prm", exists=True, file_okay=False, help="A trained PRM folder."),
    ) -> None:
        """GRPO with rewards = correctness + format + process reward (TRL GRPOTrainer)."""
        _start_stage(
            "rl",
            "rl",
            config,
            dataset,
            launcher,
            wait,
            detach,
            {"prm_path": str(prm.resolve())} if prm else {},
        )

    app.add_typer(train, name="train")
