"""A process reward model through TRL's ``PRMTrainer``: token classification with LoRA.

This is the ONE module that imports ``trl.experimental`` (an unstable API). It is pinned to
``trl==1.13.0`` because ``PRMTrainer`` lives in ``trl.experimental.prm`` only in trl 1.0-1.13 and
was removed in trl 1.14; a newer trl needs this module replaced (transformers' own ``Trainer`` on
the same token labels, see ``PRMTrainer.tokenize_row``), nothing else.

Contract: :func:`main` trains an ``AutoModelForTokenClassification`` (2 labels) with a LoRA
adapter on stepwise-supervision rows. Each row becomes ``context`` (the report, else the prompt)
followed by the steps, each ending with ``step_separator``; the label of a step sits on its
separator token (``PRMTrainer.tokenize_row``). It saves the adapter and the tokenizer to
``<output_dir>/prm`` and returns held-out AUROC on the validation and test rows.
:class:`TokenPRM` loads such a folder and scores steps with exactly the training tokenization.

    python -m training.prm_trl --config training/configs/prm_trl.yaml
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Dataset
from transformers import AutoModelForTokenClassification, AutoTokenizer
from trl import ModelConfig, get_peft_config
from trl.experimental.prm import PRMConfig, PRMTrainer

from training.arguments import AutoBF16, DataArguments, train_and_save
from training.data import prm_splits
from training.prm import StepScorer, held_out_auroc, read_marker, write_marker
from training.step_errors import prm_context


@dataclass
class PRMModelConfig(ModelConfig):
    """The token-classification model and its LoRA."""

    use_peft: bool = field(
        default=True, metadata={"help": "Train a LoRA adapter (the classifier head is trained whole)."}
    )
    lora_task_type: str = field(default="TOKEN_CLS", metadata={"help": "PEFT task type."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    lora_target_modules: list[str] | None = field(
        default=None, metadata={"help": "Modules with LoRA (default: PEFT's choice for the architecture)."}
    )


@dataclass
class ChestXPRMConfig(AutoBF16, PRMConfig):
    """PRMConfig with defaults that fit short chest X-ray chains (``bf16: auto``: see
    :mod:`training.arguments`)."""

    max_length: int | None = field(
        default=512, metadata={"help": "Tokens of context + steps (the context is cut first)."}
    )
    report_to: str | list[str] = field(default="none", metadata={"help": "Where to report metrics."})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Trade compute for memory."})
    resume_from_checkpoint: str | None = field(
        default="auto", metadata={"help": "'auto', 'never' or a path."}
    )
    save_strategy: str = field(default="no", metadata={"help": "Checkpoints (PRM runs are short)."})


def trainer_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """PRMTrainer rows: the evidence as the prompt, then the steps and their labels.

    ```python
    >>> trainer_rows([{"prompt": "Q", "report": "Small right effusion.",
    ...                "completions": ["A", "B"], "labels": [True, False]}])
    [{"prompt": "Small right effusion.\\n", "completions": ["A", "B"], "labels": [True, False]}]
    ```
    """
    return [
        {
            "prompt": prm_context(r).strip() + "\n",
            "completions": list(r["completions"]),
            "labels": [bool(x) for x in r["labels"]],
        }
        for r in rows
        if r.get("completions")
    ]


class TokenPRM(StepScorer):
    """A trained token-classification PRM: P(correct) read at each step's separator token."""

    def __init__(self, model: Any, tokenizer: Any, *, separator: str, max_length: int | None) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.separator = separator
        self.max_length = max_length

    @classmethod
    def load(cls, path: Path | str, *, device: str = "cpu") -> TokenPRM:
        from peft import PeftModel

        info = read_marker(path)
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        base = AutoModelForTokenClassification.from_pretrained(info["base_model"], num_labels=2)
        model = PeftModel.from_pretrained(base, str(path)).merge_and_unload() if info.get("adapter") else base
        return cls(
            model.to(device), tokenizer, separator=info["separator"], max_length=info.get("max_length")
        )

    def score(self, context: str, steps: Sequence[str]) -> list[float]:
        import torch

        if not steps:
            return []
        row = {"prompt": context.strip() + "\n", "completions": list(steps), "labels": [False] * len(steps)}
        tok = PRMTrainer.tokenize_row(row, self.tokenizer, self.separator, self.max_length, None, False, True)
        ids = torch.tensor([tok["input_ids"]], device=self.model.device)
        with torch.inference_mode():
            probs = self.model(input_ids=ids).logits.float().softmax(-1)[0, :, 1]
        at = [i for i, label in enumerate(tok["labels"]) if label != -100]
        scores = [float(probs[i]) for i in at]
        # Steps cut off by max_length get the last score seen (the model never read them).
        return scores + [scores[-1] if scores else 0.5] * (len(steps) - len(scores))


def _model_and_tokenizer(name_or_path: str) -> tuple[Any, Any]:
    """The 2-label token classifier to train and its tokenizer, both with a padding token."""
    tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForTokenClassification.from_pretrained(name_or_path, num_labels=2)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def _saved_scorer(
    trainer: Any, tokenizer: Any, out: Path, training_args: ChestXPRMConfig, model_args: PRMModelConfig
) -> TokenPRM:
    """Complete the trained folder (tokenizer, marker) and return its scorer, as loaded later."""
    tokenizer.save_pretrained(str(out))
    write_marker(
        out,
        kind="trl",
        base_model=model_args.model_name_or_path,
        adapter=model_args.use_peft,
        separator=training_args.step_separator,
        max_length=training_args.max_length,
    )
    return TokenPRM(
        trainer.model.merge_and_unload() if model_args.use_peft else trainer.model,
        tokenizer,
        separator=training_args.step_separator,
        max_length=training_args.max_length,
    )


def main(
    data_args: DataArguments,
    training_args: ChestXPRMConfig,
    model_args: PRMModelConfig,
    *,
    callbacks: Sequence[Any] = (),
    rows: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Train; return ``{"auroc", "auroc_validation", "auroc_test", "prm_dir", ...}``.

    ``rows`` ({"train", "validation", "test"}) overrides reading ``dataset_dir``.
    """
    if rows is None:
        rows = prm_splits(
            data_args.dataset_dir, train_split=data_args.train_split, eval_split=data_args.eval_split
        )
    train = Dataset.from_list(trainer_rows(rows["train"])[: data_args.max_train_samples])
    model, tokenizer = _model_and_tokenizer(model_args.model_name_or_path)
    trainer = PRMTrainer(
        model=model,
        args=training_args,
        train_dataset=train,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        callbacks=list(callbacks),
    )
    result, out = train_and_save(trainer, training_args, "prm")
    scorer = _saved_scorer(trainer, tokenizer, out, training_args, model_args)
    held, auroc = held_out_auroc(scorer, rows)
    return {
        "kind": "trl",
        "train_loss": float(result.training_loss),
        "steps": int(trainer.state.global_step),
        "auroc": auroc,
        **{f"auroc_{s}": h["auroc"] for s, h in held.items()},
        "held_out": held,
        "prm_dir": str(out),
    }


def make_parser(subparsers: argparse._SubParsersAction | None = None, prog: str | None = None) -> Any:
    from trl import TrlParser

    dataclass_types = (DataArguments, ChestXPRMConfig, PRMModelConfig)
    if subparsers is not None:
        return subparsers.add_parser(
            "prm-trl", help="PRM with TRL's PRMTrainer", dataclass_types=dataclass_types
        )
    return TrlParser(dataclass_types, prog=prog)


if __name__ == "__main__":
    parser = make_parser()
    main(*parser.parse_args_and_config())
