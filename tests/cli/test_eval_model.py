"""``chestx eval model``: a recorded eval job on the held-out split, metrics stored on the version."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from review_db.engine import session_scope
from review_db.models import ModelVersion, TrainingRun
from review_db.types import RunKind, RunStatus
from tests.training.seed import seed_verified


def test_eval_model_scores_the_promoted_version_on_the_test_split(settings, tmp_path: Path) -> None:
    from chestx.cli import app
    from chestx.cli.common import database
    from reasoner.tiny import build_tiny_qwen2vl
    from training import registry

    model_dir = build_tiny_qwen2vl(tmp_path / "model", seed=0, max_pixels=56 * 56 * 4)
    factory = database()
    seed_verified(factory, settings, tmp_path, n=12)
    with session_scope(factory, actor="test") as s:
        base = registry.ensure_current(session=s, base_model=str(model_dir))
        base_id = base.id

    config = tmp_path / "eval.yaml"
    config.write_text("max_new_tokens: 8\nmax_pixels: 3136\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "model", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output

    with factory() as s:
        run = s.scalars(select(TrainingRun).where(TrainingRun.kind == RunKind.eval)).one()
        version = s.get(ModelVersion, base_id)
    assert run.status is RunStatus.succeeded
    held_out = run.metrics["n_cases"]
    assert 0 < held_out < 12  # the test split only, not every verified case
    metrics = version.metrics["eval"]
    assert metrics["n_cases"] == held_out and metrics["nll"] > 0
    assert 0.0 <= metrics["accuracy"] <= 1.0 and 0.0 <= metrics["malformed_rate"] <= 1.0


def test_eval_model_names_an_unknown_version(settings) -> None:
    from chestx.cli import app

    result = CliRunner().invoke(app, ["eval", "model", "no-such-version"])
    assert result.exit_code == 1
    assert "no-such-version" in result.output
