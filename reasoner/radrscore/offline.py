"""The offline RadRScore judge (the default): rule extraction, decisions learned from GPT-4o's verdicts.

For each sample, findings with a status and a side are extracted from every step of both chains
and from the report by the rules of :mod:`reasoner.radrscore.extract`; each step of each chain
becomes a *unit* with a row of generic features (:mod:`reasoner.radrscore.features`). Learned
models (JSON, :mod:`reasoner.radrscore.models`; fitted by :func:`reasoner.radrscore.refit.fit_judge`
on the paper's judged evaluation files) then give, per unit:

- a *weight*: how many findings (completeness, factuality) or steps (effectiveness) the paper's
  judge would count in it (the learned segmenter; "every step that states a finding counts 1" is
  one of the candidates);
- a *probability*: recalled by the model chain (reference units), supported by the report (model
  units), advancing toward the answer (model units).

Each is the mean of several models of different kinds (logistic or Poisson regression, gradient-
boosted trees of two depths; the ``weights`` and ``probabilities`` lists of a component): their
inner-fold scores tie within noise, and averaging them generalizes better than choosing one
(docs/RADRSCORE.md).

A score is the weighted mean of its units' probabilities: completeness = sum(w p) / sum(w) over
the reference units, factuality and effectiveness over the model units. The judgement's counts
are those sums (expected counts, not integers). Hard constraints hold by construction: a left
finding is never compared with a right one (its similarity is missing, not low), a negated
finding is compared with an affirmed one only as a contradiction (the features keep same- and
opposite-polarity similarities apart), and nothing is recalled from an empty model chain.

The parameters' provenance (command, data files and their sha256, date, git commit) travels in
the JSON; :attr:`OfflineJudge.provenance` exposes it.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reasoner.radrscore import matching, models
from reasoner.radrscore.embedding import PhraseEmbedder, default_embedder
from reasoner.radrscore.extract import dedupe, extract_findings, split_sentences
from reasoner.radrscore.features import (
    Context,
    Sims,
    build_context,
    completeness_features,
    model_step_features,
)
from reasoner.radrscore.types import Finding, Flag, Judgement, Sample

compatible = matching.compatible  # re-exported: the hard status constraint (training reads it here)
DEFAULT_PARAMS = Path(__file__).resolve().parent / "params" / "offline_judge.json"
COMPONENTS = ("completeness", "factuality", "effectiveness")
_CHUNK = 16  # samples extracted per embedding call while the previous call runs


def prepare(sample: Sample) -> Context:
    """A sample's findings (per step of both chains, of the report, of the answer key)."""
    model_steps = [extract_findings(s, step_index=i) for i, s in enumerate(sample.model_steps)]
    reference_steps = [extract_findings(s, step_index=i) for i, s in enumerate(sample.reference_steps)]
    report: list[Finding] = []
    for i, sentence in enumerate(split_sentences(sample.report)):
        report.extend(extract_findings(sentence, step_index=i))
    return build_context(
        sample,
        model_steps,
        reference_steps,
        dedupe([f for fs in model_steps for f in fs]),
        dedupe([f for fs in reference_steps for f in fs]),
        dedupe(report),
    )


