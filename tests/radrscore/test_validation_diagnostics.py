"""The GPT-4o-vs-answer-key diagnostic of reasoner.radrscore.validation, on hand-made items."""

from __future__ import annotations

from reasoner.radrscore.validation import gpt_factuality_vs_answer_key

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


def test_no_decidable_findings_is_none_not_a_division_by_zero() -> None:
    out = gpt_factuality_vs_answer_key([item([("lung nodule", "confirmed", True)])])
    assert out == {"cells": {}, "agreement_with_key": None, "n": 0}
