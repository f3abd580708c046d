"""The rule judge (issue 7) with the real all-MiniLM-L6-v2 model: hard constraints, scores, bad input."""

from __future__ import annotations

import itertools

import pytest

from reasoner.radrscore import Flag, RuleJudge, RuleJudgeConfig, Sample, sample_score
from reasoner.radrscore.types import Status

FINDINGS = ["pneumothorax", "pleural effusion", "cardiomegaly", "consolidation", "nodule", "atelectasis"]
NEGATIONS = [
    "There is no {}.",
    "The lungs are clear without {}.",
    "Absence of {} is noted.",
    "Negative for {}.",
    "The chest is free of {}.",
    "{} is not seen.",
]


def sample(model: list[str], reference: list[str], report: str = "") -> Sample:
    return Sample(model_steps=tuple(model), reference_steps=tuple(reference), report=report)


@pytest.mark.parametrize(("finding", "negation"), itertools.product(FINDINGS, NEGATIONS))
def test_negated_finding_never_matches_the_affirmed_one(rule_judge, finding: str, negation: str) -> None:
    negated = negation.format(finding).capitalize()
    affirmed = f"There is a {finding}."
    strict = RuleJudge(embedder=rule_judge.embedder, config=RuleJudgeConfig(completeness="fact"))
    for model, reference in ((negated, affirmed), (affirmed, negated)):
        case = sample([model], [reference], report=reference)
        (j,) = rule_judge.judge([case])
        assert j.n_reference_findings == 1 and j.n_model_findings == 1, (model, reference)
        # Never the same fact: contradicted, unsupported, not recalled as a fact ...
        (asserted,) = [i for i, f in enumerate(j.model_findings) if f.core == finding]
        same, contradicts = rule_judge.match(j.model_findings, j.reference_findings)
        assert not same[asserted].any() and contradicts[asserted].any(), (model, reference)
        assert j.supported[asserted] is False
        assert j.detail["recalled_same_status"] == 0
        (fact,) = strict.judge([case])
        assert fact.n_recalled == 0
        # ... though both chains looked at the same observation: the topic is recalled.
        assert j.n_recalled == 1


@pytest.mark.parametrize("finding", FINDINGS)
def test_left_never_matches_right(rule_judge, finding: str) -> None:
    (j,) = rule_judge.judge([sample([f"There is a left {finding}."], [f"There is a right {finding}."])])
    assert j.n_reference_findings == 1 and j.n_recalled == 0
    (same,) = rule_judge.judge(
        [sample([f"There is a left {finding}."], [f"A {finding} is seen on the left."])]
    )
    assert same.n_recalled == 1


def test_synonyms_and_paraphrases_are_recalled(rule_judge) -> None:
    (j,) = rule_judge.judge(
        [
            sample(
                [
                    "The chest X-ray reveals an enlarged cardiac silhouette.",
                    "The right hemidiaphragm is elevated.",
                ],
                ["Cardiomegaly is present.", "Elevation of the right diaphragm."],
            )
        ]
    )
    assert j.recalled == (True, True)


def test_factuality_follows_the_report(rule_judge) -> None:
    report = "Small left pleural effusion. No pneumothorax. Heart size is normal."
    (j,) = rule_judge.judge(
        [
            sample(
                [
                    "There is a small left pleural effusion.",
                    "There is a right pneumothorax.",
                    "No cardiomegaly.",
                ],
                ["A small left pleural effusion is present."],
                report,
            )
        ]
    )
    by_core = {f.core: ok for f, ok in zip(j.model_findings, j.supported, strict=True)}
    assert by_core["pleural effusion"] is True  # the report says so
    assert by_core["pneumothorax"] is False  # the report says the opposite
    assert by_core["cardiomegaly"] is True  # the report calls the heart normal
    assert sample_score(j).factuality == pytest.approx(2 / 3)


def test_unmentioned_abnormality_is_unsupported_and_unmentioned_normal_is_supported(rule_judge) -> None:
    (j,) = rule_judge.judge(
        [sample(["There is a hiatal hernia.", "There is no rib fracture."], ["Lungs are clear."], "")]
    )
    assert dict(zip([f.status for f in j.model_findings], j.supported, strict=True)) == {
        Status.PRESENT: False,
        Status.ABSENT: True,
    }


def test_scores_are_in_unit_interval_on_fixtures(rule_judge, fixture_items) -> None:
    from reasoner.radrscore import sample_from_item

    judgements = rule_judge.judge([sample_from_item(item)[0] for item in fixture_items])
    for j in judgements:
        s = sample_score(j)
        for value in (s.completeness, s.factuality, s.effectiveness):
            assert value is None or 0.0 <= value <= 1.0


def test_right_chain_scores_higher_than_wrong_chain(rule_judge, fixture_items) -> None:
    from reasoner.radrscore import sample_from_item

    right, wrong = rule_judge.judge([sample_from_item(fixture_items[i])[0] for i in (0, 1)])
    assert sample_score(right).effectiveness == 1.0
    assert sample_score(wrong).effectiveness == 0.0  # asserts the wrong side of the chest
    assert sample_score(right).completeness > sample_score(wrong).completeness


def test_empty_chain_and_empty_reference_are_defined_and_flagged(rule_judge) -> None:
    empty_model, empty_reference, no_findings = rule_judge.judge(
        [
            sample([], ["There is a left pleural effusion."]),
            sample(["There is a left pleural effusion."], []),
            sample(["The patient is positioned well."], ["In conclusion, the answer is A."]),
        ]
    )
    s = sample_score(empty_model)
    assert (s.completeness, s.factuality, s.effectiveness) == (0.0, None, None)
    assert Flag.NO_MODEL_STEPS in s.flags
    s = sample_score(empty_reference)
    assert s.completeness is None and Flag.NO_REFERENCE in s.flags
    s = sample_score(no_findings)
    assert s.completeness is None and s.factuality is None
    assert s.effectiveness == 0.0  # one step, and it advances nothing
    assert {Flag.NO_REFERENCE_FINDINGS, Flag.NO_MODEL_FINDINGS} <= set(s.flags)


def test_batch_and_single_judging_agree(rule_judge, fixture_items) -> None:
    from reasoner.radrscore import sample_from_item

    samples = [sample_from_item(item)[0] for item in fixture_items]
    batch = [sample_score(j) for j in rule_judge.judge(samples)]
    single = [sample_score(rule_judge.judge([s])[0]) for s in samples]
    assert batch == single
