"""Held-apart validation of the offline judge: whole sources held out, nothing chosen on them.

A *fold* trains on some evaluation files and tests on others (:func:`folds`): each file left out
in turn; one model's outputs against the other's; single-choice questions against
multiple-choice and no-options ones. For each fold the judge is refitted on the training files
only (:func:`reasoner.radrscore.fit.fit_params`: its candidates averaged, or one chosen by inner
folds of those files) and scored on the test files; the Spearman of each component against GPT-4o's, with a
paired bootstrap interval, is set beside the *in-sample* figure (the judge fitted on every file,
scored on the same test items). :func:`calibration` sets each model's mean beside GPT-4o's per
question set and component, and says which model each judge ranks higher. :func:`segmenter`
measures the learned segmenter (how many findings or steps GPT-4o counts per unit) against the
rule segmenters on the test files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import pearsonr

from reasoner.radrscore.fit import (
    SIDE,
    WEIGHT_CANDIDATES,
    FitCache,
    TrainingData,
    cached_weight,
    component_scores,
    fit_params,
    item_scores,
    predict_units,
    spearman,
)
from reasoner.radrscore.offline import COMPONENTS, ComponentModel
from reasoner.radrscore.validation import spearman_interval


@dataclass(frozen=True)
class Fold:
    """Train on some files, test on others (indices into the training data's files)."""

    name: str
    kind: str
    train: frozenset[int]
    test: frozenset[int]


def source(name: str) -> tuple[str, str]:
    """(model, question set) of an evaluation file named like ChestX-Reasoner's released ones
    (``chestx_reasoner_openi_single.json``, ``gpt4o_openi_multi_no_option.json``)."""
    lowered = name.lower()
    model = "ChestX-Reasoner" if lowered.startswith("chestx_reasoner") else re.split(r"_", lowered)[0]
    model = {"gpt4o": "GPT-4o"}.get(model, model)
    if "no_option" in lowered:
        questions = "no options"
    elif "multi" in lowered:
        questions = "multiple choice"
    elif "single" in lowered:
        questions = "single choice"
    else:
        questions = "other"
    return model, questions


def folds(names: Sequence[str]) -> list[Fold]:
    """The held-apart folds the files allow: leave one file out, by model, by question type."""
    out = []
    everything = frozenset(range(len(names)))
    for k, name in enumerate(names):
        out.append(Fold(f"leave out {name}", "file", everything - {k}, frozenset({k})))
    models = {source(n)[0] for n in names}
    for model in sorted(models):
        mine = frozenset(k for k, n in enumerate(names) if source(n)[0] == model)
        if 0 < len(mine) < len(names):
            out.append(Fold(f"train {model} -> test others", "model", mine, everything - mine))
    single = frozenset(k for k, n in enumerate(names) if source(n)[1] == "single choice")
    if single:
        for questions in ("multiple choice", "no options"):
            test = frozenset(k for k, n in enumerate(names) if source(n)[1] == questions)
            if test:
                out.append(Fold(f"train single choice -> test {questions}", "questions", single, test))
    return out


def _mask(data: TrainingData, files: frozenset[int]) -> np.ndarray:
    return np.isin(data.file_of, sorted(files))


def _row(paper: np.ndarray, scores: np.ndarray, mask: np.ndarray, interval: bool) -> dict[str, Any]:
    ok = mask & np.isfinite(paper) & np.isfinite(scores)
    row: dict[str, Any] = {
        "n": int(ok.sum()),
        "spearman": spearman(paper[ok], scores[ok]),
        "gpt_mean": float(paper[ok].mean()) if ok.any() else float("nan"),
        "judge_mean": float(scores[ok].mean()) if ok.any() else float("nan"),
    }
    if interval and ok.sum() >= 3:
        row["ci95"] = spearman_interval(paper[ok], scores[ok])
    return row


def all_scores(data: TrainingData, params: Mapping[str, Any], items: np.ndarray) -> dict[str, np.ndarray]:
    """Per component, per item: the scores the parameters give (NaN outside ``items``)."""
    return {c: component_scores(data, c, params["components"][c], items) for c in COMPONENTS}


def held_apart(
    data: TrainingData,
    *,
    combine: str = "average",
    interval: bool = True,
    segment: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every fold of :func:`folds`: per component, the held-apart and in-sample Spearman.

    Returns ``{"combine": combine, "in_sample": {...}, "folds": [...], "held_out_scores": {component: per-item
    scores from the fold that left the item's file out}, "params": the in-sample parameters}``.
    ``combine`` is :func:`reasoner.radrscore.fit.fit_models`'s, for every fit.
    With ``segment=False`` the folds leave out the diagnostics (:func:`segmenter`, :func:`limits`).
    Fits shared between folds are made once (:data:`reasoner.radrscore.fit.FitCache`).
    """
    cache: FitCache = {}
    everything = np.ones(data.n_items, dtype=bool)
    params = fit_params(data, everything, combine=combine, cache=cache)
    in_sample = all_scores(data, params, everything)
    names = [f["name"] for f in data.files]
    held_out = {c: np.full(data.n_items, np.nan) for c in COMPONENTS}
    results = []
    for fold in folds(names):
        if progress:
            progress(fold.name)
        train, test = _mask(data, fold.train), _mask(data, fold.test)
        fitted = fit_params(data, train, combine=combine, cache=cache)
        scores = all_scores(data, fitted, test)
        if fold.kind == "file":
            for c in COMPONENTS:
                held_out[c][test] = scores[c][test]
        row: dict[str, Any] = {"name": fold.name, "kind": fold.kind, "members": {}}
        for c in COMPONENTS:
            row[c] = _row(data.paper[c], scores[c], test, interval)
            row[c]["in_sample"] = spearman(data.paper[c][test], in_sample[c][test])
            row["members"][c] = fitted["components"][c]["members"]
        if segment:
            row["segmenter"] = segmenter(data, fitted, train, test, cache)
            row["limits"] = limits(data, fitted, test)
        results.append(row)
    return {
        "combine": combine,
        "in_sample": {c: _row(data.paper[c], in_sample[c], everything, interval) for c in COMPONENTS},
        "in_sample_scores": in_sample,
        "folds": results,
        "held_out_scores": held_out,
        "params": params,
    }


def segmenter(
    data: TrainingData,
    params: Mapping[str, Any],
    train: np.ndarray,
    test: np.ndarray,
    cache: FitCache | None = None,
) -> dict[str, Any]:
    """On the test items: how well per-item unit counts follow GPT-4o's counts, and what the
    learned weights do to each component's Spearman against uniform weights.

    Per component: ``learned`` (the tree count model, fitted on ``train``, alone), ``steps``
    (every step stating a finding counts one; every step for effectiveness) and ``findings`` (the
    rule extractor's findings per step): Pearson r and mean absolute error of the per-item totals
    against GPT-4o's; and the component's Spearman with the fold's probability models under
    learned and under uniform weights.
    """
    out = {}
    learned_spec = next(w for w in WEIGHT_CANDIDATES if w is not None and w.get("kind") == "trees")
    for c in COMPONENTS:
        rows = data.rows(c)
        names = data.names[SIDE[c]]
        learned = cached_weight(data, c, learned_spec, train, cache)
        mask = test[rows.item]
        X, item = rows.X[mask], rows.item[mask]
        n_findings = X[:, names.index("n_findings")]
        truth = np.bincount(item, weights=np.nan_to_num(rows.count[c][mask]), minlength=data.n_items)
        known = np.bincount(
            item, weights=np.isfinite(rows.count[c][mask]).astype(float), minlength=data.n_items
        )
        candidates = {
            "learned": ComponentModel.from_json(
                {"weights": [learned], "probabilities": params["components"][c]["probabilities"]}
            ).unit_weights(X, n_findings > 0),
            "steps": np.ones(len(X)) if c == "effectiveness" else (n_findings > 0).astype(float),
            "findings": n_findings,
        }
        ok = test & (known > 0) & (np.bincount(rows.item[mask], minlength=data.n_items) == known)
        entry = {}
        for name, weights in candidates.items():
            total = np.bincount(item, weights=weights, minlength=data.n_items)
            entry[name] = {
                "pearson": _pearson(total[ok], truth[ok]),
                "mae": float(np.abs(total[ok] - truth[ok]).mean()) if ok.any() else float("nan"),
                "per_item": float(total[ok].mean()) if ok.any() else float("nan"),
            }
        entry["gpt_per_item"] = float(truth[ok].mean()) if ok.any() else float("nan")
        for name, w_spec in (("spearman_learned", learned), ("spearman_uniform", None)):
            spec = {"weights": [w_spec], "probabilities": params["components"][c]["probabilities"]}
            entry[name] = spearman(data.paper[c], component_scores(data, c, spec, test))
        out[c] = entry
    return out


def limits(data: TrainingData, params: Mapping[str, Any], test: np.ndarray) -> dict[str, dict[str, float]]:
    """Where the judge loses agreement on the test items: per component, its Spearman against
    GPT-4o's score (``judge``), then with GPT-4o's own verdict share put in for each unit's
    probability (``gpt_probabilities``, units without a placed verdict keep the judge's), with
    GPT-4o's count per unit for the weights (``gpt_weights``), and with both (``gpt_both``)."""
    out = {}
    for c in COMPONENTS:
        rows = data.rows(c)
        mask = test[rows.item]
        weights, probs = predict_units(data, c, params["components"][c], mask)
        label, count = rows.label[c][mask], rows.count[c][mask]
        gpt_p = np.where(np.isfinite(label), label, probs)
        gpt_w = np.where(np.isfinite(count), count, 0.0)
        item = rows.item[mask]
        out[c] = {
            name: spearman(data.paper[c][test], item_scores(w, p, item, data.n_items)[test])
            for name, (w, p) in {
                "judge": (weights, probs),
                "gpt_probabilities": (weights, gpt_p),
                "gpt_weights": (gpt_w, probs),
                "gpt_both": (gpt_w, gpt_p),
            }.items()
        }
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(pearsonr(a, b)[0])


def _flip_rate(first: np.ndarray, second: np.ndarray, first_better: bool, resamples: int, seed: int) -> float:
    """Share of bootstrap resamples (each sample's items drawn with replacement) whose means rank
    the two samples the other way round."""
    rng = np.random.default_rng(seed)
    a = first[rng.integers(0, len(first), (resamples, len(first)))].mean(axis=1)
    b = second[rng.integers(0, len(second), (resamples, len(second)))].mean(axis=1)
    return float(np.mean((a > b) != first_better))


def calibration(
    data: TrainingData, scores: Mapping[str, np.ndarray], *, resamples: int = 2000, seed: int = 0
) -> list[dict[str, Any]]:
    """Per (question set, component, model): GPT-4o's mean and the judge's, over the items where
    both are defined; and per (question set, component) with two models whether the judge ranks
    them as GPT-4o does (``same_better``) and how often GPT-4o's own ranking flips when each
    model's items are resampled with replacement (``gpt_flip``, ``resamples`` bootstrap draws): near
    0.5, GPT-4o's judge cannot tell the models apart on these items, and no judge can be expected
    to rank them as it does."""
    names = [f["name"] for f in data.files]
    sources = [source(n) for n in names]
    rows = []
    for questions in sorted({q for _, q in sources}):
        for c in COMPONENTS:
            cell, paper = [], []
            for model in sorted({m for m, q in sources if q == questions}):
                files = frozenset(k for k, s in enumerate(sources) if s == (model, questions))
                mask = _mask(data, files) & np.isfinite(data.paper[c]) & np.isfinite(scores[c])
                gpt, judge = float(data.paper[c][mask].mean()), float(scores[c][mask].mean())
                paper.append(data.paper[c][mask])
                cell.append(
                    {
                        "questions": questions,
                        "component": c,
                        "model": model,
                        "n": int(mask.sum()),
                        "gpt_mean": gpt,
                        "judge_mean": judge,
                        "diff": judge - gpt,
                    }
                )
            if len(cell) == 2:
                gpt_first = cell[0]["gpt_mean"] > cell[1]["gpt_mean"]
                judge_first = cell[0]["judge_mean"] > cell[1]["judge_mean"]
                flip = _flip_rate(paper[0], paper[1], gpt_first, resamples, seed)
                for entry in cell:
                    entry["same_better"] = gpt_first == judge_first
                    entry["gpt_flip"] = flip
            rows.extend(cell)
    return rows
