"""Features of RadRScore's units for the learned judge: numbers only, no words learned from data.

A *unit* is a step of a chain: a reference step (completeness asks whether the model recalled
it), a model step (factuality asks whether the report supports it; effectiveness whether it
advances toward the answer). Each becomes a row of generic features:

- what the step is: how many findings the rule extractor finds in it and with which polarity,
  its length, commas and coordinators (how many findings a judge would list), its relative
  position, whether it is the closing restatement, a definition, a plan, an explanation;
- how it relates to the other side, from all-MiniLM-L6-v2 cosines of finding cores (best over
  the other side's findings, split by whether the statuses share polarity; a left/right conflict
  excludes a pair), from a one-to-one assignment of steps (one model step cannot stand for five
  reference steps), and from lexical containment ratios of content words;
- how it relates to the question's answer key (the correct option's findings, a distractor's,
  or a free-text reference answer's);
- item context: does the model's answer match the reference, how many steps each chain has.

No feature is a word or phrase of the training data. The vocabulary the rule extractor uses
(:mod:`reasoner.radrscore.lexicon`) is written by hand for chest radiograph reports in general,
and the sentence shapes (:mod:`reasoner.radrscore.text`) for English prose. Pure functions of a
:class:`Context` (a sample's findings, built once) and an embedding table ``vectors[index[core]]``
of unit vectors.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from reasoner.radrscore.extract import singular
from reasoner.radrscore.lexicon import (
    FILLER_PREFIXES,
    FILLER_WORDS,
    HEDGE_RE,
    POST_NEGATION_RE,
    PRE_NEGATION_RE,
)
from reasoner.radrscore.matching import constraints
from reasoner.radrscore.text import is_closing, sentence_frame
from reasoner.radrscore.types import Finding, Sample, Status
from reasoner.radrscore.units import KeyItem, StepUnit, answer_key, letters_match, step_units

_WORD = re.compile(r"[a-z0-9]+")
_COORDINATOR = re.compile(r"\b(?:and|or|nor)\b|,|;", re.IGNORECASE)
_LETTER_MENTION = re.compile(r"\b(?:option|answer|choice)\s*\(?[A-H]\b|(?:^|\s)\(?[A-H]\)", re.IGNORECASE)
FRAMES = ("anaphoric", "planning", "definition", "investigation", "topic", "hypothetical")
MISSING = -1.0  # a similarity with nothing to compare to


def words(text: str) -> set[str]:
    """Lower-case words of ``text``, singular (the token set lexical ratios compare)."""
    return {singular(w) for w in _WORD.findall(text.lower().replace("-", " "))}


@functools.lru_cache(maxsize=1 << 15)
def content_words(text: str) -> frozenset[str]:
    """The words of ``text`` that name something: fillers, cues and short words removed (cached:
    steps recur across a model's outputs)."""
    return frozenset(
        w for w in words(text) if len(w) > 2 and w not in FILLER_WORDS and not w.startswith(FILLER_PREFIXES)
    )


def containment(mine: set[str], other: set[str]) -> float:
    """Share of ``mine`` that occurs in ``other`` (0 when ``mine`` is empty)."""
    return len(mine & other) / len(mine) if mine else 0.0


def assigned(sim: np.ndarray) -> np.ndarray:
    """Per row, the similarity of its partner in a one-to-one assignment maximising the total
    (``MISSING`` for a row left without one)."""
    out = np.full(sim.shape[0], MISSING)
    if sim.size:
        rows, cols = linear_sum_assignment(sim, maximize=True)
        out[rows] = sim[rows, cols]
    return out


@dataclass
class Context:
    """What the features of one sample need, computed once per sample."""

    sample: Sample
    model_units: list[StepUnit]
    reference_units: list[StepUnit]
    model: list[Finding]
    reference: list[Finding]
    report: list[Finding]
    key: list[KeyItem]
    letters_match: float = math.nan
    model_words: set[str] = field(default_factory=set)
    reference_words: set[str] = field(default_factory=set)
    report_words: set[str] = field(default_factory=set)

    def findings(self) -> list[Finding]:
        """Every finding whose cores the features compare (for embedding)."""
        steps = [f for u in (*self.model_units, *self.reference_units) for f in u.findings]
        return [*steps, *self.report, *(k.finding for k in self.key)]


def build_context(
    sample: Sample,
    model_steps: Sequence[Sequence[Finding]],
    reference_steps: Sequence[Sequence[Finding]],
    model: list[Finding],
    reference: list[Finding],
    report: list[Finding],
) -> Context:
    """The :class:`Context` of a sample from its extracted findings (per step, and deduplicated)."""
    return Context(
        sample=sample,
        model_units=step_units(sample.model_steps, model_steps),
        reference_units=step_units(sample.reference_steps, reference_steps),
        model=model,
        reference=reference,
        report=report,
        key=answer_key(sample),
        letters_match=letters_match(sample),
        model_words=content_words(" ".join(sample.model_steps)),
        reference_words=content_words(" ".join(sample.reference_steps)),
        report_words=content_words(sample.report),
    )


def _self_similarity(findings: Sequence[Finding], vectors: np.ndarray, index: dict[str, int]) -> np.ndarray:
    """(n, n) cosines of the findings, the best over each one's cores (its aliases)."""
    cores = [index[c] for f in findings for c in f.cores]
    distinct, position = np.unique(cores, return_inverse=True)
    block = vectors[distinct]
    sim = (block @ block.T)[np.ix_(position, position)]
    if len(cores) == len(findings):
        return sim
    starts = np.cumsum([0] + [len(f.cores) for f in findings[:-1]])
    return np.maximum.reduceat(np.maximum.reduceat(sim, starts, axis=0), starts, axis=1)


class Sims:
    """Cosine similarities between the findings of one sample, under the side constraint.

    Built once per sample over every finding its features compare (:meth:`Context.findings`):
    one matrix product, then each relation is a slice.
    """

    def __init__(self, findings: Sequence[Finding], vectors: np.ndarray, index: dict[str, int]) -> None:
        unique = list({id(f): f for f in findings}.values())
        self.position = {id(f): i for i, f in enumerate(unique)}
        if unique:
            sim = _self_similarity(unique, vectors, index)
            sides, agree = constraints(unique, unique)
            self.same = np.where(sides & agree, sim, MISSING)
            self.opposite = np.where(sides & ~agree, sim, MISSING)
        else:
            self.same = self.opposite = np.zeros((0, 0))

    def _rows(self, findings: Sequence[Finding]) -> np.ndarray:
        return np.fromiter((self.position[id(f)] for f in findings), dtype=np.int64, count=len(findings))

    def split(self, left: Sequence[Finding], right: Sequence[Finding]) -> tuple[np.ndarray, np.ndarray]:
        """(same polarity, opposite polarity) cosine matrices; ``MISSING`` where the sides
        conflict or the pair belongs to the other matrix."""
        rows, cols = np.ix_(self._rows(left), self._rows(right))
        return self.same[rows, cols], self.opposite[rows, cols]

    def best(self, left: Sequence[Finding], right: Sequence[Finding]) -> tuple[float, float]:
        """Best same-polarity and best opposite-polarity cosine between any pair of the lists."""
        if not left or not right:
            return MISSING, MISSING
        same, opposite = self.split(left, right)
        return float(same.max()), float(opposite.max())

    def any(self, left: Sequence[Finding], right: Sequence[Finding]) -> float:
        same, opposite = self.best(left, right)
        return max(same, opposite)


def _key_split(ctx: Context) -> tuple[list[Finding], list[Finding]]:
    return [k.finding for k in ctx.key if k.in_answer], [k.finding for k in ctx.key if not k.in_answer]


def item_features(ctx: Context, sims: Sims) -> dict[str, float]:
    """Item-level context shared by every unit of the sample."""
    answer, distractors = _key_split(ctx)
    positive = [f for f in ctx.model if f.status.positive]
    negative = [f for f in ctx.model if not f.status.positive]

    def share(items: list[Finding], pool: list[Finding]) -> float:
        """Mean over ``items`` of the best cosine with ``pool`` (0 without either)."""
        if not items or not pool:
            return 0.0
        same, opposite = sims.split(items, pool)
        return float(np.clip(np.maximum(same, opposite).max(axis=1), 0, 1).mean())

    n_model, n_reference = len(ctx.model_units), len(ctx.reference_units)
    known = math.isfinite(ctx.letters_match)
    return {
        "letters_known": float(known),
        "letters_match": ctx.letters_match if known else 0.5,
        "has_options": float(bool(ctx.sample.options)),
        "answer_asserted": share(answer, positive),
        "answer_denied": share(answer, negative),
        "distractor_asserted": share(distractors, positive),
        "distractor_denied": share(distractors, negative),
        "log_model_steps": math.log1p(n_model),
        "log_reference_steps": math.log1p(n_reference),
        "step_ratio": math.log((1 + n_model) / (1 + n_reference)),
        "finding_ratio": math.log((1 + len(ctx.model)) / (1 + len(ctx.reference))),
    }


@functools.lru_cache(maxsize=1 << 14)
def _frame(text: str) -> str | None:
    frame = sentence_frame(text)
    return frame[0] if frame else None


def shape_features(unit: StepUnit, n_units: int) -> dict[str, float]:
    """What a step is, whatever it is compared with (the segmenter reads these too)."""
    fs = unit.findings
    frame = _frame(unit.text)
    out = {
        "n_findings": float(len(fs)),
        "n_negative": float(sum(not f.status.positive for f in fs)),
        "n_uncertain": float(sum(f.status is Status.UNCERTAIN for f in fs)),
        "n_cores": float(len({f.core for f in fs})),
        "n_content_words": float(len(content_words(unit.text))),
        "log_words": math.log1p(len(unit.text.split())),
        "n_sentences": float(1 + len(re.findall(r"[.!?]\s+\S", unit.text))),
        "n_coordinators": float(len(_COORDINATOR.findall(unit.text))),
        "position": unit.index / (n_units - 1) if n_units > 1 else 0.0,
        "first": float(unit.index == 0),
        "last": float(unit.index == n_units - 1),
        "closing": float(is_closing(unit.text)),
        "letter": float(bool(_LETTER_MENTION.search(unit.text))),
        "negation_cue": float(bool(PRE_NEGATION_RE.search(unit.text) or POST_NEGATION_RE.search(unit.text))),
        "hedge_cue": float(bool(HEDGE_RE.search(unit.text))),
    }
    for name in FRAMES:
        out[f"frame_{name}"] = float(frame == name)
    return out


def _owners(units: Sequence[StepUnit]) -> tuple[list[Finding], np.ndarray]:
    """The units' findings, flattened, and the unit each belongs to."""
    flat = [f for u in units for f in u.findings]
    return flat, np.repeat(np.arange(len(units)), [len(u.findings) for u in units])


def unit_relations(
    prefix: str, units: Sequence[StepUnit], pool: Sequence[Finding], sims: Sims, *, mean: bool = True
) -> dict[str, np.ndarray]:
    """Per unit: the best same- and opposite-polarity cosines of its findings with a pool, and
    (``mean``) the mean over its findings of the best cosine whatever the polarity."""
    n = len(units)
    same, opposite, average = np.full(n, MISSING), np.full(n, MISSING), np.full(n, MISSING)
    flat, owner = _owners(units)
    if flat and pool:
        s, o = sims.split(flat, pool)
        best_s, best_o = s.max(axis=1), o.max(axis=1)
        np.maximum.at(same, owner, best_s)
        np.maximum.at(opposite, owner, best_o)
        counts = np.bincount(owner, minlength=n)
        sums = np.bincount(owner, weights=np.maximum(best_s, best_o), minlength=n)
        average = np.where(counts > 0, sums / np.maximum(counts, 1), MISSING)
    out = {f"{prefix}_same": same, f"{prefix}_opposite": opposite}
    if mean:
        out[f"{prefix}_mean"] = average
    return out


def key_relations(units: Sequence[StepUnit], ctx: Context, sims: Sims) -> dict[str, np.ndarray]:
    """Per unit: best cosines of its findings with the answer's and the distractors' findings,
    and how fully the unit's words contain an answer item's or a distractor item's words (an
    option named in words the extractor does not read)."""
    answer, distractors = _key_split(ctx)
    out = {
        **unit_relations("answer", units, answer, sims, mean=False),
        **unit_relations("distractor", units, distractors, sims, mean=False),
    }
    texts = [content_words(u.text) for u in units]
    for name, items in (("answer", answer), ("distractor", distractors)):
        item_words = [content_words(f.observation) for f in items]
        out[f"lex_{name}"] = np.array(
            [max((containment(w, t) for w in item_words), default=0.0) for t in texts]
        )
    return out


def step_matrix(left: Sequence[StepUnit], right: Sequence[StepUnit], sims: Sims) -> np.ndarray:
    """(len(left), len(right)) best cosine between the steps' findings, whatever the polarity."""
    out = np.full((len(left), len(right)), MISSING)
    flat_l = [f for u in left for f in u.findings]
    flat_r = [f for u in right for f in u.findings]
    if not flat_l or not flat_r:
        return out
    same, opposite = sims.split(flat_l, flat_r)
    sim = np.maximum(same, opposite)
    li = np.repeat(np.arange(len(left)), [len(u.findings) for u in left])
    ri = np.repeat(np.arange(len(right)), [len(u.findings) for u in right])
    rows = np.full((len(left), sim.shape[1]), MISSING)
    np.maximum.at(rows, li, sim)
    np.maximum.at(out.T, ri, rows.T)
    return out


def lexical_matrix(left: Sequence[set[str]], right: Sequence[set[str]]) -> np.ndarray:
    """(len(left), len(right)) containment of each left word set in each right one."""
    return np.array([[containment(a, b) for b in right] for a in left]).reshape(len(left), len(right))


def completeness_features(ctx: Context, sims: Sims) -> tuple[list[str], np.ndarray]:
    """One row per reference step: how the model chain speaks about it."""
    units, model = ctx.reference_units, ctx.model_units
    sim = step_matrix(units, model, sims)
    ref_words = [content_words(u.text) for u in units]
    lex = lexical_matrix(ref_words, [content_words(u.text) for u in model])
    cols = _shape_columns(units)
    cols.update(unit_relations("model", units, ctx.model, sims))
    cols["step_best"] = sim.max(axis=1) if model else np.full(len(units), MISSING)
    cols["step_assigned"] = assigned(sim)
    cols["lex_model"] = np.array([containment(w, ctx.model_words) for w in ref_words])
    cols["lex_best"] = lex.max(axis=1) if model else np.zeros(len(units))
    cols["lex_assigned"] = assigned(lex)
    cols.update(key_relations(units, ctx, sims))
    return _table(cols, item_features(ctx, sims), len(units))


def model_step_features(ctx: Context, sims: Sims) -> tuple[list[str], np.ndarray]:
    """One row per model step: what the report, the reference and the answer key say of it
    (factuality and effectiveness read the same row)."""
    units = ctx.model_units
    mine = [content_words(u.text) for u in units]
    cols = _shape_columns(units)
    cols.update(unit_relations("report", units, ctx.report, sims))
    cols.update(unit_relations("reference", units, ctx.reference, sims))
    cols["lex_report"] = np.array([containment(w, ctx.report_words) for w in mine])
    cols["lex_reference"] = np.array([containment(w, ctx.reference_words) for w in mine])
    cols.update(key_relations(units, ctx, sims))
    return _table(cols, item_features(ctx, sims), len(units))


def _shape_columns(units: Sequence[StepUnit]) -> dict[str, np.ndarray]:
    rows = [shape_features(u, len(units)) for u in units]
    names = list(rows[0]) if rows else list(shape_features(StepUnit("", (), 0, ()), 1))
    return {name: np.array([r[name] for r in rows], dtype=float) for name in names}


def _table(cols: dict[str, np.ndarray], item: dict[str, float], n: int) -> tuple[list[str], np.ndarray]:
    """Feature names and an (n, features) table: the unit columns, then the item's values."""
    names = [*cols, *item]
    if n == 0:
        return names, np.zeros((0, len(names)))
    columns = [np.asarray(v, dtype=float).reshape(n) for v in cols.values()]
    columns += [np.full(n, value, dtype=float) for value in item.values()]
    return names, np.column_stack(columns)
