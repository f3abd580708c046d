"""RL with process rewards: TRL's ``GRPOTrainer`` on the vision-language model.

Contract: :func:`main` runs GRPO on the train split of an SFT export (each row gives a prompt with
its image(s) and the verified answer), with rewards = answer correctness + format + process
reward (a trained PRM's scores of the generated steps, see :mod:`training.rewards`), weighted by
``correctness_weight``, ``format_weight`` and ``process_weight``. The policy is a LoRA adapter:
the one in ``adapter_path`` (usually the SFT candidate) trained further, or a fresh one. The
adapter lands in ``<output_dir>/adapter``; metrics are returned. No database here.

    python -m training.grpo --config training/configs/grpo.yaml
    accelerate launch --config_file training/configs/accelerate_zero2.yaml -m training.grpo --config ...
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Dataset, Image, List
from trl import GRPOConfig, GRPOTrainer

from training.arguments import AutoBF16, DataArguments, train_and_save
from training.data import answer_of, read_rows, split_messages
from training.images import prepare_images
from training.modeling import load_policy, load_processor
from training.prm_loader import load_scorer
from training.rewards import reward_functions
from training.sft import ChestXModelConfig


@dataclass
class GRPODataArguments(DataArguments):
    """The prompts (an SFT export) and the PRM that scores generated steps."""

    eval_split: str | None = field(
        default=None, metadata={"help": "GRPO here evaluates nothing during training."}
    )
    prm_path: str | None = field(
        default=None, metadata={"help": "A trained PRM folder; none: no process reward."}
    )
    max_pixels: int = field(default=200_704, metadata={"help": "Pixels per image after resizing."})


@dataclass
class ChestXGRPOConfig(AutoBF16, GRPOConfig):
    """GRPOConfig plus the weights of the three rewards (``bf16: auto``: see :mod:`training.arguments`)."""

    correctness_weight: float = field(default=1.0, metadata={"help": "Weight of answer correctness."})
    format_weight: float = field(default=0.2, metadata={"help": "Weight of the <think>/<answer> format."})
    process_weight: float = field(default=0.5, metadata={"help": "Weight of the PRM's score of the steps."})
    process_aggregation: str = field(
        default="mean", metadata={"help": "Steps' scores to one: 'mean' or 'min'."}
    )
    report_to: str | list[str] = field(default="none", metadata={"help": "Where to report metrics."})
    resume_from_checkpoint: str | None = field(
        default="auto", metadata={"help": "'auto' (newest checkpoint in output_dir), 'never', or a path."}
    )


def grpo_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """GRPO rows from SFT export rows: the prompt, its images, the verified answer, the report.

    ```python
    >>> grpo_rows([{"images": ["a.png"], "messages": [user, assistant], "report": "..."}])
    [{"prompt": [user], "images": ["a.png"], "answer": "B", "report": "..."}]
    ```
    """
    out = []
    for row in rows:
        prompt, chain = split_messages(row["messages"])
        answer = answer_of(chain)
        if answer is None:
            continue  # nothing to reward correctness against
        images = list(row.get("images") or [])
        out.append({"prompt": prompt, "images": images, "answer": answer, "report": row.get("report") or ""})
    return out


def _dataset(prompts: list[dict[str, Any]]) -> Dataset:
    """The prompts as a ``datasets.Dataset`` whose images decode lazily."""
    if not prompts:
        raise ValueError("no training row has a verified answer to reward")
    dataset = Dataset.from_list(prompts)
    if any(r["images"] for r in prompts):
        dataset = dataset.cast_column("images", List(Image()))
    return dataset


def _mean_rewards(log_history: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``mean_reward`` (the weighted total) and ``rewards`` (each function's mean) over the logs."""
    logs = [log for log in log_history if "reward" in log]
    rewards = {
        k: sum(log[k] for log in logs) / len(logs)
        for k in (logs[0] if logs else {})
        if k.startswith("rewards/") and k.endswith("/mean")
    }
    mean = sum(log["reward"] for log in logs) / len(logs) if logs else None
    return {"mean_reward": mean, "rewards": rewards}


def main(
    data_args: GRPODataArguments,
    training_args: ChestXGRPOConfig,
    model_args: ChestXModelConfig,
    *,
    callbacks: Sequence[Any] = (),
    rows: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Train; return metrics (mean rewards per function, steps, ``adapter_dir``).

    ``rows`` overrides reading ``dataset_dir`` (the loop passes rows with reports attached).
    """
    if rows is None:
        rows = read_rows(data_args.dataset_dir, data_args.train_split, purpose="training")
    processor = load_processor(model_args.model_name_or_path, max_pixels=data_args.max_pixels)
    processor.tokenizer.padding_side = "left"  # generation pads on the left
    rows = prepare_images(rows, processor=processor, cache_dir=Path(training_args.output_dir) / "image-cache")
    dataset = _dataset(grpo_rows(rows)[: data_args.max_train_samples])
    scorer = load_scorer(data_args.prm_path) if data_args.prm_path and training_args.process_weight else None
    funcs = reward_functions(scorer=scorer, aggregation=training_args.process_aggregation)
    weights = [training_args.correctness_weight, training_args.format_weight]
    training_args.reward_weights = weights + ([training_args.process_weight] if scorer is not None else [])
    model, peft_config = load_policy(model_args)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=training_args,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )
    result, adapter_dir = train_and_save(trainer, training_args, "adapter")
    return {
        "train_loss": float(result.training_loss),
        "steps": int(trainer.state.global_step),
        **_mean_rewards(trainer.state.log_history),
        "reward_weights": training_args.reward_weights,
        "process_reward": scorer is not None,
        "adapter_dir": str(adapter_dir),
        "base_model": model_args.model_name_or_path,
    }


def make_parser(subparsers: argparse._SubParsersAction | None = None, prog: str | None = None) -> Any:
    from trl import TrlParser

    dataclass_types = (GRPODataArguments, ChestXGRPOConfig, ChestXModelConfig)
    if subparsers is not None:
        return subparsers.add_parser("rl", help="GRPO with process rewards", dataclass_types=dataclass_types)
    return TrlParser(dataclass_types, prog=prog)


if __name__ == "__main__":
    parser = make_parser()
    main(*parser.parse_args_and_config())
