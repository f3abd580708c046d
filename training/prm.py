"""Process reward models: the common interface, loading a trained one, and held-out AUROC.

Contract: a PRM is a :class:`StepScorer`: ``score(context, steps) -> [p_correct per step]``,
where ``context`` is the evidence the steps are judged against (the case's report, else the
question; see :func:`training.step_errors.prm_context`). Two implementations exist, trained from
the same stepwise-supervision rows (``prompt``, ``completions``, ``labels``):

- :mod:`training.prm_text`: a small text PRM on all-MiniLM-L6-v2, trainable on a CPU in minutes;
- :mod:`training.prm_trl`: TRL's ``PRMTrainer`` on a token-classification model (LoRA).

A trained PRM is a folder with ``chestx_prm.json`` naming its kind
(:func:`training.prm_loader.load_scorer` opens either). :func:`step_auroc` is the metric both
report: the area under the ROC curve for telling correct steps (label True) from incorrect ones,
on rows the PRM did not train on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from training.step_errors import prm_context

MARKER = "chestx_prm.json"


@runtime_checkable
class StepScorer(Protocol):
    """Scores reasoning steps: the probability that each is correct, given the evidence."""

    def score(self, context: str, steps: Sequence[str]) -> list[float]: ...


def write_marker(out_dir: Path, *, kind: str, **info: Any) -> None:
    """Name the PRM kind of a trained folder (what :func:`training.prm_loader.load_scorer` reads)."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / MARKER).write_text(json.dumps({"kind": kind, **info}, indent=2) + "\n", encoding="utf-8")


def read_marker(path: Path | str) -> dict[str, Any]:
    try:
        return json.loads((Path(path) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise FileNotFoundError(f"{path} is not a trained PRM folder (no readable {MARKER})") from None


def step_auroc(scorer: StepScorer, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Held-out AUROC of ``scorer`` on ``rows`` (plus counts); None when one class is missing."""
    from sklearn.metrics import roc_auc_score  # lazy: scikit-learn loads scipy (seconds)

    scores, labels = [], []
    for row in rows:
        scores.extend(scorer.score(prm_context(row), list(row["completions"])))
        labels.extend(int(bool(x)) for x in row["labels"])
    n_pos = sum(labels)
    auroc = float(roc_auc_score(labels, scores)) if 0 < n_pos < len(labels) else None
    return {"auroc": auroc, "n_steps": len(labels), "n_correct": n_pos, "n_incorrect": len(labels) - n_pos}


def held_out_auroc(
    scorer: StepScorer, rows: Mapping[str, Sequence[Mapping[str, Any]]]
) -> tuple[dict[str, dict[str, Any]], float | None]:
    """:func:`step_auroc` on the validation and test rows present, and the headline AUROC (the
    test split's, else the validation split's, where defined)."""
    held = {split: step_auroc(scorer, rows[split]) for split in ("validation", "test") if rows.get(split)}
    auroc = next(
        (held[s]["auroc"] for s in ("test", "validation") if s in held and held[s]["auroc"] is not None), None
    )
    return held, auroc
