"""Reviewer agreement against textbook values (Fleiss 1971 via Wikipedia; Cohen's example)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.dashboards.agreement_oracle import agreement, by_item, cohen_kappa, fleiss_kappa, percent_agreement

# Wikipedia's worked example of Fleiss' kappa: 10 subjects, 14 raters, 5 categories;
# P-bar = 0.378, P_e = 0.213, kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def ratings_from_table(table: list[list[int]]) -> list[tuple[int, str, int]]:
    out = []
    for item, row in enumerate(table):
        rater = 0
        for category, count in enumerate(row):
            for _ in range(count):
                out.append((item, f"r{rater}", category))
                rater += 1
    return out


def test_fleiss_kappa_textbook_example() -> None:
    ratings = ratings_from_table(FLEISS_TABLE)
    assert fleiss_kappa(ratings) == pytest.approx(0.2099, abs=1e-3)
    report = agreement(ratings)
    assert report.percent_agreement == pytest.approx(0.378, abs=1e-3)
    assert report.n_items == 10 and report.n_raters == 14 and report.cohen_kappa is None


def test_unequal_raters_per_item_match_the_general_formula() -> None:
    ratings = ratings_from_table(FLEISS_TABLE)
    fewer = [r for r in ratings if not (r[0] == 0 and r[1] in {"r0", "r1", "r2"})]
    counts = np.array(FLEISS_TABLE, float)
    counts[0, 4] -= 3
    n = counts.sum(1)
    p_bar = ((counts * (counts - 1)).sum(1) / (n * (n - 1))).mean()
    p_e = ((counts.sum(0) / n.sum()) ** 2).sum()
    assert fleiss_kappa(fewer) == pytest.approx((p_bar - p_e) / (1 - p_e))


def test_cohen_kappa_textbook_example() -> None:
    # 50 items: both yes 20, a yes / b no 5, a no / b yes 10, both no 15 -> p_o 0.7, p_e 0.5, kappa 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert percent_agreement(a, b) == pytest.approx(0.7)


def test_two_raters_report_pairs_raters_and_overall() -> None:
    a = ["accept", "accept", "reject", "correct", "accept", "reject"]
    b = ["accept", "reject", "reject", "correct", "accept", "accept"]
    ratings = [(i, "ann", x) for i, x in enumerate(a)] + [(i, "bob", y) for i, y in enumerate(b)]
    ratings.append((99, "ann", "accept"))  # rated by one reviewer only: no agreement information
    report = agreement(ratings)
    (pair,) = report.pairs
    assert (pair.rater_a, pair.rater_b, pair.n) == ("ann", "bob", 6)
    assert pair.percent_agreement == pytest.approx(4 / 6)
    assert report.cohen_kappa == pair.cohen_kappa == pytest.approx(cohen_kappa(a, b))
    assert [r.rater for r in report.raters] == ["ann", "bob"]
    assert all(r.percent_agreement == pytest.approx(4 / 6) for r in report.raters)
    assert report.n_items == 6 and report.percent_agreement == pytest.approx(4 / 6)


def test_per_rater_pools_all_their_pairs() -> None:
    truth = ["a", "b", "a", "b"]
    ratings = [(i, "r1", x) for i, x in enumerate(truth)]
    ratings += [(i, "r2", x) for i, x in enumerate(truth)]
    ratings += [(i, "r3", "a") for i in range(4)]
    report = agreement(ratings)
    per = {r.rater: r for r in report.raters}
    assert per["r3"].n == 8 and per["r3"].percent_agreement == pytest.approx(0.5)
    assert per["r1"].percent_agreement == pytest.approx(0.75)
    assert report.fleiss_kappa is not None and report.cohen_kappa is None


def test_undefined_statistics_are_none() -> None:
    same = [(i, r, "accept") for i in range(5) for r in ("a", "b")]
    report = agreement(same)
    assert report.percent_agreement == 1.0
    assert report.fleiss_kappa is None and report.cohen_kappa is None
    assert agreement([]).fleiss_kappa is None and agreement([]).pairs == ()
    assert cohen_kappa([], []) is None and percent_agreement([], []) is None


def test_last_rating_of_an_item_wins() -> None:
    table = by_item([(1, "ann", "reject"), (1, "ann", "accept"), (1, "bob", "accept")])
    assert table == {1: {"ann": "accept", "bob": "accept"}}
