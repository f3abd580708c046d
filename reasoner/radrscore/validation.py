"""Agreement of a judge with the paper's judge (GPT-4o) on items that carry its stored verdicts.

For each component, pairs (paper score, judge score) over the items where both are defined give
the Spearman rank correlation and the mean absolute difference. Pure functions over items; the
judge is passed in. :func:`cross_validate` tunes the offline judge's settings on some folds of
the items and measures them on the held-out fold, so that a figure tuned on these items is not
reported as if it were not. :func:`matcher_on_gpt_findings` is a diagnostic that feeds GPT-4o's
own extracted findings to the offline matcher.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from reasoner.radrscore.answerkey import reference_letters
from reasoner.radrscore.embedding import PhraseEmbedder
from reasoner.radrscore.evalfile import paper_scores, sample_from_item
from reasoner.radrscore.extract import core_phrase, laterality
from reasoner.radrscore.judge import Judge
from reasoner.radrscore.llm import status_from_text
from reasoner.radrscore.rules import RuleJudge, RuleJudgeConfig
from reasoner.radrscore.score import COMPONENTS, sample_score
from reasoner.radrscore.types import Finding, SampleScore, Status

_LEADING_NO = re.compile(r"\s*(?:no|absence of|normal)\b", re.IGNORECASE)


def judge_items(items: Sequence[Mapping[str, Any]], judge: Judge) -> list[SampleScore]:
    """The judge's scores for each item (its ``pred`` against ``reason_steps`` and the report)."""
    samples = [sample_from_item(item)[0] for item in items]
    return [sample_score(j) for j in judge.judge(samples)]


