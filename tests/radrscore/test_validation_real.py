"""Agreement with the paper's judge (GPT-4o) on the 102 real items (skipped without ../shared/data).

Targets from issue 7: Spearman >= 0.6 per score. Effectiveness meets it. Completeness and
factuality do not yet (see docs/RADRSCORE.md, "Validation"): their 0.6 checks are strict xfails, so
the day a change meets them the suite says so, and floors guard against regressions meanwhile.
"""

from __future__ import annotations

import pytest

from reasoner.radrscore import paper_scores, score_items
from reasoner.radrscore.validation import compare, judge_items

pytestmark = pytest.mark.slow
TARGET = 0.6
FLOORS = {"completeness": 0.5, "factuality": 0.55, "effectiveness": 0.6}
# Topic recall counts what GPT-4o often leaves unrecalled: its level sits above GPT-4o's.
MAD = {"completeness": 0.35, "factuality": 0.3, "effectiveness": 0.3}


@pytest.fixture(scope="module")
def table(real_items, judge):
    return compare(real_items, judge_items(real_items, judge))


def test_every_real_item_is_compared(real_items, table) -> None:
    assert len(real_items) == 102
    for name, row in table.items():
        defined = sum(paper_scores(item)[name] is not None for item in real_items)
        assert row["n"] == defined, name


def test_effectiveness_meets_the_target(table) -> None:
    assert table["effectiveness"]["spearman"] >= TARGET


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_no_regression_below_the_recorded_floor(table, name: str) -> None:
    assert table[name]["spearman"] >= FLOORS[name]
    assert table[name]["p_value"] < 0.05
    assert table[name]["mad"] < MAD[name]


@pytest.mark.xfail(strict=True, reason="below the 0.6 target; see docs/RADRSCORE.md, Validation")
@pytest.mark.parametrize("name", ["completeness", "factuality"])
def test_target_not_yet_met(table, name: str) -> None:
    assert table[name]["spearman"] >= TARGET


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
