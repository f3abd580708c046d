"""Arguments shared by the training entry points (TRL-style dataclasses, loadable from YAML).

Contract: dataclasses with ``metadata={"help": ...}`` on every field, parsed by ``TrlParser``
from ``--config FILE.yaml`` plus command-line overrides, or from a dict (a run's stored config)
by :func:`parse_config`. Each entry point (``training.sft``, ``training.prm_text``,
``training.prm_trl``, ``training.grpo``) adds its own fields.
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
