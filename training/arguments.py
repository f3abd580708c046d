"""Arguments shared by the training entry points (TRL-style dataclasses, loadable from YAML).

Contract: dataclasses with ``metadata={"help": ...}`` on every field, parsed by ``TrlParser``
from ``--config FILE.yaml`` plus command-line overrides, or from a dict (a run's stored config)
by :func:`parse_config`. Each entry point (``training.sft``, ``training.prm_text``,
``training.prm_trl``, ``training.grpo``) adds its own fields.

Precision is ``auto`` by default, resolved on the machine that trains (:func:`bf16_supported`):
``bf16: auto`` trains in bf16 mixed precision only where the accelerator supports it, and
``dtype: auto`` loads weights in bfloat16 there and float32 elsewhere. So one shipped config
trains on a GPU server and on a CPU-only install alike; ``true``/``false`` or a dtype name force it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DataArguments:
    """Where the rows come from: an export folder (``chestx export ...`` or a loop snapshot)."""

    dataset_dir: str | None = field(default=None, metadata={"help": "Export folder to train on."})
    train_split: str = field(default="train", metadata={"help": "Split to train on (never 'test')."})
    eval_split: str | None = field(
        default="validation",
        metadata={"help": "Split for evaluation during training (never 'test'); empty: none."},
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use at most this many training rows."}
    )

    def __post_init__(self) -> None:
        for split in (self.train_split, self.eval_split):
            if split == "test":
                raise ValueError(
                    "the test split is held out for evaluation; train and eval splits cannot be 'test'"
                )


AUTO = "auto"
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off", "none", ""}


def bf16_supported() -> bool:
    """Whether this machine trains in bf16 without ``use_cpu``: the test TrainingArguments applies
    (an Ampere-or-later NVIDIA GPU, or an XPU/NPU with bf16)."""
    from transformers.utils import is_torch_bf16_gpu_available

    return bool(is_torch_bf16_gpu_available())


def resolve_bf16(value: bool | str | None, *, use_cpu: bool = False) -> bool:
    """``bf16`` as TrainingArguments wants it: "auto"/None -> :func:`bf16_supported` (never on
    ``use_cpu``), "true"/"false" (YAML or command line) -> that."""
    if isinstance(value, bool):
        return value
    text = AUTO if value is None else str(value).strip().lower()
    if text == AUTO:
        return not use_cpu and bf16_supported()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(f"bf16 must be auto, true or false, not {value!r}")


def resolve_dtype(value: str | None) -> str | None:
    """A model dtype name: "auto" -> "bfloat16" where :func:`bf16_supported`, else "float32"
    (bf16 matrix products are slow or emulated on most CPUs); None -> the checkpoint's."""
    if value == AUTO:
        return "bfloat16" if bf16_supported() else "float32"
    return value


@dataclass
class AutoBF16:
    """Put first among a TrainingArguments subclass's bases: ``bf16`` accepts "auto" (the default),
    resolved before TrainingArguments checks it (which refuses bf16 on a CPU-only machine)."""

    # str, not bool, so that the parsers pass "auto" through; a bool from YAML or a dict is kept.
    bf16: str | None = field(
        default=AUTO,
        metadata={
            "help": "bf16 mixed precision: 'auto' (where the GPU supports it, else 32-bit), true or false."
        },
    )

    def __post_init__(self) -> None:
        self.bf16 = resolve_bf16(self.bf16, use_cpu=bool(getattr(self, "use_cpu", False)))
        super().__post_init__()  # type: ignore[misc] - TrainingArguments' (the next base)


def resolve_checkpoint(training_args: Any) -> str | None:
    """The checkpoint to resume from: 'auto' -> newest in output_dir (or None), 'never' -> None."""
    from transformers.trainer_utils import get_last_checkpoint

    value = training_args.resume_from_checkpoint
    if value in (None, "", "never", "false", "False"):
        return None
    if value in ("auto", "true", "True", True):
        out = Path(training_args.output_dir)
        return get_last_checkpoint(str(out)) if out.is_dir() else None
    return str(value)


def train_and_save(trainer: Any, training_args: Any, name: str) -> tuple[Any, Path]:
    """Run ``trainer`` (resuming as :func:`resolve_checkpoint` says) and save its model to
    ``output_dir/name``; returns (the train output, that folder)."""
    result = trainer.train(resume_from_checkpoint=resolve_checkpoint(training_args))
    out = Path(training_args.output_dir) / name
    trainer.save_model(str(out))
    return result, out


def parse_config(parser: Any, config: Mapping[str, Any]) -> tuple[Any, ...]:
    """The parser's dataclasses from a stored config dict (unknown keys are an error)."""
    return parser.parse_dict(dict(config), allow_extra_keys=False)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path`` (a run config file)."""
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a YAML mapping")
    return data
