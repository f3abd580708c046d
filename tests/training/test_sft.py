"""SFT: LoRA through TRL's SFTTrainer on an SFT export with images (tiny random-weight VLM, CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.helpers import sft_row, write_export
from training.arguments import parse_config

STEPS = ("The costophrenic angles are sharp.", "No pleural fluid is seen.", "There is no effusion.")


def _export(tmp: Path) -> Path:
    rows = [sft_row(i, steps=STEPS, answer="B") for i in range(4)]  # a small repeated set
    return write_export(
        tmp / "export", kind="sft", splits={"train": rows, "validation": rows[:1], "test": rows[:1]}
    )


def _args(tiny_vlm: Path, export: Path, out: Path, **over) -> dict:
    return {
        "model_name_or_path": str(tiny_vlm),
        "dataset_dir": str(export),
        "output_dir": str(out),
        "use_cpu": True,
        "per_device_train_batch_size": 2,
        "learning_rate": 2e-2,
        "max_steps": 10,
        "logging_steps": 1,
        "lora_r": 8,
        "lora_alpha": 16,
        "gradient_checkpointing": False,
        "eval_strategy": "no",
        "save_strategy": "no",
        "max_pixels": 56 * 56,
        "seed": 0,
        **over,
    }


def test_sft_changes_the_adapter_and_lowers_the_loss(tiny_vlm: Path, tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    from training import sft

    metrics = sft.main(*parse_config(sft.make_parser(), _args(tiny_vlm, _export(tmp_path), tmp_path / "out")))

    assert metrics["steps"] == 10
    assert metrics["data"] == {**metrics["data"], "precomputed": True, "rows": 4, "processed": 4}
    # A random-weight model starts near ln(vocab); a LoRA on q/v alone moves it slowly but surely.
    assert metrics["last_loss"] < metrics["first_loss"] - 0.1, metrics
    adapter = Path(metrics["adapter_dir"])
    weights = load_file(adapter / "adapter_model.safetensors")
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b, "no LoRA weights saved"
    # LoRA's B matrices start at zero: any non-zero value is a change made by training.
    assert max(float(v.abs().max()) for v in lora_b) > 0
    assert not any("visual" in k for k in weights), "LoRA reached the vision tower"
    base = AutoModelForImageTextToText.from_pretrained(tiny_vlm)
    tuned = PeftModel.from_pretrained(base, adapter)
    assert any(torch.count_nonzero(p) for n, p in tuned.named_parameters() if "lora_B" in n)


def test_sft_resumes_from_its_checkpoint(tiny_vlm: Path, tmp_path: Path) -> None:
    from training import sft

    export, out = _export(tmp_path), tmp_path / "out"
    first = _args(tiny_vlm, export, out, max_steps=2, save_strategy="steps", save_steps=2)
    sft.main(*parse_config(sft.make_parser(), first))
    assert (out / "checkpoint-2").is_dir()
    resumed = sft.main(*parse_config(sft.make_parser(), {**first, "max_steps": 4}))
    assert resumed["steps"] == 4
    # Only steps 3 and 4 ran in the resumed process.
    assert resumed["first_loss"] is not None
    # The rows were processed once, by the first process; the resumed one read them from the cache.
    assert resumed["data"]["processed"] == 0 and resumed["data"]["cached"] == 4


def test_sft_on_the_fly_collation_still_trains(tiny_vlm: Path, tmp_path: Path) -> None:
    from training import sft

    args = _args(tiny_vlm, _export(tmp_path), tmp_path / "out", max_steps=2, precompute=False)
    metrics = sft.main(*parse_config(sft.make_parser(), args))
    assert metrics["steps"] == 2 and metrics["data"] == {"precomputed": False}
    assert not (tmp_path / "out" / "data-cache").exists()


def test_the_test_split_is_never_a_training_split(tmp_path: Path) -> None:
    from training import sft

    with pytest.raises(ValueError, match="held out"):
        parse_config(sft.make_parser(), {"output_dir": str(tmp_path), "train_split": "test"})
