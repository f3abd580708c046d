"""The promotion gate: does a candidate model version beat the current one?

Contract: :func:`decide` promotes the candidate only if its ``metric`` beats the current
version's by at least ``margin``: "composite" (the mean of accuracy and RadRScore's mean where
defined), "accuracy", "radrscore", or "nll" (lower is better, so the margin is in nats). A
candidate with no value for the metric never wins. The metrics are those of
:func:`training.evaluate.evaluate_version` on the held-out test split; see docs/TRAINING.md for the
choice of metric. Pure: no model, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

METRICS = ("composite", "accuracy", "radrscore", "nll")


@dataclass(frozen=True)
class Decision:
    promote: bool
    metric: str
    candidate: float | None
    current: float | None
    margin: float
    reason: str


def metric_value(metrics: Mapping[str, Any] | None, metric: str) -> float | None:
    """The gate's number for ``metric`` (higher is better; NLL is negated)."""
    if not metrics:
        return None
    radr = (metrics.get("radrscore") or {}).get("mean")
    if metric == "accuracy":
        return metrics.get("accuracy")
    if metric == "radrscore":
        return radr
    if metric == "nll":
        return None if metrics.get("nll") is None else -float(metrics["nll"])
    if metric == "composite":
        parts = [v for v in (metrics.get("accuracy"), radr) if v is not None]
        return sum(parts) / len(parts) if parts else None
    raise ValueError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")


def decide(
    candidate: Mapping[str, Any] | None, current: Mapping[str, Any] | None, *, metric: str, margin: float
) -> Decision:
    """Promote only when the candidate beats the current version by ``margin`` on ``metric``."""
    cand, cur = metric_value(candidate, metric), metric_value(current, metric)
    if not candidate or not candidate.get("n_cases"):
        return Decision(
            False,
            metric,
            cand,
            cur,
            margin,
            "no held-out verified cases to evaluate on: kept the current model",
        )
    if cand is None:
        return Decision(
            False, metric, cand, cur, margin, f"the candidate has no {metric} value: kept the current model"
        )
    if cur is not None and cand < cur + margin:
        return Decision(
            False,
            metric,
            cand,
            cur,
            margin,
            f"{metric} {cand:.4f} does not beat the current {cur:.4f} by {margin}: kept the current model",
        )
    shown = "none" if cur is None else f"{cur:.4f}"
    return Decision(
        True,
        metric,
        cand,
        cur,
        margin,
        f"{metric} {cand:.4f} beats the current {shown} by >= {margin}: promoted",
    )
