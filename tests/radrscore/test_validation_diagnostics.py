"""The GPT-4o-vs-answer-key diagnostic of reasoner.radrscore.validation, on hand-made items."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from reasoner.radrscore.validation import (
    gpt_factuality_vs_answer_key,
    gpt_recall_of_its_own_matches,
    gpt_rule_use,
    gpt_verdicts,
    spearman_interval,
    split_half_reliability,
)

QUESTION = (
    "Which findings are in this chest X-ray? Options:\n"
    "A) cardiomegaly, tortuous aorta, scoliosis\n"
    "B) pleural effusion, pneumothorax\n"
    "Let's think step by step."
)


def item(verdicts: list[tuple[str, str, bool]]) -> dict:
    """An item whose GPT-4o model findings are ``(observation, status, counted correct)``."""
    return {
        "question": QUESTION,
        "answer": "<answer> A </answer>",
        "pred": "<think>The heart is large.</think><answer>A</answer>",
        "reason_steps": ["The heart is enlarged."],
        "original_report": "Cardiomegaly. Tortuous aorta.",
        "pred_key_finding": {"key_conclusion": [{"observation": o, "status": s} for o, s, _ in verdicts]},
        "precision_res": {"correct_steps": [{"observation": o, "status": s} for o, s, ok in verdicts if ok]},
    }


def test_cells_count_gpt_verdicts_against_the_key() -> None:
    items = [
        item(
            [
                ("Cardiomegaly", "confirmed", True),  # correct option asserted: key says correct
                ("tortuous aorta", "not present", True),  # correct option denied: key says incorrect
                ("pleural effusion", "not present", True),  # distractor denied: key says correct
                ("Pneumothorax", "confirmed", False),  # distractor asserted: key says incorrect
                ("scoliosis", "not mentioned", True),  # neither asserted nor denied: left out
                ("lung nodule", "confirmed", True),  # names no option: left out
            ]
        ),
        {**item([("cardiomegaly", "confirmed", False)]), "answer": "no letter"},  # no key: left out
    ]
    out = gpt_factuality_vs_answer_key(items)
    assert out["n"] == 4
    assert out["cells"] == {
        "correct option, asserted": {"n": 1, "judged_correct": 1, "key_says_correct": True},
        "correct option, denied": {"n": 1, "judged_correct": 1, "key_says_correct": False},
        "distractor, asserted": {"n": 1, "judged_correct": 0, "key_says_correct": False},
        "distractor, denied": {"n": 1, "judged_correct": 1, "key_says_correct": True},
    }
    # agrees on three of four: only the denied correct-option finding was counted correct wrongly
    assert out["agreement_with_key"] == 0.75


QUESTION_4 = (
    "Which findings are in this chest X-ray? Options:\n"
    "A) cardiomegaly, tortuous aorta\n"
    "B) pleural effusion, pneumothorax, scoliosis\n"
    "C) lung nodule, rib fracture\n"
    "Let's think step by step."
)
DISTRACTORS = ("pleural effusion", "pneumothorax", "scoliosis", "lung nodule")


def test_rule_use_sorts_items_by_gpt_verdicts_on_denied_distractors() -> None:
    def with_denials(judged: list[bool], **extra) -> dict:
        rows = [(name, "not present", ok) for name, ok in zip(DISTRACTORS, judged, strict=False)]
        return {**item([("cardiomegaly", "confirmed", True), *rows]), "question": QUESTION_4, **extra}

    items = [
        with_denials([True, True, True, True]),  # the rule applied to every denial
        with_denials([False, False, False, False]),  # to none
        with_denials([True, False, True, False]),  # half
        with_denials([True, True]),  # two denials only: too few to tell
        with_denials([False, False, False], answer="no letter"),  # no key: nothing decided
        {**item([("pleural effusion", "confirmed", False)] * 3), "question": QUESTION_4},  # assertions
    ]
    assert gpt_rule_use(items) == {0: "follows", 1: "ignores", 2: "mixed"}
    assert gpt_rule_use(items, min_findings=2) == {0: "follows", 1: "ignores", 2: "mixed", 3: "follows"}


def test_no_decidable_findings_is_none_not_a_division_by_zero() -> None:
    out = gpt_factuality_vs_answer_key([item([("lung nodule", "confirmed", True)])])
    assert out == {"cells": {}, "agreement_with_key": None, "n": 0}


# --- Bootstrap interval, per-finding verdicts, split-half reliability, own-match recall -----------


def test_spearman_interval_brackets_the_estimate() -> None:
    assert spearman_interval(range(20), range(20)) == pytest.approx((1.0, 1.0))
    assert spearman_interval(range(20), range(20, 0, -1)) == pytest.approx((-1.0, -1.0))
    rng = np.random.default_rng(1)
    x = rng.normal(size=60)
    y = x + rng.normal(size=60)
    low, high = spearman_interval(x, y)
    assert low < spearmanr(x, y)[0] < high
    assert 0.1 < high - low < 0.6  # sixty pairs cannot pin rho down to a point, nor leave it open
    assert spearman_interval(x, y, level=0.5)[0] > low  # a narrower level, a narrower interval
    low, high = spearman_interval([1.0] * 10, range(10))  # rho undefined in every resample
    assert np.isnan(low) and np.isnan(high)


def _verdict_item(reference: list[tuple[str, str, bool]], model: list[tuple[str, str, bool]]) -> dict:
    """An item with GPT-4o's findings and verdicts: (observation, status, recalled or correct)."""
    return {
        "gt_key_finding": {"key_conclusion": [{"observation": o, "status": s} for o, s, _ in reference]},
        "pred_key_finding": {"key_conclusion": [{"observation": o, "status": s} for o, s, _ in model]},
        "recall_res": {
            "recalled_findings": [{"observation": o, "status": s} for o, s, ok in reference if ok]
        },
        "precision_res": {"correct_steps": [{"observation": o, "status": s} for o, s, ok in model if ok]},
    }


