"""Reviewer agreement on steps, from the tables :func:`queries.agreement_data` returns.

Contract: pure functions. Per reviewer pair: percent agreement and Cohen's kappa over the steps
both judged (their verdict x verdict table of effective verdicts). Per reviewer: the same over the tables of
all their pairs pooled. Overall: Fleiss' kappa and the mean pairwise agreement over steps judged
by two or more reviewers (Fleiss' P-bar, in the form that allows a different number of reviewers
per step), and Cohen's kappa when exactly two reviewers judged anything. A statistic that is
undefined (no shared steps; every verdict in one category, so chance agreement is 1) is None,
never a division by zero.

These are computed from sufficient statistics instead of raw ratings: the test oracle
(tests/dashboards/agreement_oracle.py) takes one ``(step, reviewer, verdict)`` triple per judgement
and calls scikit-learn per reviewer pair, about 2 s for the million-step benchmark database (28
pairs, 550k judgements on shared steps), where the tables the rollup keeps give the same numbers
in under a millisecond. tests/dashboards/test_stats.py checks that both agree, on random ratings
and on the seeded history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.dashboards.queries import AgreementData

Table = Sequence[Sequence[int]]


@dataclass(frozen=True, slots=True)
class PairStat:
    reviewer_a: str
    reviewer_b: str
    n: int
    percent_agreement: float | None
    cohen_kappa: float | None


@dataclass(frozen=True, slots=True)
class ReviewerStat:
    reviewer: str
    n: int  # step judgements shared with another reviewer
    percent_agreement: float | None
    cohen_kappa: float | None


@dataclass(frozen=True)
class AgreementSummary:
    pairs: tuple[PairStat, ...] = ()
    reviewers: tuple[ReviewerStat, ...] = ()
    steps: int = 0  # steps judged by two or more reviewers
    percent_agreement: float | None = None
    fleiss_kappa: float | None = None
    cohen_kappa: float | None = None  # only when exactly two reviewers judged anything


def table_agreement(table: Table) -> tuple[float | None, float | None]:
    """(percent agreement, Cohen's kappa) of a square confusion table of two raters."""
    n = sum(map(sum, table))
    if n == 0:
        return None, None
    observed = sum(table[i][i] for i in range(len(table))) / n
    rows = [sum(r) / n for r in table]
    cols = [sum(table[i][j] for i in range(len(table))) / n for j in range(len(table))]
    expected = sum(r * c for r, c in zip(rows, cols, strict=True))
    kappa = None if expected >= 1.0 else (observed - expected) / (1.0 - expected)
    return observed, kappa


def fleiss(profiles: Sequence[tuple[Sequence[int], int]]) -> tuple[int, float | None, float | None]:
    """(steps, mean pairwise agreement, Fleiss' kappa) from (category counts, number of steps)."""
    steps = judgements = 0
    agreement_sum = 0.0
    totals: list[float] = []
    for counts, weight in profiles:
        raters = sum(counts)
        if raters < 2 or weight <= 0:
            continue
        steps += weight
        judgements += weight * raters
        agreement_sum += weight * sum(c * (c - 1) for c in counts) / (raters * (raters - 1))
        totals = [t + weight * c for t, c in zip(totals or [0.0] * len(counts), counts, strict=True)]
    if steps == 0:
        return 0, None, None
    p_bar = agreement_sum / steps
    p_e = sum((t / judgements) ** 2 for t in totals)
    return steps, p_bar, None if p_e >= 1.0 else (p_bar - p_e) / (1.0 - p_e)


def _pooled(tables: list[Table]) -> list[list[int]]:
    size = len(tables[0])
    return [[sum(t[i][j] for t in tables) for j in range(size)] for i in range(size)]


def summarise(data: AgreementData) -> AgreementSummary:
    """Pair, reviewer and overall agreement statistics of ``data``."""
    pairs = []
    mine: dict[str, list[Table]] = {}
    for pair in data.pairs:
        agreement, kappa = table_agreement(pair.table)
        pairs.append(PairStat(pair.reviewer_a, pair.reviewer_b, pair.n, agreement, kappa))
        mine.setdefault(pair.reviewer_a, []).append(pair.table)
        # Seen from b, the table is transposed: b's verdicts become the rows.
        mine.setdefault(pair.reviewer_b, []).append([list(col) for col in zip(*pair.table, strict=True)])
    reviewers = []
    for name, tables in sorted(mine.items()):
        pooled = _pooled(tables)
        agreement, kappa = table_agreement(pooled)
        reviewers.append(ReviewerStat(name, sum(map(sum, pooled)), agreement, kappa))
    steps, p_bar, kappa = fleiss(data.profiles)
    two = pairs[0].cohen_kappa if len(pairs) == 1 and len(reviewers) == 2 else None
    return AgreementSummary(tuple(pairs), tuple(reviewers), steps, p_bar, kappa, two)
