"""The feedback loop end to end on a tiny database, through the CLI: trigger, train, evaluate,
register, promote or keep; and a crash mid-run leaves everything consistent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from review_db.models import ModelVersion, TrainingRun
from review_db.types import ModelStatus, RunStatus
from tests.training.seed import seed_verified

SMALL = {"use_cpu": True, "logging_steps": 1, "save_strategy": "no", "report_to": "none", "seed": 0}


def loop_config(tiny_vlm: Path, tiny_token_cls: Path, **over: Any) -> dict[str, Any]:
    config = {
        "base_model": str(tiny_vlm),
        "min_new_verified": 10,
        "stages": {"sft": True, "prm": True, "rl": True},
        "prm_kind": "trl",
        "promote_metric": "nll",
        "promote_margin": 0.0,
        "isolation": "inline",
        "sft": {
            **SMALL,
            "max_steps": 6,
            "learning_rate": 2e-2,
            "per_device_train_batch_size": 2,
            "lora_r": 8,
            "lora_alpha": 16,
            "max_pixels": 3136,
            "eval_strategy": "no",
            "gradient_checkpointing": False,
        },
        "prm": {
            **SMALL,
            "model_name_or_path": str(tiny_token_cls),
            "max_steps": 2,
            "per_device_train_batch_size": 2,
            "lora_r": 4,
            "lora_alpha": 8,
            "max_length": 256,
        },
        "rl": {
            **SMALL,
            "max_steps": 2,
            "per_device_train_batch_size": 4,
            "num_generations": 4,
            "max_completion_length": 8,
            "max_pixels": 3136,
        },
        "eval": {"max_new_tokens": 8, "max_cases": 10, "max_pixels": 3136},
    }
    return {**config, **over}


def write_config(tmp: Path, config: dict[str, Any]) -> Path:
    path = tmp / f"loop-{len(list(tmp.glob('loop-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def cli(*args: str) -> Any:
    from chestx.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _factory():
    from chestx.cli.common import database

    return database()


def test_loop_triggers_trains_evaluates_registers_and_promotes_or_keeps(
    settings, tiny_vlm: Path, tiny_token_cls: Path, tmp_path: Path
) -> None:
    factory = _factory()
    seed_verified(factory, settings, tmp_path, n=6)
    config = write_config(tmp_path, loop_config(tiny_vlm, tiny_token_cls))

    not_yet = cli("loop", "--once", "--config", str(config))
    assert not_yet.exit_code == 0 and "not due: 6 cases verified" in not_yet.output

    seed_verified(factory, settings, tmp_path, n=8, start=6)
    first = cli("loop", "--once", "--config", str(config))
    assert first.exit_code == 0, first.output
    with factory() as s:
        loop = s.scalars(select(TrainingRun).where(TrainingRun.kind == "loop")).one()
        stages = s.scalars(
            select(TrainingRun).where(TrainingRun.parent_run_id == loop.id).order_by(TrainingRun.id)
        ).all()
        versions = {v.name: v for v in s.scalars(select(ModelVersion))}
    assert loop.status is RunStatus.succeeded and loop.snapshot_hash
    assert [r.kind.value for r in stages] == ["sft", "prm", "rl", "eval"]
    assert all(r.status is RunStatus.succeeded for r in stages)
    # The SFT stage's loss curve, as the dashboards read it (one point per logged step).
    from services.dashboards.metrics import loss_curve

    history = stages[0].progress["loss_history"]
    assert [step for step, _ in history] == list(range(1, 7))
    assert loss_curve(stages[0].progress, stages[0].metrics) == [tuple(map(float, p)) for p in history]
    assert stages[1].metrics["auroc_test"] is not None or stages[1].metrics["held_out"]
    sft_v, rl_v = versions[f"sft-run{stages[0].id}"], versions[f"rl-run{stages[2].id}"]
    base = versions["base"]
    assert (rl_v.parent_id, sft_v.parent_id, base.parent_id) == (sft_v.id, base.id, None)
    assert loop.metrics["decision"] == "promoted", loop.metrics
    assert rl_v.status is ModelStatus.promoted and base.status is ModelStatus.retired
    assert rl_v.metrics["eval"]["nll"] < base.metrics["eval"]["nll"]
    assert loop.metrics["snapshot"]["rows"]["sft"]["test"] > 0  # the test split was held out ...
    assert (
        stages[0].metrics["train_samples"] == loop.metrics["snapshot"]["rows"]["sft"]["train"]
    )  # ... not trained on

    seed_verified(factory, settings, tmp_path, n=10, start=14)
    strict = loop_config(
        tiny_vlm, tiny_token_cls, promote_margin=100.0, stages={"sft": True, "prm": False, "rl": False}
    )
    second = cli("loop", "--once", "--config", str(write_config(tmp_path, strict)))
    assert second.exit_code == 0, second.output
    with factory() as s:
        loop2 = s.scalars(
            select(TrainingRun).where(TrainingRun.kind == "loop").order_by(TrainingRun.id.desc())
        ).first()
        promoted = s.scalars(select(ModelVersion).where(ModelVersion.status == ModelStatus.promoted)).all()
        candidate = s.get(ModelVersion, loop2.metrics["candidate_version_id"])
    assert loop2.metrics["decision"] == "kept"
    assert [v.id for v in promoted] == [rl_v.id]  # the current model is unchanged
    assert candidate.status is ModelStatus.rejected and candidate.parent_id == rl_v.id
    assert "does not beat" in candidate.notes


def test_a_crash_mid_run_leaves_everything_consistent(
    settings, tiny_vlm: Path, tiny_token_cls: Path, tmp_path: Path
) -> None:
    from review_db.engine import session_scope
    from training import registry

    factory = _factory()
    seed_verified(factory, settings, tmp_path, n=12)
    with session_scope(factory, actor="test") as s:
        before = registry.ensure_current(session=s, base_model=str(tiny_vlm), name="v-current")
        before_id, before_at = before.id, before.promoted_at
    crash = loop_config(
        tiny_vlm,
        tiny_token_cls,
        isolation="subprocess",
        stages={"sft": True, "prm": False, "rl": False},
        fault={"stage": "sft", "after_step": 2, "mode": "kill"},
    )
    result = cli("loop", "--once", "--config", str(write_config(tmp_path, crash)))

    assert result.exit_code == 1
    with factory() as s:
        loop = s.scalars(select(TrainingRun).where(TrainingRun.kind == "loop")).one()
        sft = s.scalars(select(TrainingRun).where(TrainingRun.parent_run_id == loop.id)).one()
        versions = s.scalars(select(ModelVersion)).all()
    assert loop.status is RunStatus.failed and "sft stage" in loop.error and loop.finished_at
    assert sft.status is RunStatus.failed and "exited with status 137" in sft.error
    assert Path(sft.log_path).is_file() and loop.log_path and Path(loop.log_path).is_file()
    assert [(v.id, v.status, v.promoted_at) for v in versions] == [
        (before_id, ModelStatus.promoted, before_at)
    ]
    # Nothing is left active: the next job may start.
    again = cli(
        "loop",
        "--once",
        "--config",
        str(write_config(tmp_path, {**crash, "fault": None, "stages": {"sft": False}})),
        "--force",
    )
    assert "already in progress" not in again.output