def test_gpt_verdicts_follow_the_findings_order() -> None:
    it = _verdict_item(
        [("Pleural effusion", "absent", True), ("Cardiomegaly", "present", False)],
        [
            ("cardiomegaly", "present", False),
            ("No pneumothorax", "absent", True),
            ("Scoliosis", "present", True),
        ],
    )
    assert gpt_verdicts(it, "completeness") == [True, False]
    assert gpt_verdicts(it, "factuality") == [False, True, True]
    assert gpt_verdicts({}, "completeness") == []
    with pytest.raises(ValueError, match="effectiveness"):
        gpt_verdicts(it, "effectiveness")


def test_split_half_reliability_is_one_for_consistent_verdicts_and_low_for_coin_flips() -> None:

    def items(rates: list[float], n: int, rng) -> list[dict]:
        return [
            _verdict_item([(f"finding {k}", "present", bool(rng.random() < rate)) for k in range(n)], [])
            for rate in rates
        ]

    rng = np.random.default_rng(0)
    # every finding of an item gets the item's verdict: both halves always agree
    consistent = [_verdict_item([(f"f{k}", "present", i % 3 == 0) for k in range(6)], []) for i in range(30)]
    out = split_half_reliability(consistent, "completeness", repeats=20)
    assert out["n"] == 30 and out["reliability"] == 1.0 and out["ceiling"] == 1.0
    # verdicts that are coin flips whatever the item: nothing to reproduce
    noise = split_half_reliability(items([0.5] * 60, 8, rng), "completeness", repeats=50)
    assert abs(noise["reliability"]) < 0.3
    # items that differ in their rate: reliability in between, ceiling its square root
    mixed = split_half_reliability(
        items(list(np.linspace(0.05, 0.95, 60)), 8, rng), "completeness", repeats=50
    )
    assert noise["reliability"] < mixed["reliability"] < 1.0
    assert mixed["ceiling"] == pytest.approx(np.sqrt(mixed["reliability"]))
    # too few items with two findings: undefined, not a division by zero
    few = split_half_reliability([_verdict_item([("f", "present", True)], [])] * 5, "completeness")
    assert few["n"] == 0 and np.isnan(few["reliability"])


def test_recall_of_own_matches_counts_near_identical_pairs(judge) -> None:
    it = _verdict_item(
        [
            ("Pleural effusion", "not present", True),  # worded as below: near-identical, recalled
            ("Cardiomegaly", "confirmed", False),  # near-identical, missed
            ("Pneumothorax", "absent", False),  # its counterpart states the opposite polarity
            ("Degenerative changes of the spine", "present", False),  # nothing like it on the model side
        ],
        [
            ("pleural effusion", "not present", True),
            ("cardiomegaly", "present", True),
            ("pneumothorax", "present", False),
        ],
    )
    out = gpt_recall_of_its_own_matches([it, {"gt_key_finding": {}}], judge.embedder)
    assert out["near_identical"] == {"n": 2, "recalled": 1, "rate": 0.5}
    assert sum(b["n"] for b in out["bands"]) == 4
    top_opposite = [b for b in out["bands"] if b["low"] >= 0.9 and not b["same_status"]]
    assert [(b["n"], b["recalled"]) for b in top_opposite] == [(1, 0)]
    assert all(0.0 <= b["low"] <= 0.9 for b in out["bands"])
