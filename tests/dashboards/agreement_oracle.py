"""The test oracle for reviewer agreement: percent agreement, Cohen's kappa, Fleiss' kappa from raw
ratings, through scikit-learn and statsmodels (the dashboards compute the same statistics from
sufficient statistics, services.dashboards.stats; tests/dashboards/test_stats.py checks both agree).

Contract: pure functions over plain ratings, ``(item_id, rater, label)`` triples (an item is a
step; a label a verdict such as "accept" / "correct" / "reject"). A rater's later rating of the
same item replaces the earlier one (the effective verdict). Nothing here reads a database.

- :func:`cohen_kappa`: two raters over the items both rated (scikit-learn's
  ``cohen_kappa_score``);
- :func:`fleiss_kappa`: any number of raters over the items rated by two or more
  (statsmodels' ``fleiss_kappa`` when every item has the same number of raters; otherwise the
  same statistic in the form that allows a different number of raters per item, which reduces
  to it when the numbers are equal);
- :func:`agreement`: per rater pair, per rater (that rater against every other, pooled) and
  overall.

A statistic that is undefined (no shared items; every label in one category, so chance
agreement is 1) is None, never a division by zero or a NaN.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

Rating = tuple[Hashable, str, Hashable]


@dataclass(frozen=True)
class PairAgreement:
    rater_a: str
    rater_b: str
    n: int  # items both rated
    percent_agreement: float | None
    cohen_kappa: float | None


@dataclass(frozen=True)
class RaterAgreement:
    rater: str
    n: int  # (item, other rater) pairs this rater shares
    percent_agreement: float | None
    cohen_kappa: float | None


@dataclass(frozen=True)
class AgreementReport:
    n_items: int  # items rated by two or more raters
    n_raters: int
    percent_agreement: float | None  # mean pairwise agreement per item (Fleiss' P-bar)
    cohen_kappa: float | None  # only when exactly two raters rated anything
    fleiss_kappa: float | None
    pairs: tuple[PairAgreement, ...] = ()
    raters: tuple[RaterAgreement, ...] = ()


def by_item(ratings: Iterable[Rating]) -> dict[Hashable, dict[str, Hashable]]:
    """``{item: {rater: label}}``; a rater's last rating of an item wins."""
    table: dict[Hashable, dict[str, Hashable]] = defaultdict(dict)
    for item, rater, label in ratings:
        table[item][str(rater)] = label
    return dict(table)


def percent_agreement(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Share of positions where two label sequences agree; None when empty."""
    if len(a) != len(b):
        raise ValueError("label sequences differ in length")
    if not a:
        return None
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items; None when undefined."""
    if len(a) != len(b):
        raise ValueError("label sequences differ in length")
    if not a or len(set(a) | set(b)) < 2:  # one category only: chance agreement is 1
        return None
    from sklearn.metrics import cohen_kappa_score

    keys = {label: i for i, label in enumerate(sorted(set(a) | set(b), key=repr))}
    return float(cohen_kappa_score([keys[x] for x in a], [keys[y] for y in b]))


def _counts(table: dict[Hashable, dict[str, Hashable]]) -> tuple[np.ndarray, list[Hashable]]:
    """Items x categories counts for the items rated by two or more raters."""
    labels = sorted({label for row in table.values() for label in row.values()}, key=repr)
    column = {label: j for j, label in enumerate(labels)}
    rows = []
    for row in table.values():
        if len(row) >= 2:
            counts = [0] * len(labels)
            for label in row.values():
                counts[column[label]] += 1
            rows.append(counts)
    return np.array(rows, dtype=float).reshape(len(rows), len(labels)), labels


def fleiss_kappa(ratings: Iterable[Rating]) -> float | None:
    """Fleiss' kappa over the items rated by two or more raters; None when undefined."""
    counts, _ = _counts(by_item(ratings))
    return _fleiss(counts)[1]


def _fleiss(counts: np.ndarray) -> tuple[float | None, float | None]:
    """(P-bar, kappa) of an items x categories count matrix."""
    if counts.shape[0] == 0:
        return None, None
    raters = counts.sum(axis=1)
    per_item = (counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1))
    p_bar = float(per_item.mean())
    shares = counts.sum(axis=0) / raters.sum()
    p_e = float((shares**2).sum())
    if p_e >= 1.0 - 1e-12:
        return p_bar, None
    if np.all(raters == raters[0]):
        from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

        return p_bar, float(statsmodels_fleiss(counts, method="fleiss"))
    return p_bar, (p_bar - p_e) / (1.0 - p_e)


def _pair(table: dict, a: str, b: str) -> tuple[list, list]:
    shared = [row for row in table.values() if a in row and b in row]
    return [row[a] for row in shared], [row[b] for row in shared]


def agreement(ratings: Iterable[Rating]) -> AgreementReport:
    """Agreement per rater pair, per rater and overall (see the module docstring)."""
    table = by_item(ratings)
    raters = sorted({rater for row in table.values() for rater in row})
    pairs = []
    pooled: dict[str, tuple[list, list]] = {r: ([], []) for r in raters}
    for a, b in combinations(raters, 2):
        labels_a, labels_b = _pair(table, a, b)
        if not labels_a:
            continue
        pairs.append(
            PairAgreement(
                a, b, len(labels_a), percent_agreement(labels_a, labels_b), cohen_kappa(labels_a, labels_b)
            )
        )
        # Each rater's own labels first, the other's second: b sees the pair transposed.
        pooled[a][0].extend(labels_a)
        pooled[a][1].extend(labels_b)
        pooled[b][0].extend(labels_b)
        pooled[b][1].extend(labels_a)
    per_rater = tuple(
        RaterAgreement(r, len(own), percent_agreement(own, other), cohen_kappa(own, other))
        for r, (own, other) in pooled.items()
        if own
    )
    counts, _ = _counts(table)
    p_bar, kappa = _fleiss(counts)
    two = len(raters) == 2 and len(pairs) == 1
    return AgreementReport(
        n_items=int(counts.shape[0]),
        n_raters=len(raters),
        percent_agreement=p_bar,
        cohen_kappa=pairs[0].cohen_kappa if two else None,
        fleiss_kappa=kappa,
        pairs=tuple(pairs),
        raters=per_rater,
    )
