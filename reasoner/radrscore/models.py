"""Small learned models stored as plain JSON: linear models and gradient-boosted trees.

The learned judge's parameters are numbers, not pickles: a model is a JSON object that
:func:`load` turns into a predictor with ``predict(X) -> np.ndarray`` (numpy only; no
scikit-learn at scoring time). Two kinds:

- ``{"kind": "linear", "link": "logit"|"log", "mean", "scale", "coef", "intercept"}``: standardised
  inputs, a linear score, and the inverse link (a probability, or a Poisson rate);
- ``{"kind": "trees", "link": ..., "baseline", "trees": [{"feature", "threshold", "left", "right",
  "value"}...]}``: the sum of regression trees (a node is a leaf where ``left`` is -1; a row goes
  left where its feature is <= the threshold), plus the baseline, through the inverse link.

:func:`from_sklearn` exports a fitted scikit-learn ``Pipeline(StandardScaler, LogisticRegression |
PoissonRegressor)`` or ``HistGradientBoostingClassifier | HistGradientBoostingRegressor`` (binary,
or ``loss="poisson"``), fitted on inputs without missing values. Numbers are rounded to 7
significant digits, so a stored model predicts what the fitted one did to about 1e-6.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

_DIGITS = 7


def _round(values: Any) -> list:
    return [float(f"{v:.{_DIGITS}g}") for v in np.asarray(values, dtype=float).ravel()]


def _inverse_link(link: str, raw: np.ndarray) -> np.ndarray:
    if link == "logit":
        return 1.0 / (1.0 + np.exp(-raw))
    if link == "log":
        return np.exp(np.clip(raw, -30, 30))
    raise ValueError(f"unknown link {link!r}")


class Linear:
    """A standardised linear model through a link (logistic or Poisson regression)."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.link = str(spec["link"])
        self.mean = np.asarray(spec["mean"], dtype=float)
        self.scale = np.asarray(spec["scale"], dtype=float)
        self.coef = np.asarray(spec["coef"], dtype=float)
        self.intercept = float(spec["intercept"])

    def predict(self, X: np.ndarray) -> np.ndarray:
        z = (np.asarray(X, dtype=float) - self.mean) / self.scale
        return _inverse_link(self.link, z @ self.coef + self.intercept)


class Trees:
    """A sum of regression trees through a link (gradient boosting).

    The trees are stacked into (trees x nodes) arrays, so a prediction walks every tree at once,
    one level per step (a few numpy operations per level, not per tree).
    """

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.link = str(spec["link"])
        self.baseline = float(spec["baseline"])
        trees = [tuple(np.asarray(t[k], dtype=dt) for k, dt in _TREE_FIELDS) for t in spec["trees"]]
        self.depth = max((_depth(t[2], t[3]) for t in trees), default=0)
        width = max((len(t[0]) for t in trees), default=1)
        stacked = []
        for k, (_, dtype) in enumerate(_TREE_FIELDS):
            fill = -1 if k in (2, 3) else 0
            table = np.full((len(trees), width), fill, dtype=dtype)
            for i, tree in enumerate(trees):
                table[i, : len(tree[k])] = tree[k]
            stacked.append(table)
        self.feature, self.threshold, self.left, self.right, self.value = stacked

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        n_trees = len(self.value)
        if not n_trees or not len(X):
            return _inverse_link(self.link, np.full(len(X), self.baseline))
        tree = np.arange(n_trees)[None, :]
        rows = np.arange(len(X))[:, None]
        node = np.zeros((len(X), n_trees), dtype=np.int64)
        for _ in range(self.depth):
            left = self.left[tree, node]
            go_left = X[rows, self.feature[tree, node]] <= self.threshold[tree, node]
            node = np.where(left >= 0, np.where(go_left, left, self.right[tree, node]), node)
        return _inverse_link(self.link, self.baseline + self.value[tree, node].sum(axis=1))


_TREE_FIELDS = (
    ("feature", np.int64),
    ("threshold", float),
    ("left", np.int64),
    ("right", np.int64),
    ("value", float),
)


def _depth(left: np.ndarray, right: np.ndarray) -> int:
    depth, frontier = 0, [0]
    while frontier:
        frontier = [c for n in frontier for c in (left[n], right[n]) if left[n] >= 0]
        depth += bool(frontier)
    return depth


def load(spec: Mapping[str, Any]) -> Linear | Trees:
    """The predictor a stored model describes."""
    kind = spec.get("kind")
    if kind == "linear":
        return Linear(spec)
    if kind == "trees":
        return Trees(spec)
    raise ValueError(f"unknown model kind {kind!r}")


def from_sklearn(model: Any) -> dict[str, Any]:
    """The JSON form of a fitted scikit-learn model (see the module docstring for which)."""
    steps = getattr(model, "steps", None)
    if steps:
        scaler, estimator = steps[0][1], steps[-1][1]
        link = "logit" if hasattr(estimator, "predict_proba") else "log"
        return {
            "kind": "linear",
            "link": link,
            "mean": _round(scaler.mean_),
            "scale": _round(scaler.scale_),
            "coef": _round(estimator.coef_),
            "intercept": _round(estimator.intercept_)[0],
        }
    if hasattr(model, "_predictors"):
        link = "logit" if hasattr(model, "predict_proba") else "log"
        trees = []
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            trees.append(
                {
                    "feature": [
                        int(f) if not is_leaf else 0
                        for f, is_leaf in zip(nodes["feature_idx"], leaf, strict=True)
                    ],
                    "threshold": _round(np.where(leaf, 0.0, nodes["num_threshold"])),
                    "left": [
                        int(v) if not is_leaf else -1 for v, is_leaf in zip(nodes["left"], leaf, strict=True)
                    ],
                    "right": [
                        int(v) if not is_leaf else -1 for v, is_leaf in zip(nodes["right"], leaf, strict=True)
                    ],
                    "value": _round(np.where(leaf, nodes["value"], 0.0)),
                }
            )
        return {
            "kind": "trees",
            "link": link,
            "baseline": _round(np.ravel(model._baseline_prediction))[0],
            "trees": trees,
        }
    raise TypeError(f"cannot export {type(model).__name__}")
