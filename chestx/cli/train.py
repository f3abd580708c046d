"""``chestx train sft|prm|rl [--config FILE]``: one training stage as a recorded job.

The config is the entry point's YAML (see training/configs/); it is checked, recorded in
``training_runs``, and trained by a worker process (``python -m training.worker``) while this
command shows its progress (step, loss, ETA). Without ``dataset_dir`` in the config (or
``--dataset``), the worker exports the verified data first. A trained adapter is registered as a
candidate model version whose parent is the current one; promotion is the loop's job
(``chestx loop``), after evaluation. The use case is :mod:`services.training` (shared with the
admin page); here are the options, the progress bars and the report.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import typer
from tqdm import tqdm

from chestx.cli.common import clean_errors, database, fail, settings
from chestx.compose import worker_config
from services import training as jobs
from training.arguments import load_yaml
from training.entry_points import PRM_KINDS

# What `chestx train` prints of a finished run's metrics.
SHOWN_METRICS = (
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


class _Bars:
    """A tqdm bar per stage of a job, fed the run's progress snapshots."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.key: Any = None

    def update(self, snap: dict[str, Any]) -> None:
        stage = snap.get("stage") or {}
        running = stage and stage.get("status") == "running"
        progress = (stage.get("progress") if running else snap.get("progress")) or {}
        key = (stage.get("id"), progress.get("stage"))
        if self.quiet or not progress.get("total"):
            return
        if self.key != key:
            self.close()
            desc = str(progress.get("stage") or snap.get("kind"))
            self.bar, self.key = tqdm(total=progress["total"], desc=desc, unit="step"), key
        self.bar.n = int(progress.get("step") or 0)
        loss, eta = progress.get("loss"), progress.get("eta_s")
        parts = (f"loss={loss:.4g}" if loss is not None else "", f"eta={eta:.0f}s" if eta is not None else "")
        self.bar.set_postfix_str(" ".join(x for x in parts if x))
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def follow_job(job: jobs.Job, *, quiet: bool = False) -> jobs.Outcome:
    """Show a job's progress (a tqdm bar per stage) until its worker exits, then how it ended."""
    bars = _Bars(quiet=quiet)
    try:
        return jobs.wait_for_job(
            factory=database(), worker=worker_config(settings()), job=job, on_update=bars.update
        )
    finally:
        bars.close()


def report(outcome: jobs.Outcome) -> int:
    """Print how a job ended; 0 when it succeeded."""
    shown = {k: v for k, v in outcome.metrics.items() if k in SHOWN_METRICS}
    typer.echo(f"run {outcome.run_id} {outcome.status}" + "".join(f"\n  {k}: {v}" for k, v in shown.items()))
    if outcome.succeeded:
        return 0
    error = outcome.error
    first = error.strip().splitlines()[0] if error else f"worker exited {outcome.exit_code}"
    typer.echo(f"  error: {first}", err=True)
    typer.echo(f"  log: {outcome.log_path}", err=True)
    return 1


def _start_stage(
    stage: str,
    config: Path | None,
    dataset: Path | None,
    launcher: str | None,
    wait: bool,
    detach: bool,
    **extra: Any,
) -> None:
    factory = database()
    with clean_errors():
        job = jobs.start_stage(
            factory=factory,
            worker=worker_config(settings()),
            stage=stage,
            args=load_yaml(config) if config else {},
            dataset=dataset,
            launcher=shlex.split(launcher) if launcher else (),
            wait=wait,
            detach=detach,
            created_by="cli:train",
            **extra,
        )
    typer.echo(f"run {job.run_id} ({stage}) started; log: {job.log_path}")
    if detach:
        return
    raise typer.Exit(report(follow_job(job)))


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
        _start_stage("sft", config, dataset, launcher, wait, detach)

    @train.command("prm")
    def prm(
        config: Path = _CONFIG,
        dataset: Path = _DATASET,
        kind: str = typer.Option("text", "--kind", help="text (MiniLM, CPU) or trl (PRMTrainer)"),
        wait: bool = _WAIT,
        detach: bool = _DETACH,
    ) -> None:
        """A process reward model on step verdicts; reports held-out AUROC."""
        if kind not in PRM_KINDS:
            raise fail("--kind is text or trl")
        _start_stage("prm", config, dataset, None, wait, detach, prm_kind=kind)

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
        _start_stage("rl", config, dataset, launcher, wait, detach, prm_path=prm)

    app.add_typer(train, name="train")
