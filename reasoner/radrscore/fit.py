"""Fitting the offline judge's models from the paper's judged evaluation files.

:func:`training_data` reads evaluation files whose items carry GPT-4o's verdicts, extracts each
item's units and features (as the judge does) and labels every unit from GPT-4o's verdicts
(:mod:`reasoner.radrscore.labels`): how many of GPT-4o's findings (or steps) fall in it, and
which share of them it recalled / counted correct / counted effective.

:func:`fit_models` fits one component's weight models (the segmenter) and probability models.
By default (``combine="average"``) every candidate of :data:`WEIGHT_CANDIDATES` and
:data:`PROBABILITY_CANDIDATES` is fitted and the judge averages them: the candidates' inner-fold
agreement ties within noise, and the average generalized better to held-apart sources than any one
chosen (docs/RADRSCORE.md). ``combine="select"`` instead chooses one pair by *nested* selection:
candidates compared by the item-level Spearman of the component against GPT-4o's, over folds of the
training part only (leave one training file out; four random folds of items when there is one
file). ``combine="first"`` takes the first of each list (seconds; tests). Nothing is chosen on data
the fit will be measured on.

:func:`fit_params` fits the three components; :mod:`reasoner.radrscore.refit` adds the
provenance and writes the parameters' file (``chestx eval fit-judge``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from reasoner.radrscore import models
from reasoner.radrscore.embedding import PhraseEmbedder, default_embedder
from reasoner.radrscore.evalfile import paper_scores, read_items, sample_from_item
from reasoner.radrscore.features import completeness_features, model_step_features
from reasoner.radrscore.labels import effective_counts, effective_labels, gpt_units
from reasoner.radrscore.offline import COMPONENTS, ComponentModel, OfflineJudge, prepare
from reasoner.radrscore.units import StepUnit

# Candidate models, averaged (or compared by nested selection). A weight of None counts every
# step that states a finding once (the rule segmenter); the others learn GPT-4o's count per step.
PROBABILITY_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"kind": "linear", "C": 0.1},
    {"kind": "linear", "C": 1.0},
    {"kind": "trees", "max_depth": 2, "max_iter": 100},
    {"kind": "trees", "max_depth": 3, "max_iter": 200},
)
WEIGHT_CANDIDATES: tuple[dict[str, Any] | None, ...] = (
    None,
    {"kind": "linear", "alpha": 1.0},
    {"kind": "trees", "max_depth": 3, "max_iter": 100},
)
SIDE = {"completeness": "reference", "factuality": "model", "effectiveness": "model"}


@dataclass
class Rows:
    """One side's units stacked over items: features, owning item, per-component targets."""

    X: np.ndarray
    item: np.ndarray
    count: dict[str, np.ndarray] = field(default_factory=dict)  # weight targets (NaN: unknown)
    label: dict[str, np.ndarray] = field(default_factory=dict)  # probability targets in [0, 1]


@dataclass
class TrainingData:
    """Units, features and labels of judged evaluation files (see :func:`training_data`)."""

    files: list[dict[str, Any]]
    file_of: np.ndarray  # per item: index into files
    paper: dict[str, np.ndarray]  # per component, per item: GPT-4o's score (NaN: undefined)
    names: dict[str, list[str]]
    reference: Rows
    model: Rows
    model_steps: np.ndarray  # per item: how many steps the model chain has

    @property
    def n_items(self) -> int:
        return len(self.file_of)

    def rows(self, component: str) -> Rows:
        return self.reference if SIDE[component] == "reference" else self.model


def _unit_targets(units: Sequence[StepUnit], placed: Sequence[tuple[int, bool]] | None) -> tuple[list, list]:
    """Per unit: how many judged findings fall in it, and which share of them was judged true."""
    if placed is None:
        return [np.nan] * len(units), [np.nan] * len(units)
    owner = {s: u.index for u in units for s in u.source}
    hits: dict[int, list[bool]] = {}
    for step, verdict in placed:
        if step in owner:
            hits.setdefault(owner[step], []).append(verdict)
    counts = [float(len(hits.get(u.index, []))) for u in units]
    shares = [float(np.mean(hits[u.index])) if u.index in hits else np.nan for u in units]
    return counts, shares


def _placed(item: Mapping[str, Any], component: str, steps: Sequence[str]) -> list[tuple[int, bool]] | None:
    found = gpt_units(item, component, steps)
    return None if found is None else [(f.step, v) for f, v in zip(*found, strict=True)]


