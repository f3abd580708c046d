"""A reader study's analysis: pure functions from reads to tables.

Contract: :func:`analyse` takes the reads (:class:`ReadRecord`, one per submitted read) and the
study's arms, and returns an :class:`Analysis`:

- accuracy per arm and per (reader, arm), each with a Wilson score interval;
- for every pair of arms, the paired difference in accuracy over the (reader, case) pairs read
  under both (the crossover gives one per reader and case), McNemar's exact test on the
  discordant pairs, and a percentile interval from a bootstrap that resamples readers and cases
  (both with replacement, the two-way bootstrap for multi-reader multi-case studies);
- time per arm (mean, median, quartiles), confidence per arm (mean and the count of each level),
  and the step marks of the arms that show reasoning.

:func:`tables` gives each part as (headers, rows) for CSV files and the page. The bootstrap is
seeded: the same reads and seed give the same interval. Nothing here reads the database.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from services.reader_study.design import Arm

LEVEL = 0.95
BOOTSTRAP_REPS = 2000
CONFIDENCE_LEVELS = (1, 2, 3, 4, 5)
_CHUNK = 250  # bootstrap replicates drawn at once: bounded memory for large studies


@dataclass(frozen=True)
class ReadRecord:
    """One submitted read, as the analysis and the export see it."""

    reader: str  # the reader's code in the study: R1, R2, ...
    case_id: int
    period: int
    arm: str  # the arm's key
    answer: str
    truth: str
    confidence: int
    time_s: float
    helpful: int = 0  # steps marked as helpful
    wrong: int = 0  # steps marked as wrong

    @property
    def correct(self) -> bool:
        return self.answer == self.truth


@dataclass(frozen=True)
class Accuracy:
    arm: str
    n: int
    correct: int
    accuracy: float
    low: float
    high: float
    reader: str = ""  # empty for the whole arm


@dataclass(frozen=True)
class PairedDifference:
    """Arm ``b`` against arm ``a`` on the same (reader, case) pairs: ``difference`` = acc(b) - acc(a)."""

    arm_a: str
    arm_b: str
    pairs: int
    both_correct: int
    only_a: int  # correct under a only
    only_b: int  # correct under b only
    both_wrong: int
    difference: float
    low: float  # bootstrap over readers and cases
    high: float
    mcnemar_p: float


@dataclass(frozen=True)
class Spread:
    """Time (seconds) or confidence of one arm's reads."""

    arm: str
    n: int
    mean: float
    median: float
    q1: float
    q3: float
    counts: tuple[int, ...] = ()  # confidence only: reads at each of CONFIDENCE_LEVELS


@dataclass(frozen=True)
class Marks:
    arm: str
    reads: int
    helpful: int
    wrong: int


@dataclass(frozen=True)
class Analysis:
    arms: tuple[Arm, ...]
    reads: int
    by_arm: tuple[Accuracy, ...]
    by_reader: tuple[Accuracy, ...]
    paired: tuple[PairedDifference, ...]
    time: tuple[Spread, ...]
    confidence: tuple[Spread, ...]
    marks: tuple[Marks, ...]
    level: float = LEVEL
    bootstrap_reps: int = BOOTSTRAP_REPS

    def label(self, key: str) -> str:
        return next((a.label for a in self.arms if a.key == key), key)


