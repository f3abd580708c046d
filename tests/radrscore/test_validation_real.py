"""Agreement of the offline judge with GPT-4o on the judged files of ../shared/data (issue 14).

Skipped without ../shared/data. Targets of issue 14, per component: Spearman >= 0.6 in every
held-apart fold, no fold more than 0.1 below the in-sample figure; between models, the same
better model as GPT-4o's judge and each mean within 0.05 of GPT-4o's. The folds here are refitted as
the shipped judge is (every candidate model, averaged; about a minute); the full validation
(bootstrap intervals, the other ways to combine the candidates, the segmenter) is
``bench/validate_radrscore.py``, whose figures are in bench/RESULTS.md and docs/RADRSCORE.md. The
in-sample checks use the shipped parameters. Targets that are not met are strict
xfails whose reasons give the measured figures: they turn into failures the day they are met, so
the docs get updated.
"""

from __future__ import annotations

import numpy as np
import pytest

from reasoner.radrscore import OfflineJudge, read_items, sample_from_item, sample_score
from reasoner.radrscore.fit import component_scores, spearman, training_data
from reasoner.radrscore.heldout import calibration, held_apart
from reasoner.radrscore.offline import COMPONENTS

pytestmark = pytest.mark.slow
TARGET, GAP, TOLERANCE = 0.6, 0.1, 0.05
# Regression floors for the held-apart folds. Measured: the lowest fold per component completeness
# 0.38, factuality 0.01, effectiveness 0.13 (all with the no-options file held out); the mean over
# the nine folds 0.46, 0.32, 0.52.
FLOORS = {"completeness": 0.25, "factuality": -0.15, "effectiveness": 0.05}
MEAN_FLOORS = {"completeness": 0.4, "factuality": 0.25, "effectiveness": 0.45}


@pytest.fixture(scope="module")
def data(judged_files, judge):
    return training_data(judged_files, embedder=judge.embedder)


@pytest.fixture(scope="module")
def folds_result(data):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # scikit-learn's OpenMP threads oversubscribe 2 cores: 2.4x slower fits
        return held_apart(data, interval=False, segment=False)


@pytest.fixture(scope="module")
def shipped(data, judge) -> dict[str, np.ndarray]:
    everything = np.ones(data.n_items, dtype=bool)
    return {
        c: component_scores(data, c, judge.learned.params["components"][c], everything) for c in COMPONENTS
    }


def test_every_judged_item_enters(data, judged_files) -> None:
    assert data.n_items == sum(len(read_items(p)) for p in judged_files) >= 1000
    for c in COMPONENTS:
        rows = data.rows(c)
        assert np.isfinite(rows.label[c]).sum() > 3000, c
        assert np.isfinite(data.paper[c]).sum() > 900, c


def test_the_judge_scores_what_the_validation_tables_score(data, judge, judged_files, shipped) -> None:
    first = read_items(judged_files[0])
    scores = [sample_score(j) for j in judge.judge([sample_from_item(item)[0] for item in first])]
    for c in COMPONENTS:
        direct = np.array([np.nan if getattr(s, c) is None else getattr(s, c) for s in scores])
        assert np.allclose(shipped[c][: len(first)], direct, atol=1e-4, equal_nan=True), c


@pytest.mark.parametrize("component", COMPONENTS)
def test_held_apart_folds_stay_above_their_floors(folds_result, component: str) -> None:
    rhos = [fold[component]["spearman"] for fold in folds_result["folds"]]
    assert len(rhos) == 9
    assert min(rhos) >= FLOORS[component]
    assert np.mean(rhos) >= MEAN_FLOORS[component]


@pytest.mark.xfail(
    strict=True,
    reason="not met: the lowest folds are completeness 0.38, factuality 0.01, effectiveness 0.14 "
    "(no-options file held out); 5 of 27 fold x component cells reach 0.6; see docs/RADRSCORE.md",
)
@pytest.mark.parametrize("component", COMPONENTS)
def test_target_every_fold_at_least_0_6(folds_result, component: str) -> None:
    assert min(fold[component]["spearman"] for fold in folds_result["folds"]) >= TARGET


@pytest.mark.xfail(
    strict=True,
    reason="not met: 16 of 27 cells within 0.1; factuality is more than 0.1 below in-sample in 6 "
    "of 9 folds; see docs/RADRSCORE.md",
)
def test_no_fold_more_than_0_1_below_in_sample(folds_result) -> None:
    for fold in folds_result["folds"]:
        for c in COMPONENTS:
            assert fold[c]["in_sample"] - fold[c]["spearman"] <= GAP, (fold["name"], c)


def test_shipped_judge_agrees_with_gpt4o_in_sample(data, shipped) -> None:
    for c in COMPONENTS:
        assert spearman(data.paper[c], shipped[c]) >= 0.4, c


@pytest.mark.xfail(
    strict=True,
    reason="not met in every cell: see the calibration table in docs/RADRSCORE.md",
)
def test_each_models_mean_within_0_05_of_gpt4o_in_sample(data, shipped) -> None:
    for row in calibration(data, shipped):
        assert abs(row["diff"]) <= TOLERANCE, row


@pytest.mark.xfail(
    strict=True,
    reason="not met in every cell: 4 of 6 in-sample (not multiple choice factuality, where "
    "GPT-4o's means for the two models differ by 0.007, nor single choice effectiveness); "
    "see docs/RADRSCORE.md",
)
def test_same_better_model_as_gpt4o_in_sample(data, shipped) -> None:
    assert all(row["same_better"] for row in calibration(data, shipped) if "same_better" in row)


def test_rule_judge_stays_available(judge, judged_files) -> None:
    from reasoner.radrscore import RuleJudge

    item = read_items(judged_files[0])[0]
    (j,) = RuleJudge(embedder=judge.embedder).judge([sample_from_item(item)[0]])
    assert sample_score(j).completeness is not None
    assert isinstance(judge, OfflineJudge)
