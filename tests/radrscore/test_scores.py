"""Scores from judgements, aggregation, answers, and the paper's scores from stored verdicts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reasoner.radrscore import (
    Flag,
    Judgement,
    aggregate,
    answer_correct,
    answer_letters,
    finding_f1,
    paper_scores,
    sample_score,
)
from reasoner.radrscore.evalfile import options, reference_steps, task_type

counts = st.one_of(st.none(), st.integers(min_value=0, max_value=50))


@given(counts, counts, counts, counts, counts, counts)
def test_scores_are_in_unit_interval_or_none(nr, rec, nm, sup, ns, eff) -> None:
    s = sample_score(Judgement(nr, rec, nm, sup, ns, eff))
    for value in (s.completeness, s.factuality, s.effectiveness):
        assert value is None or 0.0 <= value <= 1.0
    assert (s.completeness is None) == (rec is None or not nr)


def test_zero_denominators_are_flagged_not_divided() -> None:
    s = sample_score(Judgement(0, 0, 0, 0, 0, 0))
    assert (s.completeness, s.factuality, s.effectiveness) == (None, None, None)
    assert {Flag.NO_REFERENCE_FINDINGS, Flag.NO_MODEL_FINDINGS, Flag.NO_MODEL_STEPS} <= set(s.flags)


def test_aggregate_per_task_and_paper_mean() -> None:
    scores = [
        sample_score(Judgement(4, 2, 2, 2, 2, 1)),
        sample_score(Judgement(0, 0, 4, 1, 4, 4)),
        sample_score(Judgement(2, 2, 1, 0, 1, 0)),
    ]
    out = aggregate(scores, ["binary", "binary", "multiple"])
    assert out["binary"]["completeness"] == {"mean": 0.5, "paper_mean": 0.25, "n_defined": 1}
    assert out["overall"]["completeness"]["mean"] == pytest.approx(0.75)
    assert out["overall"]["n"] == 3 and list(out)[-1] == "overall"
    assert out["multiple"]["factuality"]["mean"] == 0.0


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        ("<answer> C </answer>", {"C"}),
        ("<answer>A, C</answer>", {"A", "C"}),
        ("(B)", {"B"}),
        ("<answer> a normal chest </answer>", set()),
        (None, set()),
    ],
)
def test_answer_letters(text, letters) -> None:
    assert answer_letters(text) == letters


def test_answer_correct_uses_letter_sets() -> None:
    assert answer_correct("A,C", "<answer> C, A </answer>") is True
    assert answer_correct("A", "<answer> A, C </answer>") is False
    assert answer_correct(None, "<answer> A </answer>") is None


def test_finding_f1_normalises_synonyms_and_keeps_sides() -> None:
    assert finding_f1(["enlarged cardiac silhouette"], ["cardiomegaly"]) == 1.0
    assert finding_f1(["left effusion"], ["right effusion"]) == 0.0
    assert finding_f1(["cardiomegaly", "edema", "effusion"], ["cardiomegaly", "edema"]) == pytest.approx(0.8)
    assert finding_f1([], []) is None


def test_paper_scores_from_stored_verdicts() -> None:
    item = {
        "gt_key_finding": {"key_conclusion": [{"observation": "a"}, {"observation": "b"}]},
        "pred_key_finding": {"key_conclusion": [{"observation": "a"}] * 4},
        "recall_res": {"recalled_count": 1},
        "precision_res": {"correct_count": 3},
        "efficiency": {"effective_count": 0, "ineffective_count": 0},
    }
    assert paper_scores(item) == {"completeness": 0.5, "factuality": 0.75, "effectiveness": None}
    assert paper_scores({}) == {"completeness": None, "factuality": None, "effectiveness": None}


def test_item_helpers() -> None:
    question = "Is there X? Options:\nA) yes\nB) no\nLet's think step by step."
    assert options(question) == (("A", "yes"), ("B", "no"))
    assert task_type({"question": question}) == "binary"
    assert task_type({"question": "Which findings? Options:\nA) x\nB) y"}) == "multiple"
    assert task_type({"question": "Describe the findings."}) == "open"
    assert task_type({"question": "Has the effusion changed compared with the prior?"}) == "temporal"
    assert reference_steps("First step. Second step.") == ["First step", "Second step"]
    assert reference_steps({"reason_steps": ["a"]}) == ["a"]
