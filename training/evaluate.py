"""Evaluation of model versions on held-out verified cases.

Contract: :func:`evaluate_version` generates a chain for every held-out case (the test split of
an SFT export: prompt, image(s), verified chain) with one model version and returns metrics:

- ``accuracy``: the parsed answer equals the verified answer (letters as sets);
- ``radrscore``: completeness, factuality and effectiveness of the generated steps against the
  verified chain and the report, from :mod:`reasoner.radrscore`'s offline judge, and their
  ``mean`` (None where undefined, e.g. no step could be parsed);
- ``nll``: the mean negative log-likelihood per token of the verified chain given the prompt (a
  smooth held-out metric that needs no parsing; lower is better);
- ``malformed_rate``: outputs the parser flags as not ``<think>...</think><answer>...</answer>``.

The promotion gate that reads these metrics is :mod:`training.gate`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from reasoner.parsing import parse_output
from reasoner.radrscore.offline import OfflineJudge
from reasoner.radrscore.score import sample_score
from reasoner.radrscore.types import Sample
from training.data import answer_of, split_messages
from training.modeling import load_processor, load_vlm


@dataclass
class EvalConfig:
    """How candidates are evaluated (the loop config's ``eval`` section)."""

    max_new_tokens: int = field(default=256, metadata={"help": "Tokens generated per case."})
    max_cases: int | None = field(
        default=200, metadata={"help": "Evaluate at most this many held-out cases."}
    )
    max_pixels: int = field(default=200_704, metadata={"help": "Pixels per image after resizing."})
    dtype: str | None = field(
        default="auto",
        metadata={"help": "Model dtype: 'auto' (bfloat16 where the GPU has it, else float32) or a name."},
    )
    device: str | None = field(default=None, metadata={"help": "cuda, cpu; default cuda when available."})
    radrscore: bool = field(
        default=True, metadata={"help": "Score the steps with the offline RadRScore judge."}
    )
    nll: bool = field(default=True, metadata={"help": "Compute the verified chain's held-out NLL."})


def _images(row: Mapping[str, Any]) -> list[Any]:
    out = []
    for img in row.get("images") or []:
        out.append(Image.open(io.BytesIO(img["bytes"])) if isinstance(img, dict) else Image.open(img))
    return [im.convert("RGB") for im in out]


def _inputs(
    processor: Any, messages: Sequence[Mapping[str, Any]], images: list[Any], *, generation: bool
) -> Any:
    text = processor.apply_chat_template(list(messages), add_generation_prompt=generation, tokenize=False)
    return processor(text=[text], images=images or None, return_tensors="pt")


def _generate_and_nll(
    model: Any, processor: Any, row: Mapping[str, Any], config: EvalConfig
) -> tuple[str, float, int]:
    import torch  # here, not at the top: the worker imports this module for every kind of run

    prompt, chain = split_messages(row["messages"])
    images = _images(row)
    device = next(model.parameters()).device
    inputs = _inputs(processor, prompt, images, generation=True).to(device)
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=config.max_new_tokens, do_sample=False)
    text = processor.tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    if not config.nll:
        return text, 0.0, 0
    full = [*prompt, {"role": "assistant", "content": [{"type": "text", "text": chain}]}]
    batch = _inputs(processor, full, images, generation=False).to(device)
    labels = batch["input_ids"].clone()
    labels[:, : inputs["input_ids"].shape[1]] = -100
    n = int((labels[:, 1:] != -100).sum())
    with torch.inference_mode():
        loss = model(**batch, labels=labels).loss
    return text, float(loss) * n, n


def evaluate_version(
    *, base_model: str, adapter_path: str | None, rows: Sequence[Mapping[str, Any]], config: EvalConfig
) -> dict[str, Any]:
    """Metrics of one model version on held-out rows (see the module docstring)."""
    import torch  # here, not at the top: the worker imports this module for every kind of run

    rows = list(rows)[: config.max_cases]
    if not rows:
        return {"n_cases": 0, "accuracy": None, "radrscore": None, "nll": None, "malformed_rate": None}
    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    processor = load_processor(base_model, max_pixels=config.max_pixels)
    model = load_vlm(base_model, adapter_path=adapter_path, dtype=config.dtype, device=device).eval()
    outputs, nll_sum, tokens = [], 0.0, 0
    for row in rows:
        text, nll, n = _generate_and_nll(model, processor, row, config)
        outputs.append(text)
        nll_sum, tokens = nll_sum + nll, tokens + n
    metrics = score_outputs(outputs, rows, radrscore=config.radrscore)
    metrics["nll"] = nll_sum / tokens if tokens else None
    return metrics


def score_outputs(
    outputs: Sequence[str], rows: Sequence[Mapping[str, Any]], *, radrscore: bool = True
) -> dict[str, Any]:
    """Accuracy, RadRScore and the malformed rate of generated ``outputs`` against ``rows``."""
    parsed = [parse_output(text) for text in outputs]
    references = [split_messages(r["messages"])[1] for r in rows]
    correct = [
        p.answer is not None and set(p.answer.split(",")) == set((answer_of(ref) or "").split(","))
        for p, ref in zip(parsed, references, strict=True)
    ]
    metrics: dict[str, Any] = {
        "n_cases": len(rows),
        "accuracy": sum(correct) / len(correct),
        "malformed_rate": sum(p.malformed for p in parsed) / len(parsed),
        "radrscore": None,
    }
    if radrscore:
        metrics["radrscore"] = _radrscore(parsed, references, rows)
    return metrics


def _radrscore(
    parsed: Sequence[Any], references: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any] | None:
    samples = [
        Sample(
            model_steps=tuple(p.steps),
            reference_steps=tuple(parse_output(ref).steps),
            report=str(row.get("report") or ""),
            model_answer=p.answer or "",
        )
        for p, ref, row in zip(parsed, references, rows, strict=True)
    ]
    scores = [sample_score(j) for j in OfflineJudge().judge(samples)]
    out: dict[str, Any] = {}
    for part in ("completeness", "factuality", "effectiveness"):
        values = [getattr(s, part) for s in scores if getattr(s, part) is not None]
        out[part] = sum(values) / len(values) if values else None
    defined = [v for v in out.values() if v is not None]
    out["mean"] = sum(defined) / len(defined) if defined else None
    return out
