"""LoRA SFT of the reasoner on verified chains, through TRL's ``SFTTrainer``.

Contract: :func:`main` trains a LoRA adapter on the train split of an SFT export (images and
verified chains; the loss is on the chain only) and saves it to ``<output_dir>/adapter``; it
returns the run's metrics. It resumes from the newest checkpoint in ``output_dir`` when
``resume_from_checkpoint`` is "auto" (the default), so a run killed half-way continues where it
stopped. Continuing an existing adapter (the current model version's) is ``adapter_path``; a
fresh LoRA otherwise. Nothing here touches the database: :mod:`training.worker` records the run
and registers the adapter.

    python -m training.sft --config training/configs/sft.yaml
    accelerate launch --config_file training/configs/accelerate_zero2.yaml -m training.sft \\
        --config training/configs/sft.yaml
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trl import ModelConfig, SFTConfig, SFTTrainer

from reasoner.processors import QWEN_FAMILIES
from review_db.errors import ValidationError
from training.arguments import AUTO, AutoBF16, DataArguments, train_and_save
from training.data import prompt_completion, read_rows, sft_dataset
from training.images import prepare_images
from training.modeling import load_policy, load_processor
from training.precompute import PaddingCollator, manifest_digests, precompute


@dataclass
class SFTDataArguments(DataArguments):
    """Which export to train on, and how large its images may be."""

    max_pixels: int = field(
        default=200_704,
        metadata={
            "help": "Pixels per image after resizing (bounds image tokens; Qwen2-VL: 28x28 per token)."
        },
    )
    min_pixels: int | None = field(
        default=None, metadata={"help": "Smallest pixels per image after resizing."}
    )
    precompute: bool = field(
        default=True,
        metadata={
            "help": "Process images and tokenize each row once (cached on disk), then batch by padding "
            "only; false: TRL's vision collator decodes and processes every row on every step."
        },
    )
    data_cache_dir: str | None = field(
        default=None,
        metadata={
            "help": "Cache of precomputed rows (content-addressed, safe to share between runs and to "
            "delete). Default: <output_dir>/data-cache."
        },
    )


@dataclass
class ChestXModelConfig(ModelConfig):
    """TRL's ModelConfig with this project's defaults: LoRA on, on the language model's q/v."""

    use_peft: bool = field(default=True, metadata={"help": "Train a LoRA adapter (the only supported mode)."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    lora_target_modules: list[str] | None = field(
        default_factory=lambda: ["q_proj", "v_proj"],
        metadata={"help": "Modules with LoRA; q_proj/v_proj match only the language model of Qwen-VL."},
    )
    adapter_path: str | None = field(
        default=None,
        metadata={"help": "Continue training this LoRA adapter (the current version's) instead."},
    )
    dtype: str | None = field(
        default=AUTO,
        metadata={
            "help": "Weights' dtype: 'auto' (bfloat16 where the GPU supports it, else float32), "
            "bfloat16, float16 or float32.",
            "choices": ["auto", "bfloat16", "float16", "float32"],
        },
    )


@dataclass
class ChestXSFTConfig(AutoBF16, SFTConfig):
    """SFTConfig with defaults for LoRA on a vision-language model (``bf16: auto``: see
    :mod:`training.arguments`)."""

    max_length: int | None = field(
        default=None, metadata={"help": "No truncation: image tokens must stay whole."}
    )
    report_to: str | list[str] = field(default="none", metadata={"help": "Where to report metrics."})
    resume_from_checkpoint: str | None = field(
        default="auto", metadata={"help": "'auto' (newest checkpoint in output_dir), 'never', or a path."}
    )
    save_strategy: str = field(default="steps", metadata={"help": "Checkpoints, so a killed run can resume."})
    save_steps: float = field(default=50, metadata={"help": "Steps between checkpoints."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept."})


def main(
    data_args: SFTDataArguments,
    training_args: ChestXSFTConfig,
    model_args: ChestXModelConfig,
    *,
    callbacks: Sequence[Any] = (),
) -> dict[str, Any]:
    """Train; return metrics (losses, steps, samples/s, ``adapter_dir``)."""
    processor = load_processor(
        model_args.model_name_or_path, max_pixels=data_args.max_pixels, min_pixels=data_args.min_pixels
    )
    model, peft_config = load_policy(model_args)
    train, evaluation, collator, data_stats = _datasets(data_args, training_args, processor, model)
    trainer = SFTTrainer(
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=evaluation,
        data_collator=collator,
        processing_class=processor,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )
    result, adapter_dir = train_and_save(trainer, training_args, "adapter")
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    return {
        "train_loss": float(result.training_loss),
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "steps": int(trainer.state.global_step),
        "train_samples": len(train),
        "train_samples_per_second": result.metrics.get("train_samples_per_second"),
        "adapter_dir": str(adapter_dir),
        "base_model": model_args.model_name_or_path,
        "data": data_stats,
    }


def _datasets(
    data_args: SFTDataArguments, training_args: ChestXSFTConfig, processor: Any, model: Any
) -> tuple[Any, Any, Any, dict[str, Any]]:
    """(train, eval or None, data collator or None for TRL's, stats) as the trainer will read them."""
    train_rows = read_rows(data_args.dataset_dir, data_args.train_split, purpose="training")
    eval_rows = []
    if data_args.eval_split and training_args.eval_strategy != "no":
        eval_rows = read_rows(data_args.dataset_dir, data_args.eval_split, purpose="validation")
    if not data_args.precompute:
        cache = Path(training_args.output_dir) / "image-cache"
        train = sft_dataset(
            prepare_images(train_rows, processor=processor, cache_dir=cache),
            max_samples=data_args.max_train_samples,
        )
        evaluation = (
            sft_dataset(prepare_images(eval_rows, processor=processor, cache_dir=cache))
            if eval_rows
            else None
        )
        return train, evaluation, None, {"precomputed": False}

    # TRL keeps these datasets as they are: no preparation, no column removal (their one column is
    # the cache path the transform reads; the items are already the model's inputs).
    training_args.dataset_kwargs = {**(training_args.dataset_kwargs or {}), "skip_prepare_dataset": True}
    training_args.remove_unused_columns = False
    options = {
        "processor": processor,
        "cache_dir": data_args.data_cache_dir or Path(training_args.output_dir) / "data-cache",
        "known_digests": manifest_digests(data_args.dataset_dir),
        "max_length": training_args.max_length,
        # Qwen-VL casts pixel values to the vision tower's dtype: storing them so is lossless.
        "pixel_dtype": model.dtype if getattr(model.config, "model_type", "") in QWEN_FAMILIES else None,
    }
    keep = [prompt_completion(r) for r in train_rows][: data_args.max_train_samples]
    if not keep:
        raise ValidationError("no SFT rows to train on")
    with training_args.main_process_first(desc="precompute SFT rows"):  # rank 0 fills the cache
        train, stats = precompute(keep, **options)
        evaluation = (
            precompute([prompt_completion(r) for r in eval_rows], **options)[0] if eval_rows else None
        )
    return (
        train,
        evaluation,
        PaddingCollator(processor.tokenizer.pad_token_id),
        {"precomputed": True, **stats},
    )


def make_parser(subparsers: argparse._SubParsersAction | None = None, prog: str | None = None) -> Any:
    from trl import TrlParser

    dataclass_types = (SFTDataArguments, ChestXSFTConfig, ChestXModelConfig)
    if subparsers is not None:
        return subparsers.add_parser(
            "sft", help="LoRA SFT on verified chains", dataclass_types=dataclass_types
        )
    return TrlParser(dataclass_types, prog=prog)


if __name__ == "__main__":
    parser = make_parser()
    main(*parser.parse_args_and_config())
