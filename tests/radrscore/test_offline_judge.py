"""The offline (learned) judge with the shipped parameters and the real all-MiniLM-L6-v2 model.

Hard constraints that hold by construction (a left finding is never compared with a right one;
a negated finding meets an affirmed one only as a contradiction; nothing is recalled from an
empty chain), what the learned decisions must get right on hand-made cases, undefined scores,
and the parameters' licence and provenance (no text, a command and the data's sha256).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from reasoner.radrscore import Flag, OfflineJudge, Sample, sample_from_item, sample_score
from reasoner.radrscore.features import MISSING
from reasoner.radrscore.offline import DEFAULT_PARAMS, prepare

FINDINGS = ["pneumothorax", "pleural effusion", "consolidation", "nodule", "atelectasis"]


def sample(model: list[str], reference: list[str], report: str = "", **kw) -> Sample:
    return Sample(model_steps=tuple(model), reference_steps=tuple(reference), report=report, **kw)


def sims_of(judge: OfflineJudge, case: Sample):  # noqa: ANN201
    ctx = prepare(case)
    return ctx, judge.sims([ctx])[0]


@pytest.mark.parametrize("finding", FINDINGS)
def test_left_is_never_compared_with_right(judge, finding: str) -> None:
    ctx, sims = sims_of(judge, sample([f"There is a left {finding}."], [f"There is a right {finding}."]))
    same, opposite = sims.split(ctx.model, ctx.reference)
    assert same.size and (same == MISSING).all() and (opposite == MISSING).all()
    ctx, sims = sims_of(judge, sample([f"There is a left {finding}."], [f"A {finding} is seen on the left."]))
    assert sims.split(ctx.model, ctx.reference)[0].max() > 0.9


@pytest.mark.parametrize("finding", FINDINGS)
def test_negated_finding_meets_the_affirmed_one_only_as_a_contradiction(judge, finding: str) -> None:
    ctx, sims = sims_of(judge, sample([f"There is no {finding}."], [f"There is a {finding}."]))
    same, opposite = sims.split(ctx.model, ctx.reference)
    assert (same == MISSING).all() and opposite.max() > 0.9


@pytest.mark.parametrize("finding", FINDINGS)
def test_the_report_decides_factuality(judge, finding: str) -> None:
    """Stating what the report states is judged more factual than denying it, and the reverse."""
    present = f"There is a {finding}."
    denied = f"There is no {finding}."
    reference = [f"A {finding} is seen.", "In conclusion, the answer is A."]
    scores = {}
    for report in (present, denied):
        for model in (present, denied):
            (j,) = judge.judge([sample([model], reference, report)])
            scores[(report, model)] = sample_score(j).factuality
    assert scores[(present, present)] > scores[(present, denied)]
    assert scores[(denied, denied)] > scores[(denied, present)]


def test_a_chain_that_covers_the_reference_is_more_complete(judge) -> None:
    reference = [
        "The heart is enlarged, consistent with cardiomegaly.",
        "A small left pleural effusion blunts the left costophrenic angle.",
        "There is no pneumothorax.",
        "In conclusion, the answer is A) cardiomegaly, small left pleural effusion.",
    ]
    full = [
        "The cardiac silhouette is enlarged.",
        "There is a small left pleural effusion.",
        "No pneumothorax is seen.",
    ]
    partial = ["The patient is well positioned.", "The bones are intact."]
    covered, missed = judge.judge([sample(full, reference), sample(partial, reference)])
    assert sample_score(covered).completeness > sample_score(missed).completeness


def test_right_chain_scores_higher_than_wrong_chain(judge, fixture_items) -> None:
    right, wrong = judge.judge([sample_from_item(fixture_items[i])[0] for i in (0, 1)])
    for name in ("completeness", "effectiveness"):
        assert getattr(sample_score(right), name) > getattr(sample_score(wrong), name), name


def test_scores_are_in_unit_interval_and_batches_agree(judge, fixture_items) -> None:
    samples = [sample_from_item(item)[0] for item in fixture_items]
    batch = [sample_score(j) for j in judge.judge(samples)]
    for s in batch:
        for value in (s.completeness, s.factuality, s.effectiveness):
            assert value is None or 0.0 <= value <= 1.0
    single = [sample_score(judge.judge([s])[0]) for s in samples]
    assert batch == single


def test_empty_chain_and_empty_reference_are_defined_and_flagged(judge) -> None:
    empty_model, empty_reference, nothing = judge.judge(
        [
            sample([], ["There is a left pleural effusion."]),
            sample(["There is a left pleural effusion."], []),
            sample([], []),
        ]
    )
    s = sample_score(empty_model)
    assert (s.completeness, s.factuality, s.effectiveness) == (0.0, None, None)
    assert Flag.NO_MODEL_STEPS in s.flags
    s = sample_score(empty_reference)
    assert s.completeness is None and Flag.NO_REFERENCE in s.flags
    assert s.factuality is not None and s.effectiveness is not None
    s = sample_score(nothing)
    assert (s.completeness, s.factuality, s.effectiveness) == (None, None, None)


def test_judgement_details_name_units_weights_and_probabilities(judge, fixture_items) -> None:
    (j,) = judge.judge([sample_from_item(fixture_items[0])[0]])
    units = j.detail["reference_units"]
    assert units and all(u["weight"] >= 0 and 0 <= u["recalled"] <= 1 for u in units)
    assert j.n_reference_findings == pytest.approx(sum(u["weight"] for u in units), abs=1e-3)
    assert j.n_recalled == pytest.approx(sum(u["weight"] * u["recalled"] for u in units), abs=1e-3)
    assert len(j.effective) == len(j.detail["model_units"])


def test_shipped_parameters_hold_numbers_and_names_only() -> None:
    """Licence: the parameters carry no report or chain text, only numbers and identifiers."""
    params = json.loads(DEFAULT_PARAMS.read_text())
    params.pop("provenance")
    allowed = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

    def walk(value) -> None:  # noqa: ANN001
        if isinstance(value, dict):
            for key, inner in value.items():
                assert allowed.match(key), key
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)
        elif isinstance(value, str):
            assert allowed.match(value), value
        else:
            assert value is None or isinstance(value, bool | int | float)

    walk(params)
    assert DEFAULT_PARAMS.stat().st_size < 2_000_000


def test_shipped_parameters_state_their_provenance_and_features(judge) -> None:
    provenance = judge.provenance
    assert provenance["command"].startswith("chestx eval fit-judge")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", provenance["date"])
    assert provenance["git_commit"]
    assert len(provenance["data"]) >= 1
    for entry in provenance["data"]:
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]) and entry["items"] > 0
    # The parameters were fitted on the features this code computes.
    ctx, sims = sims_of(judge, sample(["There is a left pleural effusion."], ["Effusion on the left."]))
    from reasoner.radrscore.features import completeness_features, model_step_features

    assert completeness_features(ctx, sims)[0] == judge.learned.features["reference"]
    assert model_step_features(ctx, sims)[0] == judge.learned.features["model"]


def test_parameters_fitted_on_other_features_are_refused(judge) -> None:
    params = json.loads(DEFAULT_PARAMS.read_text())
    params["features"]["model"] = params["features"]["model"][:-1]
    other = OfflineJudge(embedder=judge.embedder, params=params)
    with pytest.raises(ValueError, match="refit"):
        other.judge([sample(["There is a nodule."], ["A nodule is seen."])])


def test_similarities_are_missing_not_low_without_a_partner(judge) -> None:
    ctx, sims = sims_of(judge, sample(["There is a nodule."], []))
    assert sims.best(ctx.model, ctx.reference) == (MISSING, MISSING)
    assert np.isfinite(sims.split(ctx.model, ctx.model)[0]).all()