@functools.cache
def _load_params(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ComponentModel:
    """One component's learned models: unit weight models (None: every step stating a finding
    counts 1) and unit probability models; a unit's weight and probability are their means."""

    weights: tuple[models.Linear | models.Trees | None, ...]
    probabilities: tuple[models.Linear | models.Trees, ...]

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> ComponentModel:
        """From a component of the parameters: ``weights`` and ``probabilities`` lists (format 2),
        or one ``weight`` and one ``probability`` (format 1, parameters fitted before averaging)."""
        if "probabilities" in spec:
            weights, probabilities = list(spec["weights"]), list(spec["probabilities"])
        else:
            weights, probabilities = [spec.get("weight")], [spec["probability"]]
        if not weights or not probabilities:
            raise ValueError("a component needs at least one weight and one probability model")
        return cls(
            tuple(models.load(w) if w else None for w in weights),
            tuple(models.load(p) for p in probabilities),
        )

    def unit_weights(self, X: np.ndarray, has_findings: np.ndarray) -> np.ndarray:
        uniform = has_findings.astype(float)
        each = [uniform if w is None else np.clip(w.predict(X), 0.0, None) for w in self.weights]
        return np.mean(each, axis=0)

    def predict(self, X: np.ndarray, has_findings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(weights, probabilities) of the units whose feature rows are ``X``."""
        if not len(X):
            return np.zeros(0), np.zeros(0)
        return self.unit_weights(X, has_findings), np.mean([p.predict(X) for p in self.probabilities], axis=0)


class LearnedModels:
    """The three components' models and the feature names they were fitted on."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params
        self.features = {k: list(v) for k, v in params["features"].items()}
        self.components = {c: ComponentModel.from_json(params["components"][c]) for c in COMPONENTS}

    def check(self, side: str, names: Sequence[str]) -> None:
        """Refuse feature rows that are not the ones the models were fitted on."""
        if names and list(names) != self.features[side]:
            raise ValueError(
                f"the judge's parameters were fitted on other {side} features; refit them "
                "(chestx eval fit-judge DATA_DIR...)"
            )


def unit_predictions(
    learned: LearnedModels, X_reference: np.ndarray, X_model: np.ndarray, names: Mapping[str, Sequence[str]]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per component, (weights, probabilities) of its units (reference rows for completeness,
    model rows for the others). Feature tables may stack the units of many samples."""
    learned.check("reference", names.get("reference", ()))
    learned.check("model", names.get("model", ()))
    n_findings = "n_findings"
    ref_has = (
        X_reference[:, learned.features["reference"].index(n_findings)] > 0
        if len(X_reference)
        else np.zeros(0, bool)
    )
    mod_has = (
        X_model[:, learned.features["model"].index(n_findings)] > 0 if len(X_model) else np.zeros(0, bool)
    )
    return {
        "completeness": learned.components["completeness"].predict(X_reference, ref_has),
        "factuality": learned.components["factuality"].predict(X_model, mod_has),
        "effectiveness": learned.components["effectiveness"].predict(X_model, np.ones(len(X_model), bool)),
    }


class OfflineJudge:
    """Finding extraction with status, negation and laterality; decisions learned from GPT-4o.

    ``params`` is the parameters' JSON (a mapping, or a path; default the shipped
    ``params/offline_judge.json``); ``embedder`` the phrase embedder (default the process-wide
    all-MiniLM-L6-v2).
    """

    name = "offline"

    def __init__(
        self, *, embedder: PhraseEmbedder | None = None, params: Mapping[str, Any] | str | Path | None = None
    ) -> None:
        self.embedder = embedder or default_embedder()
        if params is None or isinstance(params, str | Path):
            params = _load_params(str(params or DEFAULT_PARAMS))
        self.learned = LearnedModels(params)

    @property
    def provenance(self) -> dict[str, Any]:
        """Where the parameters came from: command, data files (sha256), date, git commit."""
        return dict(self.learned.params.get("provenance", {}))

    def judge(self, samples: Sequence[Sample]) -> list[Judgement]:
        """Judgements for ``samples``, in order.

        Extraction (regular expressions, this thread) and embedding (torch, a worker thread)
        overlap: while one chunk's new phrases are embedded, the next chunk's findings are
        extracted. Once extraction is over, the phrases still waiting are embedded in one call
        with every torch thread. Features and models then run on the cached vectors.
        """
        contexts: list[Context] = []
        extracted = threading.Event()
        waiting: list[set[str]] = []
        lock = threading.Lock()

        def embed_next() -> None:
            with lock:
                if not waiting:
                    return
                if extracted.is_set():  # nothing competes for the cores any more: take them all
                    cores, threads = set().union(*waiting), self.embedder.all_threads()
                    waiting.clear()
                else:
                    cores, threads = waiting.pop(0), None
            self.embedder.encode(sorted(cores), threads=threads)

        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = []
            for start in range(0, len(samples), _CHUNK):
                chunk = [prepare(s) for s in samples[start : start + _CHUNK]]
                contexts.extend(chunk)
                with lock:
                    waiting.append({c for ctx in chunk for f in ctx.findings() for c in f.cores})
                pending.append(pool.submit(embed_next))
            extracted.set()
            for future in pending:
                future.result()
        return self.judge_contexts(contexts)

    def sims(self, contexts: Sequence[Context]) -> list[Sims]:
        """Per context, the similarities of its findings (one embedding call for all)."""
        cores = sorted({c for ctx in contexts for f in ctx.findings() for c in f.cores})
        vectors = self.embedder.encode(cores) if cores else np.zeros((0, 1), dtype=np.float32)
        index = {c: i for i, c in enumerate(cores)}
        return [Sims(ctx.findings(), vectors, index) for ctx in contexts]

    def judge_contexts(self, contexts: Sequence[Context]) -> list[Judgement]:
        """Judgements from prepared samples (:func:`prepare`)."""
        return [self._judge_one(ctx, sims) for ctx, sims in zip(contexts, self.sims(contexts), strict=True)]

    def _judge_one(self, ctx: Context, sims: Sims) -> Judgement:
        names_r, X_r = completeness_features(ctx, sims)
        names_m, X_m = model_step_features(ctx, sims)
        units = unit_predictions(self.learned, X_r, X_m, {"reference": names_r, "model": names_m})
        return judgement(ctx, units)


def _sums(weights: np.ndarray, probabilities: np.ndarray) -> tuple[float | None, float | None]:
    if not len(weights):
        return None, None
    return round(float(weights.sum()), 6), round(float((weights * probabilities).sum()), 6)


def judgement(ctx: Context, units: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Judgement:
    """A sample's judgement from its units' weights and probabilities (see the module docstring)."""
    sample = ctx.sample
    flags: list[str] = []
    if not sample.model_steps:
        flags.append(Flag.NO_MODEL_STEPS)
    if not sample.reference_steps:
        flags.append(Flag.NO_REFERENCE)
    elif not ctx.reference:
        flags.append(Flag.NO_REFERENCE_FINDINGS)
    if sample.model_steps and not ctx.model:
        flags.append(Flag.NO_MODEL_FINDINGS)
    w_c, p_c = units["completeness"]
    if not sample.model_steps:
        p_c = np.zeros_like(p_c)  # nothing is recalled from an empty chain
    w_f, p_f = units["factuality"]
    w_e, p_e = units["effectiveness"]
    n_ref, n_recalled = _sums(w_c, p_c) if sample.reference_steps else (None, None)
    n_model, n_supported = _sums(w_f, p_f)
    n_steps, n_effective = _sums(w_e, p_e)
    ref_units, model_units = ctx.reference_units, ctx.model_units
    return Judgement(
        n_reference_findings=n_ref,
        n_recalled=n_recalled,
        n_model_findings=n_model,
        n_supported=n_supported,
        n_steps=n_steps,
        n_effective=n_effective,
        reference_findings=tuple(f for u in ref_units for f in u.findings),
        model_findings=tuple(f for u in model_units for f in u.findings),
        recalled=tuple(bool(p >= 0.5) for u, p in zip(ref_units, p_c, strict=True) for _ in u.findings),
        supported=tuple(bool(p >= 0.5) for u, p in zip(model_units, p_f, strict=True) for _ in u.findings),
        effective=tuple(bool(p >= 0.5) for p in p_e),
        flags=tuple(flags),
        detail={
            "reference_units": [
                {"steps": list(u.source), "weight": round(float(w), 4), "recalled": round(float(p), 4)}
                for u, w, p in zip(ref_units, w_c, p_c, strict=True)
            ],
            "model_units": [
                {
                    "steps": list(u.source),
                    "findings_weight": round(float(wf), 4),
                    "supported": round(float(pf), 4),
                    "steps_weight": round(float(we), 4),
                    "effective": round(float(pe), 4),
                }
                for u, wf, pf, we, pe in zip(model_units, w_f, p_f, w_e, p_e, strict=True)
            ],
            "report_findings": [f.as_paper() for f in ctx.report],
        },
    )
