"""The PRM through TRL's PRMTrainer (token classification + LoRA) on a tiny random-weight model."""

from __future__ import annotations

import random
from pathlib import Path

from tests.training.fixture_chains import fixture_items
from tests.training.helpers import write_export
from training.arguments import parse_config
from training.step_errors import step_error_rows


def _prm_export(tmp: Path) -> Path:
    items = fixture_items()
    random.Random(0).shuffle(items)
    rows = step_error_rows(items, seed=0)
    return write_export(
        tmp / "prm", kind="prm", splits={"train": rows[:12], "validation": rows[12:14], "test": rows[14:]}
    )


def train_tiny_prm(model_dir: Path, tmp: Path, **over) -> dict:
    from training import prm_trl

    args = {
        "model_name_or_path": str(model_dir),
        "dataset_dir": str(_prm_export(tmp)),
        "output_dir": str(tmp / "out"),
        "use_cpu": True,
        "max_steps": 6,
        "per_device_train_batch_size": 2,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "lora_r": 4,
        "lora_alpha": 8,
        "max_length": 256,
        **over,
    }
    return prm_trl.main(*parse_config(prm_trl.make_parser(), args))


def test_prm_trainer_trains_saves_and_reports_held_out_auroc(tiny_token_cls: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from training.prm import read_marker
    from training.prm_loader import load_scorer

    metrics = train_tiny_prm(tiny_token_cls, tmp_path)

    assert metrics["steps"] == 6
    assert 0.0 <= metrics["auroc_test"] <= 1.0 and 0.0 <= metrics["auroc_validation"] <= 1.0
    assert metrics["held_out"]["test"]["n_incorrect"] > 0
    prm_dir = Path(metrics["prm_dir"])
    assert read_marker(prm_dir)["kind"] == "trl"
    weights = load_file(prm_dir / "adapter_model.safetensors")
    assert max(float(v.abs().max()) for k, v in weights.items() if "lora_B" in k) > 0  # LoRA moved
    assert any("score" in k for k in weights), "the classification head is saved with the adapter"
    scorer = load_scorer(prm_dir)
    scores = scorer.score(
        "Small right pleural effusion.", ["The heart is normal.", "There is a left effusion."]
    )
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)