def wilson(correct: int, n: int, *, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval of ``correct`` out of ``n`` (NaNs for no reads)."""
    if n == 0:
        return math.nan, math.nan
    # lazy: statsmodels takes seconds to import; only an analysis needs it, not the app's start
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(correct, n, alpha=1 - level, method="wilson")
    return float(low), float(high)


def mcnemar_p(only_a: int, only_b: int) -> float:
    """McNemar's exact (binomial) test on the discordant pairs; 1.0 when there are none."""
    if only_a + only_b == 0:
        return 1.0
    from statsmodels.stats.contingency_tables import mcnemar  # lazy: slow import, as above

    return float(mcnemar([[0, only_a], [only_b, 0]], exact=True).pvalue)


def _accuracy(arm: str, reads: Sequence[ReadRecord], level: float, reader: str = "") -> Accuracy:
    n, k = len(reads), sum(r.correct for r in reads)
    low, high = wilson(k, n, level=level)
    return Accuracy(arm, n, k, k / n if n else math.nan, low, high, reader)


def bootstrap_interval(
    diffs: np.ndarray, *, reps: int = BOOTSTRAP_REPS, seed: int = 0, level: float = LEVEL
) -> tuple[float, float]:
    """Percentile interval of the mean of ``diffs`` (readers x cases, NaN where a pair is missing),
    resampling readers and cases with replacement."""
    if diffs.size == 0 or np.all(np.isnan(diffs)):
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    n_readers, n_cases = diffs.shape
    means = []
    for start in range(0, reps, _CHUNK):
        size = min(_CHUNK, reps - start)
        r = rng.integers(n_readers, size=(size, n_readers))
        c = rng.integers(n_cases, size=(size, n_cases))
        sample = diffs[r[:, :, None], c[:, None, :]]
        valid = ~np.isnan(sample)
        count = valid.sum(axis=(1, 2))
        total = np.where(valid, sample, 0.0).sum(axis=(1, 2))
        means.append(total[count > 0] / count[count > 0])
    values = np.concatenate(means)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def paired_difference(
    reads: Sequence[ReadRecord], a: str, b: str, *, reps: int, seed: int, level: float
) -> PairedDifference:
    """Arm ``b`` against arm ``a`` over the (reader, case) pairs read under both."""
    outcome: dict[tuple[str, int], dict[str, bool]] = defaultdict(dict)
    for r in reads:
        if r.arm in (a, b):
            outcome[(r.reader, r.case_id)][r.arm] = r.correct
    pairs = {key: (v[a], v[b]) for key, v in outcome.items() if a in v and b in v}
    readers = sorted({k[0] for k in pairs})
    cases = sorted({k[1] for k in pairs})
    diffs = np.full((len(readers), len(cases)), np.nan)
    for (reader, case), (ok_a, ok_b) in pairs.items():
        diffs[readers.index(reader), cases.index(case)] = float(ok_b) - float(ok_a)
    counts = {
        (x, y): sum(1 for v in pairs.values() if v == (x, y)) for x in (True, False) for y in (True, False)
    }
    only_a, only_b = counts[(True, False)], counts[(False, True)]
    low, high = bootstrap_interval(diffs, reps=reps, seed=seed, level=level)
    return PairedDifference(
        a, b, len(pairs), counts[(True, True)], only_a, only_b, counts[(False, False)],
        (only_b - only_a) / len(pairs) if pairs else math.nan, low, high, mcnemar_p(only_a, only_b),
    )  # fmt: skip


def spread(arm: str, values: Sequence[float], counts: tuple[int, ...] = ()) -> Spread:
    if not values:
        return Spread(arm, 0, math.nan, math.nan, math.nan, math.nan, counts)
    q1, median, q3 = (float(x) for x in np.percentile(values, [25, 50, 75]))
    return Spread(arm, len(values), float(np.mean(values)), median, q1, q3, counts)


def analyse(
    reads: Sequence[ReadRecord],
    arms: Sequence[Arm],
    *,
    seed: int = 0,
    reps: int = BOOTSTRAP_REPS,
    level: float = LEVEL,
) -> Analysis:
    """The whole analysis of a study's reads (see the module docstring)."""
    by_arm = {a.key: [r for r in reads if r.arm == a.key] for a in arms}
    readers = sorted({r.reader for r in reads}, key=_reader_order)
    by_reader = [
        _accuracy(a.key, [r for r in by_arm[a.key] if r.reader == reader], level, reader)
        for reader in readers
        for a in arms
    ]
    paired = [
        paired_difference(reads, a.key, b.key, reps=reps, seed=seed, level=level)
        for a, b in combinations(arms, 2)
    ]
    confidence = [
        spread(
            a.key,
            [r.confidence for r in rs],
            tuple(sum(r.confidence == c for r in rs) for c in CONFIDENCE_LEVELS),
        )
        for a, rs in zip(arms, by_arm.values(), strict=True)
    ]
    return Analysis(
        arms=tuple(arms),
        reads=len(reads),
        by_arm=tuple(_accuracy(key, rs, level) for key, rs in by_arm.items()),
        by_reader=tuple(by_reader),
        paired=tuple(paired),
        time=tuple(spread(key, [r.time_s for r in rs]) for key, rs in by_arm.items()),
        confidence=tuple(confidence),
        marks=tuple(
            Marks(
                a.key,
                len(by_arm[a.key]),
                sum(r.helpful for r in by_arm[a.key]),
                sum(r.wrong for r in by_arm[a.key]),
            )
            for a in arms
            if a.shows.steps_shown
        ),
        level=level,
        bootstrap_reps=reps,
    )


def _reader_order(code: str) -> tuple[int, str]:
    """R2 before R10."""
    digits = code.lstrip("R")
    return (int(digits), code) if digits.isdigit() else (10**9, code)


def _num(value: float, digits: int = 4) -> float | str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else round(value, digits)


def tables(analysis: Analysis) -> dict[str, tuple[list[str], list[list[object]]]]:
    """Each part of the analysis as (headers, rows): the CSV files of the export and the page's tables."""
    pct = f"{round(analysis.level * 100)}%"
    lab = analysis.label
    acc_head = ["arm", "label", "reads", "correct", "accuracy", f"{pct} low (Wilson)", f"{pct} high (Wilson)"]
    out: dict[str, tuple[list[str], list[list[object]]]] = {
        "accuracy_by_arm": (
            acc_head,
            [
                [a.arm, lab(a.arm), a.n, a.correct, _num(a.accuracy), _num(a.low), _num(a.high)]
                for a in analysis.by_arm
            ],
        ),
        "accuracy_by_reader": (
            ["reader", *acc_head],
            [
                [a.reader, a.arm, lab(a.arm), a.n, a.correct, _num(a.accuracy), _num(a.low), _num(a.high)]
                for a in analysis.by_reader
            ],
        ),
    }
    out["paired_differences"] = (
        ["arm_a", "arm_b", "pairs", "both_correct", "only_a_correct", "only_b_correct", "both_wrong",
         "difference_b_minus_a", f"{pct} low (bootstrap)", f"{pct} high (bootstrap)", "mcnemar_exact_p"],
        [[p.arm_a, p.arm_b, p.pairs, p.both_correct, p.only_a, p.only_b, p.both_wrong, _num(p.difference),
          _num(p.low), _num(p.high), _num(p.mcnemar_p, 6)] for p in analysis.paired],
    )  # fmt: skip
    spread_head = ["arm", "label", "reads", "mean", "median", "q1", "q3"]
    out["time_by_arm"] = (
        [*spread_head[:3], *(f"{h}_s" for h in spread_head[3:])],
        [
            [s.arm, lab(s.arm), s.n, _num(s.mean, 2), _num(s.median, 2), _num(s.q1, 2), _num(s.q3, 2)]
            for s in analysis.time
        ],
    )
    out["confidence_by_arm"] = (
        [*spread_head, *(f"level_{c}" for c in CONFIDENCE_LEVELS)],
        [[s.arm, lab(s.arm), s.n, _num(s.mean, 3), _num(s.median, 2), _num(s.q1, 2), _num(s.q3, 2), *s.counts]
         for s in analysis.confidence],
    )  # fmt: skip
    out["step_marks"] = (
        ["arm", "label", "reads", "steps_marked_helpful", "steps_marked_wrong"],
        [[m.arm, lab(m.arm), m.reads, m.helpful, m.wrong] for m in analysis.marks],
    )
    return out