def training_data(
    paths: Iterable[str | Path],
    *,
    embedder: PhraseEmbedder | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainingData:
    """Units, features and GPT-4o's labels of every item of ``paths`` (evaluation files)."""
    judge = OfflineJudge(embedder=embedder or default_embedder(), params=_EMPTY_PARAMS)
    files, file_of, contexts, items = [], [], [], []
    for k, path in enumerate(paths):
        loaded = read_items(path)
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        files.append({"name": Path(path).name, "sha256": digest, "items": len(loaded)})
        for item in loaded:
            contexts.append(prepare(sample_from_item(item)[0]))
            items.append(item)
            file_of.append(k)
        if progress:
            progress(f"{Path(path).name}: {len(loaded)} items")
    all_sims = judge.sims(contexts)
    ref_rows, model_rows, names = [], [], {}
    ref_t: dict[str, list] = {"count": [], "label": []}
    mod_t: dict[str, list] = {k: [] for k in ("count_f", "label_f", "count_e", "label_e")}
    ref_item, mod_item = [], []
    for k, (ctx, item, sims) in enumerate(zip(contexts, items, all_sims, strict=True)):
        names_r, X_r = completeness_features(ctx, sims)
        names_m, X_m = model_step_features(ctx, sims)
        if len(X_r):
            names["reference"] = names_r
            ref_rows.append(X_r)
            ref_item += [k] * len(X_r)
            counts, shares = _unit_targets(
                ctx.reference_units, _placed(item, "completeness", ctx.sample.reference_steps)
            )
            ref_t["count"] += counts
            ref_t["label"] += shares
        if len(X_m):
            names["model"] = names_m
            model_rows.append(X_m)
            mod_item += [k] * len(X_m)
            counts, shares = _unit_targets(
                ctx.model_units, _placed(item, "factuality", ctx.sample.model_steps)
            )
            mod_t["count_f"] += counts
            mod_t["label_f"] += shares
            effective = effective_labels(item, ctx.sample.model_steps)
            labels = [
                np.nan if effective is None else float(effective[u.source[-1]]) for u in ctx.model_units
            ]
            mod_t["label_e"] += labels
            mod_t["count_e"] += effective_counts(item, labels)
    reference = Rows(
        np.vstack(ref_rows),
        np.asarray(ref_item),
        {"completeness": np.asarray(ref_t["count"])},
        {"completeness": np.asarray(ref_t["label"])},
    )
    model = Rows(
        np.vstack(model_rows),
        np.asarray(mod_item),
        {"factuality": np.asarray(mod_t["count_f"]), "effectiveness": np.asarray(mod_t["count_e"])},
        {"factuality": np.asarray(mod_t["label_f"]), "effectiveness": np.asarray(mod_t["label_e"])},
    )
    paper = {
        c: np.array([np.nan if (v := paper_scores(it)[c]) is None else v for it in items]) for c in COMPONENTS
    }
    steps = np.array([len(ctx.sample.model_steps) for ctx in contexts])
    return TrainingData(files, np.asarray(file_of), paper, names, reference, model, steps)


_EMPTY_PARAMS: dict[str, Any] = {
    "features": {"reference": [], "model": []},
    "components": {
        c: {
            "weights": [None],
            "probabilities": [
                {"kind": "linear", "link": "logit", "mean": [], "scale": [], "coef": [], "intercept": 0.0}
            ],
        }
        for c in COMPONENTS
    },
}


def _sklearn(spec: Mapping[str, Any], *, target: str):  # noqa: ANN202 - scikit-learn types
    """A fresh scikit-learn estimator for a candidate spec (``target``: "probability" or "count")."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, PoissonRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if spec["kind"] == "linear":
        if target == "probability":
            return make_pipeline(StandardScaler(), LogisticRegression(C=spec["C"], max_iter=5000))
        return make_pipeline(StandardScaler(), PoissonRegressor(alpha=spec["alpha"], max_iter=5000))
    common = {
        "max_depth": spec["max_depth"],
        "max_iter": spec["max_iter"],
        "learning_rate": 0.05,
        "min_samples_leaf": 40,
        "l2_regularization": 1.0,
        "early_stopping": False,
        "random_state": 0,
    }
    if target == "probability":
        return HistGradientBoostingClassifier(**common)
    return HistGradientBoostingRegressor(loss="poisson", **common)


def _fit(estimator, X: np.ndarray, y: np.ndarray, weight: np.ndarray):  # noqa: ANN001, ANN202
    keep = weight > 0
    X, y, weight = X[keep], y[keep], weight[keep]
    steps = getattr(estimator, "steps", None)
    kwargs = {f"{steps[-1][0]}__sample_weight": weight} if steps else {"sample_weight": weight}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y, **kwargs)


def fit_probability(
    spec: Mapping[str, Any], X: np.ndarray, share: np.ndarray, weight: np.ndarray
) -> dict[str, Any]:
    """A probability model fitted to soft labels: each unit counts as ``share`` positive and
    ``1 - share`` negative, weighted by how many judged findings it holds."""
    ok = np.isfinite(share) & np.isfinite(weight) & (weight > 0)
    X2 = np.vstack([X[ok], X[ok]])
    y2 = np.r_[np.ones(ok.sum()), np.zeros(ok.sum())]
    w2 = np.r_[share[ok] * weight[ok], (1 - share[ok]) * weight[ok]]
    return models.from_sklearn(_fit(_sklearn(spec, target="probability"), X2, y2, w2))


def fit_weight(spec: Mapping[str, Any] | None, X: np.ndarray, count: np.ndarray) -> dict[str, Any] | None:
    """A count model (Poisson) of how many judged findings or steps a unit holds; None for None."""
    if spec is None:
        return None
    ok = np.isfinite(count)
    return models.from_sklearn(_fit(_sklearn(spec, target="count"), X[ok], count[ok], np.ones(ok.sum())))


def item_scores(weights: np.ndarray, probs: np.ndarray, item: np.ndarray, n_items: int) -> np.ndarray:
    """Per item, the weighted mean of its units' probabilities (NaN where the weights sum to 0)."""
    num = np.bincount(item, weights=weights * probs, minlength=n_items)
    den = np.bincount(item, weights=weights, minlength=n_items)
    out = np.full(n_items, np.nan)
    ok = den > 0
    out[ok] = num[ok] / den[ok]
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")
    return float(spearmanr(a[ok], b[ok])[0])


def predict_units(
    data: TrainingData, component: str, spec: Mapping[str, Any], rows_mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and probabilities of the masked rows under a component's stored models (as the
    judge gives them: nothing is recalled from an empty model chain)."""
    rows = data.rows(component)
    X = rows.X[rows_mask]
    model = ComponentModel.from_json(spec)
    if component == "effectiveness":
        has = np.ones(len(X), dtype=bool)
    else:
        has = X[:, data.names[SIDE[component]].index("n_findings")] > 0
    weights, probs = model.predict(X, has)
    if component == "completeness":
        probs = np.where(data.model_steps[rows.item[rows_mask]] > 0, probs, 0.0)
    return weights, probs


def component_scores(
    data: TrainingData, component: str, spec: Mapping[str, Any], items: np.ndarray
) -> np.ndarray:
    """Per item (NaN outside ``items``, a boolean mask): the component's score under ``spec``."""
    rows = data.rows(component)
    mask = items[rows.item]
    weights, probs = predict_units(data, component, spec, mask)
    scores = item_scores(weights, probs, rows.item[mask], data.n_items)
    scores[~items] = np.nan
    return scores


def inner_folds(data: TrainingData, items: np.ndarray, *, seed: int = 0) -> list[np.ndarray]:
    """Test masks of the inner folds over ``items``: one per training file, or four random folds."""
    files = sorted(set(data.file_of[items].tolist()))
    if len(files) >= 2:
        return [items & (data.file_of == f) for f in files]
    order = np.random.default_rng(seed).permutation(np.flatnonzero(items))
    return [np.isin(np.arange(data.n_items), part) for part in np.array_split(order, 4)]


FitCache = dict[tuple[str, str, str, bytes], Any]
"""Fitted models keyed by (component, role, candidate, training items): the fits are
deterministic, so folds that share a training set (an inner fold of one outer fold is often the
training set of another) fit it once. Hold one cache per :class:`TrainingData`."""


def _cached(cache: FitCache | None, key: tuple[str, str, Any, np.ndarray], fit: Callable[[], Any]) -> Any:  # noqa: ANN401
    if cache is None:
        return fit()
    component, role, spec, items = key
    full = (component, role, json.dumps(spec, sort_keys=True), np.packbits(items).tobytes())
    if full not in cache:
        cache[full] = fit()
    return cache[full]


def cached_weight(
    data: TrainingData,
    component: str,
    spec: Mapping[str, Any] | None,
    items: np.ndarray,
    cache: FitCache | None,
) -> dict[str, Any] | None:
    """:func:`fit_weight` on the ``items`` of a component, through ``cache``."""
    return _cached(
        cache,
        (component, "weight", spec, items),
        lambda: fit_weight(spec, *_weight_inputs(data, component, items)),
    )


def cached_probability(
    data: TrainingData, component: str, spec: Mapping[str, Any], items: np.ndarray, cache: FitCache | None
) -> dict[str, Any]:
    """:func:`fit_probability` on the ``items`` of a component, through ``cache``."""
    return _cached(
        cache,
        (component, "probability", spec, items),
        lambda: fit_probability(spec, *_probability_inputs(data, component, items)),
    )


COMBINE = ("average", "select", "first")


def describe_spec(spec: Mapping[str, Any] | None) -> str:
    """A candidate spec in words: "trees max_depth=2 max_iter=100"; None is the rule segmenter."""
    if spec is None:
        return "1 per step (rule segmenter)"
    return " ".join([str(spec["kind"]), *(f"{k}={v}" for k, v in spec.items() if k != "kind")])


def fit_models(
    data: TrainingData,
    component: str,
    train: np.ndarray,
    *,
    combine: str = "average",
    cache: FitCache | None = None,
) -> dict[str, Any]:
    """A component's models fitted on the ``train`` items (see the module docstring for ``combine``).

    Returns ``{"weights": [...], "probabilities": [...], "members": the candidate specs behind
    them}``; with ``combine="select"`` also ``selection``, each candidate pair's mean inner-fold
    Spearman. ``cache`` (see :data:`FitCache`) only saves time: the result is the same without it.
    """
    if combine not in COMBINE:
        raise ValueError(f"combine must be one of {', '.join(COMBINE)}, not {combine!r}")
    weight_specs, probability_specs = WEIGHT_CANDIDATES, PROBABILITY_CANDIDATES  # read at call time
    table: dict[tuple[int, int], float] = {}
    if combine == "average":
        w_specs, p_specs = list(weight_specs), list(probability_specs)
    elif combine == "first" or len(weight_specs) * len(probability_specs) == 1:
        w_specs, p_specs = [weight_specs[0]], [probability_specs[0]]
    else:
        table = _inner_selection(data, component, train, cache)
        i, j = max(table, key=lambda k: (table[k], -k[0], -k[1]))
        w_specs, p_specs = [weight_specs[i]], [probability_specs[j]]
    fitted: dict[str, Any] = {
        "weights": [cached_weight(data, component, w, train, cache) for w in w_specs],
        "probabilities": [cached_probability(data, component, p, train, cache) for p in p_specs],
        "members": {"weights": w_specs, "probabilities": p_specs},
    }
    if table:
        fitted["selection"] = [
            {"weight": weight_specs[i], "probability": probability_specs[j], "inner_spearman": round(v, 4)}
            for (i, j), v in table.items()
        ]
    return fitted


def _inner_selection(
    data: TrainingData, component: str, train: np.ndarray, cache: FitCache | None
) -> dict[tuple[int, int], float]:
    """Per candidate pair (weight index, probability index): mean Spearman over inner folds."""
    weight_specs, probability_specs = WEIGHT_CANDIDATES, PROBABILITY_CANDIDATES
    rhos: dict[tuple[int, int], list[float]] = {}
    for test in inner_folds(data, train):
        fit_part = train & ~test
        weights = [cached_weight(data, component, w, fit_part, cache) for w in weight_specs]
        probs = [cached_probability(data, component, p, fit_part, cache) for p in probability_specs]
        for i, w in enumerate(weights):
            for j, p in enumerate(probs):
                spec = {"weights": [w], "probabilities": [p]}
                rho = spearman(data.paper[component], component_scores(data, component, spec, test))
                rhos.setdefault((i, j), []).append(rho)
    return {k: float(np.nanmean(v)) for k, v in rhos.items()}


def _weight_inputs(data: TrainingData, component: str, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = data.rows(component)
    mask = items[rows.item]
    return rows.X[mask], rows.count[component][mask]


def _probability_inputs(
    data: TrainingData, component: str, items: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = data.rows(component)
    mask = items[rows.item]
    return rows.X[mask], rows.label[component][mask], rows.count[component][mask]


def fit_params(
    data: TrainingData, train: np.ndarray, *, combine: str = "average", cache: FitCache | None = None
) -> dict[str, Any]:
    """The judge's parameters (without provenance) fitted on the ``train`` items."""
    return {
        "format": 2,
        "features": dict(data.names),
        "components": {c: fit_models(data, c, train, combine=combine, cache=cache) for c in COMPONENTS},
    }
