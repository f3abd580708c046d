"""Agreement with the paper's judge (GPT-4o) on the 102 real items (skipped without ../shared/data).

Targets from issue 7: Spearman >= 0.6 per score, judged on the cross-validated figure (the judge's
settings were chosen on these same items; see docs/RADRSCORE.md, "Validation"). Effectiveness
meets it. Completeness and factuality do not yet: their 0.6 checks are strict xfails, so the day
a change meets them the suite says so, and floors guard against regressions meanwhile. The
cross-validation here searches a smaller grid with fewer shuffles than
``bench/validate_radrscore.py`` (seconds instead of a minute); its figures differ slightly
(0.553 / 0.570 / 0.657 here against 0.544 / 0.565 / 0.666 there, float32 embeddings).
"""

from __future__ import annotations

import pytest

from reasoner.radrscore import paper_scores, score_items
from reasoner.radrscore.validation import compare, cross_validate, judge_items

pytestmark = pytest.mark.slow
TARGET = 0.6
# In-sample Spearman floors (measured: 0.552, 0.608, 0.678 with float32 embeddings).
FLOORS = {"completeness": 0.52, "factuality": 0.57, "effectiveness": 0.64}
# Topic recall counts what GPT-4o often leaves unrecalled: its level sits above GPT-4o's.
MAD = {"completeness": 0.35, "factuality": 0.3, "effectiveness": 0.3}
# Cross-validated floors (measured with this grid, 3 shuffles: 0.553, 0.570, 0.657).
CV_FLOORS = {"completeness": 0.5, "factuality": 0.5, "effectiveness": 0.6}
# A coarse version of GRIDS (reasoner/radrscore/validation.py): three values per threshold.
_T = (0.7, 0.55, 0.85)
SMALL_GRIDS = {
    "completeness": {
        "topic_threshold": (0.65, 0.55, 0.8),
        "completeness": ("topic", "fact"),
        "units": ("step", "finding"),
    },
    "factuality": {
        "match_threshold": _T,
        "option_threshold": _T,
        "answer_key": (True, False),
        "units": ("step", "finding"),
    },
    "effectiveness": {"match_threshold": _T},
}


@pytest.fixture(scope="module")
def table(real_items, judge):
    return compare(real_items, judge_items(real_items, judge))


@pytest.fixture(scope="module")
def cross_validated(real_items, judge):
    return {
        name: cross_validate(real_items, judge, component=name, grid=grid, repeats=3)
        for name, grid in SMALL_GRIDS.items()
    }


def test_every_real_item_is_compared(real_items, table) -> None:
    assert len(real_items) == 102
    for name, row in table.items():
        defined = sum(paper_scores(item)[name] is not None for item in real_items)
        assert row["n"] == defined, name


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_no_regression_below_the_recorded_floor(table, name: str) -> None:
    assert table[name]["spearman"] >= FLOORS[name]
    assert table[name]["p_value"] < 0.05
    assert table[name]["mad"] < MAD[name]


@pytest.mark.parametrize("name", sorted(CV_FLOORS))
def test_cross_validated_floor(cross_validated, name: str) -> None:
    row = cross_validated[name]
    assert row["cv_rho"] >= CV_FLOORS[name]
    # Tuning cannot make the held-out figure better than the best in-sample one.
    assert row["cv_rho_max"] <= row["best_in_sample_rho"] + 1e-9


def test_effectiveness_meets_the_target_cross_validated(cross_validated) -> None:
    assert cross_validated["effectiveness"]["cv_rho"] >= TARGET


@pytest.mark.xfail(strict=True, reason="below the 0.6 target cross-validated; see docs/RADRSCORE.md")
@pytest.mark.parametrize("name", ["completeness", "factuality"])
def test_target_not_yet_met(cross_validated, name: str) -> None:
    assert cross_validated[name]["cv_rho"] >= TARGET


def test_cli_rows_are_the_validated_scores(real_items, judge) -> None:
    rows = list(score_items(real_items, judge=judge, batch_size=40))
    direct = judge_items(real_items, judge)
    assert [r["index"] for r in rows] == list(range(len(real_items)))
    assert [(r["completeness"], r["factuality"], r["effectiveness"]) for r in rows] == [
        (s.completeness, s.factuality, s.effectiveness) for s in direct
    ]
    # Answer letters agree with the evaluator's own "correct" wherever the model gave an answer.
    answered = [(r, item) for r, item in zip(rows, real_items, strict=True) if r["correct"] is not None]
    assert len(answered) >= 100
    assert all(r["correct"] == (item["correct"] == "yes") for r, item in answered)
