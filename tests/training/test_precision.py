"""Precision "auto": the shipped configs train where they are installed (bf16 only where the
accelerator has it), and the admin's forced loop on the demo data completes on a CPU."""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from review_db.engine import session_scope
from review_db.models import ModelVersion, TrainingRun
from review_db.types import RunStatus
from training import arguments
from training.arguments import load_yaml, parse_config

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"
ENTRY_POINTS = {
    "sft.yaml": "training.sft",
    "grpo.yaml": "training.grpo",
    "prm_text.yaml": "training.prm_text",
    "prm_trl.yaml": "training.prm_trl",
}


@pytest.mark.parametrize("gpu_bf16", [True, False])
def test_auto_resolves_per_machine(monkeypatch: pytest.MonkeyPatch, gpu_bf16: bool) -> None:
    monkeypatch.setattr(arguments, "bf16_supported", lambda: gpu_bf16)
    assert arguments.resolve_bf16("auto") is gpu_bf16
    assert arguments.resolve_bf16(None) is gpu_bf16
    assert arguments.resolve_bf16("auto", use_cpu=True) is False  # never bf16 on a forced CPU
    assert arguments.resolve_dtype("auto") == ("bfloat16" if gpu_bf16 else "float32")
    assert (arguments.resolve_bf16("true"), arguments.resolve_bf16(False)) == (True, False)
    assert arguments.resolve_dtype("float16") == "float16" and arguments.resolve_dtype(None) is None
    with pytest.raises(ValueError, match="bf16 must be auto, true or false"):
        arguments.resolve_bf16("maybe")


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_shipped_entry_point_configs_parse_as_shipped_here(name: str, tmp_path: Path) -> None:
    """No key removed, no use_cpu added: what `chestx train` reads on this (CPU) machine."""
    parser = importlib.import_module(ENTRY_POINTS[name]).make_parser()
    training_args = parse_config(parser, {"output_dir": str(tmp_path), **load_yaml(CONFIGS / name)})[1]
    assert training_args.bf16 is arguments.bf16_supported()


def test_every_section_of_the_shipped_loop_config_parses_here(tmp_path: Path) -> None:
    from training import grpo, sft
    from training.evaluate import EvalConfig
    from training.loop import LoopConfig

    loop = LoopConfig.from_dict(load_yaml(CONFIGS / "loop.yaml"))
    for section, module in (("sft", sft), ("rl", grpo)):
        parsed = parse_config(module.make_parser(), {"output_dir": str(tmp_path), **getattr(loop, section)})
        assert parsed[1].bf16 is arguments.bf16_supported()
        assert parsed[2].dtype == "auto"
    assert arguments.resolve_dtype(EvalConfig(**loop.eval).dtype) in ("bfloat16", "float32")
    for path in CONFIGS.glob("*.yaml"):  # no shipped config forces bf16 or a bf16 dtype
        text = path.read_text(encoding="utf-8")
        assert "bf16: true" not in text and "dtype: bfloat16" not in text, path.name


def _demo(settings):  # noqa: ANN001, ANN202
    from chestx.cli.common import database
    from chestx.compose import intake
    from services.demo import seed_demo

    factory = database()
    seed_demo(factory=factory, intake=intake(settings))
    return factory


def test_a_loop_with_nothing_to_train_on_succeeds_and_changes_no_model(settings) -> None:  # noqa: ANN001
    """The demo's cases are never trained on by default: the loop says so and stops."""
    from chestx.compose import worker_config
    from training import runs
    from training.worker import execute

    factory = _demo(settings)
    loop = {**load_yaml(CONFIGS / "loop.yaml"), "base_model": "no-such-model"}
    with session_scope(factory, actor="test") as s:
        run_id = runs.start_job(session=s, kind="loop", config={"loop": loop}, created_by="test").id
    assert execute(run_id, worker=worker_config(settings), factory=factory, main_process=True) == 0
    with factory() as s:
        run = s.get(TrainingRun, run_id)
        assert run.status is RunStatus.succeeded and run.metrics["decision"] == "nothing to train on"
        assert "demo cases are left out" in run.metrics["decision_reason"]
        assert s.scalars(select(ModelVersion)).all() == []


@pytest.mark.slow
def test_admin_forced_loop_on_the_demo_data_completes_on_a_cpu(
    settings,  # noqa: ANN001
    tiny_vlm: Path,
    tmp_path: Path,
) -> None:
    """ "Run loop now" with the shipped loop.yaml (its precision as shipped) trains, evaluates and
    decides on a CPU. Overridden: the base model (no hub here), the demo's cases included (the
    only verified ones) and, for time, stages inline and short evaluation answers."""
    from chestx.web.admin import training_panel
    from chestx.web.auth import LoginResolver, UserInfo
    from chestx.web.context import AppContext
    from imaging import RenderCache
    from review_db.types import Role

    factory = _demo(settings)
    loop = load_yaml(CONFIGS / "loop.yaml")
    loop.update(base_model=str(tiny_vlm), include_demo=True, isolation="inline")
    loop["eval"] = {**loop["eval"], "max_new_tokens": 16}
    config = tmp_path / "loop.yaml"
    config.write_text(yaml.safe_dump(loop), encoding="utf-8")
    ctx = AppContext(
        settings=settings,
        factory=factory,
        resolver=LoginResolver(factory),
        render_cache=RenderCache(2),
        loop_config=config,
    )
    assert "started" in training_panel.run_loop(ctx, UserInfo(1, "admin", Role.admin))
    deadline = time.monotonic() + 240
    while (active := training_panel.overview(ctx)["active"]) is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert active is None, "the loop did not finish in time"
    with factory() as s:
        loop_run = s.scalars(select(TrainingRun).where(TrainingRun.kind == "loop")).one()
        stages = s.scalars(select(TrainingRun).where(TrainingRun.parent_run_id == loop_run.id)).all()
    assert loop_run.status is RunStatus.succeeded, loop_run.error
    assert [(r.kind.value, r.status) for r in stages] == [
        ("sft", RunStatus.succeeded),
        ("eval", RunStatus.succeeded),
    ]
    assert loop_run.metrics["decision"] in ("promoted", "kept")
    assert "correct and wrong steps" in loop_run.metrics["skipped"]["prm"]  # the demo's are all right
