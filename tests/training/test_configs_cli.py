"""The shipped configs parse, and the CLI refuses what it must, with a clear message."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from review_db.engine import session_scope
from training import runs
from training.arguments import load_yaml, parse_config

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("sft.yaml", "training.sft"),
        ("grpo.yaml", "training.grpo"),
        ("prm_text.yaml", "training.prm_text"),
        ("prm_trl.yaml", "training.prm_trl"),
    ],
)
def test_shipped_entry_point_configs_parse(name: str, module: str, tmp_path: Path) -> None:
    import importlib

    args = {"output_dir": str(tmp_path), **load_yaml(CONFIGS / name)}
    args.pop("bf16", None)  # bf16 needs a GPU; everything else must parse as shipped
    args["use_cpu"] = True
    parsed = parse_config(importlib.import_module(module).make_parser(), args)
    assert parsed[1].output_dir == str(tmp_path)


def test_shipped_loop_and_deepspeed_configs_load() -> None:
    from training.loop import LoopConfig

    loop = LoopConfig.from_dict(load_yaml(CONFIGS / "loop.yaml"))
    assert loop.test_share > 0 and loop.promote_metric == "composite"
    for stage in ("zero2", "zero3"):
        ds = json.loads((CONFIGS / f"deepspeed_{stage}.json").read_text())
        assert ds["zero_optimization"]["stage"] == int(stage[-1])
        acc = load_yaml(CONFIGS / f"accelerate_{stage}.yaml")
        assert acc["deepspeed_config"]["deepspeed_config_file"] == f"training/configs/deepspeed_{stage}.json"


def test_unknown_loop_settings_are_named() -> None:
    from review_db.errors import ValidationError
    from training.loop import LoopConfig

    with pytest.raises(ValidationError, match="unknown loop settings: min_verified"):
        LoopConfig.from_dict({"min_verified": 3})


def test_train_refuses_a_second_job_naming_the_first(settings, tmp_path: Path) -> None:
    from chestx.cli import app
    from chestx.cli.common import database

    worker = subprocess.Popen(["sleep", "60"])  # stands in for the job's worker process
    with session_scope(database(), actor="test") as s:
        running = runs.start_job(session=s, kind="loop", config={}, created_by="test")
        runs.mark_running(session=s, run_id=running.id)
        running.progress = {**running.progress, "pid": worker.pid}
        run_id = running.id
    config = tmp_path / "sft.yaml"
    config.write_text(f"model_name_or_path: {tmp_path}\nuse_cpu: true\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "sft", "--config", str(config)])
    assert result.exit_code == 1
    assert f"a training job is already in progress: run {run_id} (loop, running" in result.output
    status = CliRunner().invoke(app, ["loop", "--status"])
    assert f"active: run {run_id} (loop, running)" in status.output
    cancel = CliRunner().invoke(app, ["loop", "--cancel"])
    assert cancel.exit_code == 0 and f"cancelled run {run_id}" in cancel.output
    assert worker.wait(timeout=10) == -15  # SIGTERM reached the worker


def test_train_rejects_a_bad_config_before_recording_a_run(settings, tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from chestx.cli import app
    from chestx.cli.common import database
    from review_db.models import TrainingRun

    config = tmp_path / "sft.yaml"
    config.write_text("train_split: test\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "sft", "--config", str(config)])
    assert result.exit_code == 1 and "held out" in result.output
    with database()() as s:
        assert s.scalar(select(func.count()).select_from(TrainingRun)) == 0


def test_a_stage_that_raises_is_recorded_failed_with_its_error(settings, tmp_path: Path) -> None:
    from chestx.cli.common import database
    from chestx.compose import worker_config
    from review_db.models import TrainingRun
    from review_db.types import RunStatus
    from training.worker import execute

    factory = database()
    with session_scope(factory, actor="test") as s:
        run_id = runs.start_job(
            session=s,
            kind="sft",
            created_by="test",
            config={
                "args": {"model_name_or_path": str(tmp_path / "missing"), "use_cpu": True},
                "dataset_dir": str(tmp_path),
            },
        ).id
    assert execute(run_id, worker=worker_config(settings), factory=factory, main_process=True) == 1
    with factory() as s:
        run = s.get(TrainingRun, run_id)
        assert run.status is RunStatus.failed and run.finished_at is not None
        assert "missing" in run.error and "Traceback" in run.error
