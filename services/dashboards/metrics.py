"""Reading model-quality numbers and loss curves out of the JSON columns that training writes.

Contract: pure functions of plain dicts; they never raise on odd input, they return None or an
empty curve. The keys are what the training and evaluation code writes (see docs/DASHBOARDS.md):

- ``model_versions.metrics``: a metric (``radrscore``, ``accuracy``) at the top level or under
  ``eval`` / ``test`` / ``evaluation``; a value is a number, or a dict with ``overall`` (the
  shape of ``reasoner.radrscore.score.aggregate``: ``{"overall": {"completeness": {"mean": ..}}}``),
  ``mean``, ``value`` or ``score``. A RadRScore given only as its three components is their mean,
  as in the paper.
- ``training_runs.progress`` / ``metrics``: a loss history under ``loss_history``, ``log_history``
  (the shape of transformers' ``TrainerState.log_history``), ``losses`` or ``history``: a list of
  numbers, of ``[step, loss]`` pairs, or of dicts with ``loss`` (or ``train_loss``) and ``step``
  (or ``global_step`` / ``epoch``); failing those, the single current ``loss`` at ``step``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

COMPONENTS = ("completeness", "factuality", "effectiveness")
SCOPES = (None, "eval", "test", "evaluation", "heldout")
ALIASES = {
    "radrscore": ("radrscore", "RadRScore", "rad_r_score", "radr_score"),
    "accuracy": ("accuracy", "acc", "answer_accuracy", "outcome_accuracy"),
}
HISTORY_KEYS = ("loss_history", "log_history", "losses", "history")
MAX_POINTS = 500  # a curve is downsampled to this many points; the figure stays small


def _number(value: Any) -> float | None:
    """A finite float from a number, or from a dict that summarises one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        for key in ("overall", "mean", "value", "score"):
            if key in value:
                found = _number(value[key])
                if found is not None:
                    return found
        parts = [p for p in (_number(value.get(c)) for c in COMPONENTS) if p is not None]
        if parts:
            return sum(parts) / len(parts)
    return None


def _scopes(metrics: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    out = []
    for scope in SCOPES:
        block = metrics if scope is None else metrics.get(scope)
        if isinstance(block, Mapping):
            out.append(block)
    return out


def metric(metrics: Mapping[str, Any] | None, name: str) -> float | None:
    """``radrscore``, ``accuracy`` (or any key) from a model version's metrics; None if absent."""
    if not isinstance(metrics, Mapping):
        return None
    for block in _scopes(metrics):
        for key in ALIASES.get(name, (name,)):
            if key in block:
                found = _number(block[key])
                if found is not None:
                    return found
    return None


def component(metrics: Mapping[str, Any] | None, name: str) -> float | None:
    """A RadRScore component (``completeness``...) wherever the metrics keep it."""
    if not isinstance(metrics, Mapping):
        return None
    for block in _scopes(metrics):
        for holder in (block, *(block.get(k) for k in ALIASES["radrscore"])):
            if not isinstance(holder, Mapping):
                continue
            for where in (holder, holder.get("overall")):
                if isinstance(where, Mapping) and name in where:
                    found = _number(where[name])
                    if found is not None:
                        return found
    return None


def _point(index: int, item: Any) -> tuple[float, float] | None:
    if isinstance(item, Mapping):
        loss = _number(item.get("loss", item.get("train_loss")))
        step = _number(item.get("step", item.get("global_step", item.get("epoch"))))
        return None if loss is None else (index + 1 if step is None else step, loss)
    if isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
        step, loss = _number(item[0]), _number(item[1])
        return None if step is None or loss is None else (step, loss)
    loss = _number(item)
    return None if loss is None else (index + 1, loss)


def _downsample(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= MAX_POINTS:
        return points
    stride = len(points) / MAX_POINTS
    picked = [points[int(i * stride)] for i in range(MAX_POINTS - 1)]
    return [*picked, points[-1]]  # keep the last point: it is the one people read


def loss_curve(
    progress: Mapping[str, Any] | None, metrics: Mapping[str, Any] | None
) -> list[tuple[float, float]]:
    """(step, loss) points of a training run, ordered by step; [] when it recorded none."""
    for source in (progress, metrics):
        if not isinstance(source, Mapping):
            continue
        for key in HISTORY_KEYS:
            history = source.get(key)
            if isinstance(history, Sequence) and not isinstance(history, str):
                points = [p for i, item in enumerate(history) if (p := _point(i, item)) is not None]
                if points:
                    return _downsample(sorted(points))
    for source in (progress, metrics):
        if isinstance(source, Mapping) and _number(source.get("loss")) is not None:
            return [(_number(source.get("step")) or 0.0, _number(source["loss"]))]
    return []