def spearman_interval(
    x: Sequence[float], y: Sequence[float], *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """A paired bootstrap (percentile) interval for Spearman's rho of ``x`` and ``y``.

    Items are resampled with replacement; a resample where either side is constant (rho
    undefined) is left out. With 102 items an interval is about +-0.15 wide: what a figure on
    these items can and cannot tell apart.
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    rng = np.random.default_rng(seed)
    rhos = []
    for _ in range(resamples):
        pick = rng.integers(0, len(a), len(a))
        if np.ptp(a[pick]) > 0 and np.ptp(b[pick]) > 0:
            rhos.append(spearmanr(a[pick], b[pick])[0])
    if not rhos:
        return (float("nan"), float("nan"))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(rhos, [tail, 100 - tail])
    return (float(low), float(high))


def compare(
    items: Sequence[Mapping[str, Any]], scores: Sequence[SampleScore], *, interval: bool = True
) -> dict[str, dict]:
    """Per component: ``n`` pairs, ``spearman``, ``p_value``, ``ci95``, ``mad`` and both means.

    ``ci95`` is a paired bootstrap interval of the Spearman (:func:`spearman_interval`); with
    ``interval=False`` it is left out (2,000 resamples a component, not needed for every table).

    Only items where both the paper's and the judge's score are defined enter a component.
    """
    table = {}
    for name in COMPONENTS:
        pairs = [
            (paper_scores(item)[name], getattr(score, name))
            for item, score in zip(items, scores, strict=True)
            if paper_scores(item)[name] is not None and getattr(score, name) is not None
        ]
        row: dict[str, Any] = {"n": len(pairs)}
        if len(pairs) >= 3:
            paper, ours = zip(*pairs, strict=True)
            rho, p_value = spearmanr(paper, ours)
            row.update(
                spearman=float(rho),
                p_value=float(p_value),
                mad=sum(abs(a - b) for a, b in pairs) / len(pairs),
                paper_mean=sum(paper) / len(paper),
                judge_mean=sum(ours) / len(ours),
            )
            if interval:
                row["ci95"] = spearman_interval(paper, ours)
        table[name] = row
    return table


# The settings each component depends on, and the values tried. conflict_threshold follows
# match_threshold (+0.05, the default gap). Each grid's first row is the default configuration.
_THRESHOLDS = (0.7, 0.55, 0.6, 0.65, 0.75, 0.8, 0.85)
GRIDS: dict[str, dict[str, tuple]] = {
    "completeness": {
        "topic_threshold": (0.65, 0.55, 0.6, 0.7, 0.75, 0.8),
        "completeness": ("topic", "fact"),
        "units": ("step", "finding"),
    },
    "factuality": {
        "match_threshold": _THRESHOLDS,
        "option_threshold": _THRESHOLDS,
        "answer_key": (True, False),
        "units": ("step", "finding"),
    },
    "effectiveness": {"match_threshold": _THRESHOLDS},
}


def grid_configs(base: RuleJudgeConfig, grid: Mapping[str, Sequence[Any]]) -> list[RuleJudgeConfig]:
    """Every combination of ``grid``'s values applied to ``base``, the first being ``base``'s own."""
    names = list(grid)
    out = []
    for values in itertools.product(*(grid[n] for n in names)):
        overrides = dict(zip(names, values, strict=True))
        if "match_threshold" in overrides:
            overrides["conflict_threshold"] = overrides["match_threshold"] + 0.05
        out.append(replace(base, **overrides))
    return out


def _rho(paper: np.ndarray, ours: np.ndarray) -> float:
    defined = ~np.isnan(paper) & ~np.isnan(ours)
    if defined.sum() < 3:
        return float("nan")
    return float(spearmanr(paper[defined], ours[defined])[0])


def cross_validate(
    items: Sequence[Mapping[str, Any]],
    judge: RuleJudge,
    *,
    component: str,
    grid: Mapping[str, Sequence[Any]] | None = None,
    folds: int = 5,
    repeats: int = 10,
    seed: int = 0,
) -> dict[str, Any]:
    """Held-out agreement of a tuned offline judge with GPT-4o on one component.

    Each configuration of ``grid`` (default :data:`GRIDS`) scores every item once (findings are
    extracted once; only matching reruns). Then, ``repeats`` times over a shuffled ``folds``-way
    split: for each fold, the configuration with the best Spearman on the other folds scores the
    held-out fold; the held-out scores of all folds, pooled, give one Spearman per repeat.
    Returns the mean, min and max of those (``cv_rho``...), the mean Spearman within held-out
    folds (``cv_fold_rho``), the in-sample Spearman of the judge's own configuration
    (``in_sample_rho``) and of the best configuration (``best_in_sample_rho``), and how often
    each configuration was chosen.
    """
    configs = grid_configs(judge.config, grid or GRIDS[component])
    samples = [sample_from_item(item)[0] for item in items]
    extracted = [judge.extract(s) for s in samples]
    paper = np.array([_nan(paper_scores(item)[component]) for item in items])
    scores = np.array([_component(_with(judge, c), samples, extracted, component) for c in configs])
    rng = np.random.default_rng(seed)
    pooled, within, chosen = [], [], Counter()
    for _ in range(repeats):
        fold_of = rng.permutation(len(items)) % folds
        held_out = np.full(len(items), np.nan)
        for fold in range(folds):
            train, test = fold_of != fold, fold_of == fold
            best = int(np.nanargmax([_rho(paper[train], row[train]) for row in scores]))
            chosen[best] += 1
            held_out[test] = scores[best, test]
            within.append(_rho(paper[test], scores[best, test]))
        pooled.append(_rho(paper, held_out))
    in_sample = [_rho(paper, row) for row in scores]
    best = int(np.nanargmax(in_sample))
    return {
        "component": component,
        "in_sample_rho": in_sample[0],
        "best_in_sample_rho": in_sample[best],
        "best_config": _differences(configs[best], judge.config),
        "cv_rho": float(np.mean(pooled)),
        "cv_rho_min": float(np.min(pooled)),
        "cv_rho_max": float(np.max(pooled)),
        "cv_fold_rho": float(np.nanmean(within)),
        "folds": folds,
        "repeats": repeats,
        "n_configs": len(configs),
        "chosen": [(_differences(configs[k], judge.config), n) for k, n in chosen.most_common(3)],
    }


def _component(judge: RuleJudge, samples: list, extracted: list, component: str) -> list[float]:
    return [_nan(getattr(sample_score(j), component)) for j in judge.judge_extracted(samples, extracted)]


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _with(judge: RuleJudge, config: RuleJudgeConfig) -> RuleJudge:
    return RuleJudge(embedder=judge.embedder, config=config)


def _differences(config: RuleJudgeConfig, base: RuleJudgeConfig) -> dict[str, Any]:
    """The settings where ``config`` differs from ``base`` (empty: the default configuration)."""
    return {k: v for k, v in vars(config).items() if getattr(base, k) != v and k != "conflict_threshold"}


def gpt_findings(item: Mapping[str, Any], key: str) -> list[Finding]:
    """GPT-4o's stored findings (``gt_key_finding`` / ``pred_key_finding``) as Findings."""
    rows = (item.get(key) or {}).get("key_conclusion") or []
    out = []
    for row in rows:
        if isinstance(row, Mapping) and str(row.get("observation", "")).strip():
            text, status = str(row["observation"]), str(row.get("status", ""))
            negated = status_from_text(status) if status else Status.PRESENT
            if _LEADING_NO.match(text):
                negated = Status.ABSENT
            out.append(Finding(text, negated, core_phrase(text) or text.lower(), laterality(text)))
    return out


def matcher_on_gpt_findings(items: Sequence[Mapping[str, Any]], judge: RuleJudge) -> dict[str, float]:
    """Diagnostic: completeness from GPT-4o's own extracted findings, recalled by this matcher.

    Separates the matcher from the extraction: the Spearman of these completeness values against
    GPT-4o's is what this matcher does with GPT-4o's own extraction (one finding per observation
    as GPT-4o words it), same-fact and same-topic (status-blind). It also counts, among GPT-4o's
    reference findings that have a counterpart among its model findings, how often GPT-4o
    recalled them when the counterpart states the same status and when it states the opposite.
    """
    paper, aware, blind = [], [], []
    # counterpart -> [recalled, not recalled] among GPT-4o's reference findings that have one
    tally = {"same": [0, 0], "opposite": [0, 0]}
    for item in items:
        reference, model = gpt_findings(item, "gt_key_finding"), gpt_findings(item, "pred_key_finding")
        target = paper_scores(item)["completeness"]
        if not reference or not model or target is None:
            continue
        match, conflict = judge.match(reference, model)
        paper.append(target)
        aware.append(float(match.any(axis=1).mean()))
        blind.append(float(judge.same_topic(reference, model).any(axis=1).mean()))
        recalled = {str(r.get("observation")) for r in _listed(item, "completeness")}
        for i, finding in enumerate(reference):  # the counterpart's status, and GPT-4o's verdict
            if match[i].any() or conflict[i].any():
                kind = "same" if match[i].any() else "opposite"
                tally[kind][finding.observation not in recalled] += 1
    (same, same_missed), (opposite, opposite_missed) = tally["same"], tally["opposite"]
    return {
        "status_aware": float(spearmanr(paper, aware)[0]),
        "status_blind": float(spearmanr(paper, blind)[0]),
        "recalled_with_opposite_status": opposite / max(1, opposite + same),
        "recall_rate_same_status": same / max(1, same + same_missed),
        "recall_rate_opposite_status": opposite / max(1, opposite + opposite_missed),
    }


def gpt_recall_of_its_own_matches(
    items: Sequence[Mapping[str, Any]], embedder: PhraseEmbedder, *, band: float = 0.1
) -> dict[str, Any]:
    """Diagnostic: how consistently GPT-4o's recall verdicts follow its own extracted findings.

    For each reference finding GPT-4o extracted (``gt_key_finding``), its closest model finding
    GPT-4o extracted (``pred_key_finding``; cosine of the observation texts' embeddings) and
    whether GPT-4o recalled it (``recall_res``). Findings are binned by that cosine (``band``
    wide) and by whether the two statuses share polarity. A consistent judge recalls every
    reference finding whose counterpart is worded near-identically: the recall rate of the top
    band (cosine >= 0.9, same polarity) is what this reference judge does on the pairs no
    extractor or matcher can get wrong. Returns ``{"bands": [{"low", "same_status", "n",
    "recalled"}...], "near_identical": {"n", "recalled", "rate"}}``.
    """
    counts: dict[tuple[float, bool], list[int]] = {}
    for item in items:
        reference, model = gpt_findings(item, "gt_key_finding"), gpt_findings(item, "pred_key_finding")
        if not reference or not model:
            continue
        recalled = {str(r.get("observation")) for r in _listed(item, "completeness")}
        left = embedder.encode([f.observation.lower() for f in reference])
        right = embedder.encode([f.observation.lower() for f in model])
        sim = left @ right.T
        for i, finding in enumerate(reference):
            k = int(sim[i].argmax())
            low = round(float(min(np.floor(float(sim[i, k]) / band) * band, 1 - band)), 6)
            cell = counts.setdefault((low, finding.status.positive == model[k].status.positive), [0, 0])
            cell[0] += 1
            cell[1] += finding.observation in recalled
    bands = [
        {"low": low, "same_status": same, "n": n, "recalled": r}
        for (low, same), (n, r) in sorted(counts.items())
    ]
    top = [b for b in bands if b["same_status"] and b["low"] >= 0.9 - 1e-9]
    n, r = sum(b["n"] for b in top), sum(b["recalled"] for b in top)
    return {"bands": bands, "near_identical": {"n": n, "recalled": r, "rate": r / n if n else None}}


# Per score GPT-4o gives per-finding verdicts for: where its findings are, and where it lists the
# ones it counted (recalled, correct).
_FINDINGS = {"completeness": "gt_key_finding", "factuality": "pred_key_finding"}
_LISTED = {
    "completeness": ("recall_res", "recalled_findings"),
    "factuality": ("precision_res", "correct_steps"),
}


def _listed(item: Mapping[str, Any], component: str) -> list[Mapping]:
    """The findings GPT-4o listed as recalled (completeness) or correct (factuality), as stored."""
    if component not in _LISTED:
        raise ValueError(
            f"GPT-4o gives per-finding verdicts for completeness and factuality, not {component!r}"
        )
    verdict_key, field = _LISTED[component]
    return [r for r in (item.get(verdict_key) or {}).get(field) or [] if isinstance(r, Mapping)]


def gpt_verdicts(item: Mapping[str, Any], component: str) -> list[bool]:
    """GPT-4o's per-finding verdicts behind one score of an item, in its findings' order.

    completeness: for each of its reference findings (``gt_key_finding``), whether ``recall_res``
    lists it as recalled; factuality: for each of its model findings (``pred_key_finding``),
    whether ``precision_res`` lists it as correct. (The released evaluator divides the stored
    counts; on the 102 real items they equal the lists' lengths but for one item.)
    """
    judged = {_plain(str(r.get("observation", ""))) for r in _listed(item, component)}  # checks it
    rows = [
        r
        for r in (item.get(_FINDINGS[component]) or {}).get("key_conclusion") or []
        if isinstance(r, Mapping)
    ]
    return [_plain(str(r.get("observation", ""))) in judged for r in rows]


def split_half_reliability(
    items: Sequence[Mapping[str, Any]], component: str, *, repeats: int = 500, seed: int = 0
) -> dict[str, float]:
    """How reproducible GPT-4o's score is from its own per-finding verdicts (classical test theory).

    Each item's findings are split at random into two halves; the Spearman of the two halves'
    verdict rates across items, averaged over ``repeats`` splits, is stepped up to the full
    length by the Spearman-Brown formula (``reliability`` = 2r / (1 + r)). The square root of the
    reliability (``ceiling``) approximates the highest correlation any judge can reach with these
    scores: the part of them that does not reproduce within an item cannot be predicted.
    Items with fewer than two findings are left out (``n``).
    """
    verdicts = [np.asarray(gpt_verdicts(item, component), dtype=float) for item in items]
    verdicts = [v for v in verdicts if len(v) >= 2]
    if len(verdicts) < 3:
        return {
            "n": len(verdicts),
            "split_half": float("nan"),
            "reliability": float("nan"),
            "ceiling": float("nan"),
        }
    rng = np.random.default_rng(seed)
    halves = []
    for _ in range(repeats):
        first, second = [], []
        for v in verdicts:
            order = rng.permutation(len(v))
            first.append(v[order[: len(v) // 2]].mean())
            second.append(v[order[len(v) // 2 :]].mean())
        halves.append(_rho(np.array(first), np.array(second)))
    r = float(np.nanmean(halves))
    reliability = 2 * r / (1 + r) if r > -1 else float("nan")
    ceiling = float(np.sqrt(reliability)) if reliability >= 0 else float("nan")
    return {"n": len(verdicts), "split_half": r, "reliability": reliability, "ceiling": ceiling}


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def _key_decided(item: Mapping[str, Any]) -> list[tuple[bool, bool, bool]]:
    """GPT-4o's model findings worded exactly as an option's item, with a status the key decides.

    One ``(in the correct option, asserted, GPT-4o counted it correct)`` per such finding; none
    where the item names no reference answer. Findings GPT-4o marked "not mentioned" are left
    out (neither asserted nor denied).
    """
    sample = sample_from_item(item)[0]
    chosen = reference_letters(sample)
    if not chosen:
        return []
    owner: dict[str, bool] = {}
    for letter, text in sample.options:
        for part in text.split(","):
            owner.setdefault(_plain(part), letter in chosen)
    judged = {_plain(str(row.get("observation", ""))) for row in _listed(item, "factuality")}
    out = []
    for row in (item.get("pred_key_finding") or {}).get("key_conclusion") or []:
        if not isinstance(row, Mapping) or "mention" in str(row.get("status", "")).lower():
            continue
        text = _plain(str(row.get("observation", "")))
        if text in owner:
            out.append((owner[text], status_from_text(str(row.get("status"))).positive, text in judged))
    return out


def gpt_rule_use(items: Sequence[Mapping[str, Any]], *, min_findings: int = 3) -> dict[int, str]:
    """Diagnostic: per item, whether GPT-4o's factuality call applied the prompt's own rule.

    The paper's precision prompt says what the report does not mention is normal, so a model
    that denies a distractor's finding (taken from another report) is correct. Per item with at
    least ``min_findings`` such denials (GPT-4o's wording matching an option's item exactly,
    :func:`_key_decided`): ``"follows"`` when GPT-4o counted at least 80% of them correct,
    ``"ignores"`` when at most 20%, else ``"mixed"``. Returns ``{item index: verdict}``.
    """
    out = {}
    for index, item in enumerate(items):
        denials = [
            judged for in_answer, asserted, judged in _key_decided(item) if not in_answer and not asserted
        ]
        if len(denials) >= min_findings:
            share = sum(denials) / len(denials)
            out[index] = "follows" if share >= 0.8 else "ignores" if share <= 0.2 else "mixed"
    return out


def gpt_factuality_vs_answer_key(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Diagnostic: GPT-4o's factuality verdicts on the findings the answer key decides.

    A model finding that GPT-4o worded exactly as an item of an option (``pred_key_finding``)
    has a verdict fixed by the question: the correct option's findings are in this study's
    report, a distractor's are taken from other reports, and the paper's rule makes what the
    report does not mention normal. So asserting a correct option's finding or denying a
    distractor's is correct; denying a correct option's finding or asserting a distractor's is
    not. Returns, per cell ("correct option" / "distractor" x "asserted" / "denied"), how many
    such findings there are, how many GPT-4o counted correct (``precision_res``) and what the
    key says of them (``key_says_correct``), and the
    share of all of them where GPT-4o's verdict is the key's. Findings GPT-4o marked "not
    mentioned" are left out (neither asserted nor denied).
    """
    cells: dict[tuple[bool, bool], list[int]] = {}  # (correct option, asserted) -> [n, judged correct]
    for item in items:
        for in_answer, asserted, judged in _key_decided(item):
            counts = cells.setdefault((in_answer, asserted), [0, 0])
            counts[0] += 1
            counts[1] += judged
    # the key calls a finding correct when it is asserted exactly when its option is the answer
    agree = sum(j if correct == asserted else n - j for (correct, asserted), (n, j) in cells.items())
    total = sum(n for n, _ in cells.values())
    names = {True: "correct option", False: "distractor"}, {True: "asserted", False: "denied"}
    return {
        "cells": {
            f"{names[0][c]}, {names[1][a]}": {"n": n, "judged_correct": j, "key_says_correct": c == a}
            for (c, a), (n, j) in sorted(cells.items(), reverse=True)
        },
        "agreement_with_key": agree / total if total else None,
        "n": total,
    }


def format_table(table: Mapping[str, Mapping[str, Any]]) -> str:
    """A Markdown table of :func:`compare`'s result."""
    lines = [
        "| score | n | Spearman | 95% interval | p | mean abs diff | GPT-4o mean | offline mean |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in table.items():
        if "spearman" not in row:
            lines.append(f"| {name} | {row['n']} | - | - | - | - | - | - |")
            continue
        lines.append(
            f"| {name} | {row['n']} | {row['spearman']:.3f} | {row['ci95'][0]:.2f}-{row['ci95'][1]:.2f} | "
            f"{row['p_value']:.1e} | {row['mad']:.3f} | "
            f"{row['paper_mean']:.3f} | {row['judge_mean']:.3f} |"
        )
    return "\n".join(lines)
