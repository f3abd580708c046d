"""GRPO through TRL's GRPOTrainer with the tiny VLM: two steps, with the process reward of a PRM."""

from __future__ import annotations

from pathlib import Path

from tests.training.helpers import sft_row, write_export
from tests.training.test_prm_trl import train_tiny_prm
from training.arguments import parse_config


def test_grpo_runs_two_steps_with_the_process_reward(
    tiny_vlm: Path, tiny_token_cls: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    from training import grpo

    prm = train_tiny_prm(tiny_token_cls, tmp_path / "prm", max_steps=1)
    rows = [sft_row(i, steps=("The angles are sharp.", "No effusion."), answer="B") for i in range(2)]
    export = write_export(tmp_path / "export", kind="sft", splits={"train": rows, "test": rows[:1]})
    args = {
        "model_name_or_path": str(tiny_vlm),
        "dataset_dir": str(export),
        "output_dir": str(tmp_path / "out"),
        "prm_path": prm["prm_dir"],
        "use_cpu": True,
        "max_steps": 2,
        "per_device_train_batch_size": 4,
        "num_generations": 4,
        "max_completion_length": 12,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "lora_r": 4,
        "lora_alpha": 8,
        "max_pixels": 56 * 56,
        "save_strategy": "no",
        "correctness_weight": 1.0,
        "format_weight": 0.25,
        "process_weight": 0.5,
    }
    metrics = grpo.main(*parse_config(grpo.make_parser(), args))

    assert metrics["steps"] == 2
    assert metrics["process_reward"] is True
    assert metrics["reward_weights"] == [1.0, 0.25, 0.5]
    assert "rewards/process_reward/mean" in metrics["rewards"]
    process = metrics["rewards"]["rewards/process_reward/mean"]
    assert 0.0 <= process <= 1.0
    weights = load_file(Path(metrics["adapter_dir"]) / "adapter_model.safetensors")
    assert any("lora_A" in k for k in weights)
