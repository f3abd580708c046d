"""Fitting the offline judge from judged evaluation files (hand-made ones, no real text):
labels per unit, averaged and selected models, provenance, held-apart folds, and the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from chestx.cli import app
from reasoner.radrscore import OfflineJudge, read_items, sample_from_item, sample_score
from reasoner.radrscore.fit import spearman, training_data
from reasoner.radrscore.heldout import calibration, folds, held_apart, source
from reasoner.radrscore.labels import effective_counts, effective_labels, gpt_units
from reasoner.radrscore.refit import fit_judge, judged_files

from .synthetic import write_judged

NAMES = {"chestx_reasoner_x_single.json": 40, "gpt4o_x_single.json": 40, "gpt4o_x_multi.json": 30}


@pytest.fixture(autouse=True)
def small_candidates(monkeypatch) -> None:
    """Two small candidates of each kind: fits and the selection run in seconds rather than minutes."""
    import reasoner.radrscore.fit as fit

    monkeypatch.setattr(
        fit,
        "PROBABILITY_CANDIDATES",
        ({"kind": "linear", "C": 0.1}, {"kind": "trees", "max_depth": 2, "max_iter": 20}),
    )
    monkeypatch.setattr(fit, "WEIGHT_CANDIDATES", (None, {"kind": "trees", "max_depth": 2, "max_iter": 20}))


@pytest.fixture(scope="module")
def judged(tmp_path_factory) -> list[Path]:
    return write_judged(tmp_path_factory.mktemp("judged"), NAMES)


@pytest.fixture(scope="module")
def data(judged, judge):
    return training_data(judged, embedder=judge.embedder)


def test_units_carry_gpt_counts_and_shares(data, judged) -> None:
    items = [item for path in judged for item in read_items(path)]
    assert data.n_items == len(items)
    ref = data.reference
    # Every reference finding GPT-4o listed lands in exactly one reference unit.
    per_item = np.bincount(ref.item, weights=ref.count["completeness"], minlength=data.n_items)
    assert per_item.tolist() == [len(item["gt_key_finding"]["key_conclusion"]) for item in items]
    shares = ref.label["completeness"][np.isfinite(ref.label["completeness"])]
    assert ((shares >= 0) & (shares <= 1)).all()
    effective = data.model.count["effectiveness"]
    totals = np.bincount(data.model.item, weights=np.nan_to_num(effective), minlength=data.n_items)
    steps = [
        item["efficiency"]["effective_count"] + item["efficiency"]["ineffective_count"] for item in items
    ]
    assert np.allclose(totals, steps)


def test_malformed_verdicts_give_no_labels_never_an_error() -> None:
    item = {
        "gt_key_finding": {"reason_steps": "Error", "refined_steps": []},
        "efficiency": {"reason_steps": "x"},
    }
    assert gpt_units(item, "completeness", ["There is a nodule."]) is None
    assert effective_labels(item, ["There is a nodule."]) is None
    assert all(np.isnan(effective_counts(item, [1.0, 0.0])))


def test_effective_steps_are_found_inside_quoted_ones() -> None:
    item = {
        "efficiency": {
            "effective_steps": ["First. There is a nodule in the left lung."],
            "effective_count": 1,
            "ineffective_count": 2,
        }
    }
    labels = effective_labels(item, ["There is a nodule in the left lung.", "The weather is fine."])
    assert labels == [True, False]
    assert effective_counts(item, [1.0, 0.0]) == [1.0, 2.0]


def test_fit_judge_averages_every_candidate_and_states_provenance(judged, judge) -> None:
    params = fit_judge(judged, command="chestx eval fit-judge x", embedder=judge.embedder)
    provenance = params["provenance"]
    assert provenance["command"] == "chestx eval fit-judge x"
    assert [d["sha256"] for d in provenance["data"]] == [
        hashlib.sha256(p.read_bytes()).hexdigest() for p in judged
    ]
    import reasoner.radrscore.fit as fit

    for component in params["components"].values():
        assert component["members"]["probabilities"] == list(fit.PROBABILITY_CANDIDATES)
        assert component["members"]["weights"] == list(fit.WEIGHT_CANDIDATES)
        assert [p["kind"] for p in component["probabilities"]] == ["linear", "trees"]
        assert component["weights"][0] is None and component["weights"][1]["kind"] == "trees"
        assert "selection" not in component
    # The fitted judge agrees with the verdicts it learned from (they follow simple rules).
    fitted = OfflineJudge(embedder=judge.embedder, params=params)
    items = [item for path in judged for item in read_items(path)]
    scores = [sample_score(j) for j in fitted.judge([sample_from_item(i)[0] for i in items])]
    from reasoner.radrscore import paper_scores

    for name in ("completeness", "factuality", "effectiveness"):
        paper = np.array([np.nan if (v := paper_scores(i)[name]) is None else v for i in items])
        ours = np.array([np.nan if getattr(s, name) is None else getattr(s, name) for s in scores])
        assert spearman(paper, ours) > 0.5, name


def test_judge_and_fitting_pipeline_score_alike(data, judged, judge) -> None:
    """The scores held-apart validation computes from stacked tables are the judge's scores."""
    from reasoner.radrscore.fit import component_scores, fit_params

    everything = np.ones(data.n_items, dtype=bool)
    params = fit_params(data, everything)
    fitted = OfflineJudge(embedder=judge.embedder, params=params)
    items = [item for path in judged for item in read_items(path)]
    scores = [sample_score(j) for j in fitted.judge([sample_from_item(i)[0] for i in items])]
    for name in ("completeness", "factuality", "effectiveness"):
        tables = component_scores(data, name, params["components"][name], everything)
        direct = np.array([np.nan if getattr(s, name) is None else getattr(s, name) for s in scores])
        assert np.allclose(tables, direct, atol=1e-4, equal_nan=True), name


def test_folds_hold_whole_sources_apart() -> None:
    names = [
        "chestx_reasoner_openi_multi.json",
        "chestx_reasoner_openi_single.json",
        "gpt4o_openi_single.json",
        "gpt4o_openi_multi.json",
        "gpt4o_openi_multi_no_option.json",
    ]
    assert source(names[4]) == ("GPT-4o", "no options")
    found = {f.name: f for f in folds(names)}
    assert len(found) == 9
    for fold in found.values():
        assert fold.train and fold.test and not fold.train & fold.test
    assert found["train ChestX-Reasoner -> test others"].test == frozenset({2, 3, 4})
    assert found["train single choice -> test multiple choice"].train == frozenset({1, 2})
    assert found["train single choice -> test no options"].test == frozenset({4})


def test_held_apart_refits_per_fold(data) -> None:
    result = held_apart(data, combine="first", interval=False)
    assert [f["name"] for f in result["folds"]] == [f.name for f in folds([d["name"] for d in data.files])]
    for fold in result["folds"]:
        for name in ("completeness", "factuality", "effectiveness"):
            assert fold[name]["n"] > 0 and -1 <= fold[name]["spearman"] <= 1
        assert set(fold["segmenter"]) == {"completeness", "factuality", "effectiveness"}
        for name, limit in fold["limits"].items():
            assert limit["judge"] == pytest.approx(fold[name]["spearman"])
            assert limit["gpt_both"] > 0.9, name  # GPT-4o's own verdicts and counts give back its score
    rows = calibration(data, result["held_out_scores"])
    single = [r for r in rows if r["questions"] == "single choice"]
    assert {r["model"] for r in single} == {"ChestX-Reasoner", "GPT-4o"}
    assert all("same_better" in r and 0 <= r["gpt_flip"] <= 1 for r in single)


def test_gpt4os_own_ranking_flips_as_often_as_its_means_allow() -> None:
    from reasoner.radrscore.heldout import _flip_rate

    rng = np.random.default_rng(1)
    same = rng.random(300), rng.random(300)
    apart = rng.random(300), rng.random(300) + 0.3
    tie = _flip_rate(*same, bool(same[0].mean() > same[1].mean()), 2000, 0)
    assert 0.1 < tie < 0.9  # the same distribution: the ranking is a coin toss
    assert _flip_rate(*apart, False, 2000, 0) < 0.01  # far apart: it never flips
    assert _flip_rate(*apart, True, 2000, 0) > 0.99  # the wrong ranking: it always "flips"


def test_a_shared_fit_cache_changes_no_parameter(data) -> None:
    from reasoner.radrscore.fit import fit_params

    everything = np.ones(data.n_items, dtype=bool)
    train = data.file_of != 0
    cache: dict = {}
    with_cache = [fit_params(data, m, combine="select", cache=cache) for m in (everything, train)]
    assert cache
    assert with_cache == [fit_params(data, m, combine="select") for m in (everything, train)]


def test_nested_selection_keeps_the_best_inner_pair(data) -> None:
    import reasoner.radrscore.fit as fit

    everything = np.ones(data.n_items, dtype=bool)
    for name in ("completeness", "factuality", "effectiveness"):
        fitted = fit.fit_models(data, name, everything, combine="select")
        table = fitted["selection"]
        assert len(table) == len(fit.WEIGHT_CANDIDATES) * len(fit.PROBABILITY_CANDIDATES)
        best = max(table, key=lambda row: row["inner_spearman"])
        assert fitted["members"] == {"weights": [best["weight"]], "probabilities": [best["probability"]]}
        assert len(fitted["weights"]) == len(fitted["probabilities"]) == 1
    with pytest.raises(ValueError, match="combine must be one of"):
        fit.fit_models(data, "completeness", everything, combine="vote")


def test_an_averaged_component_is_the_mean_of_its_members(data) -> None:
    """Each unit's weight and probability are the means of its models' (None weighs a unit with
    findings 1); parameters of one weight and one probability model (format 1) still load."""
    from reasoner.radrscore.fit import fit_params
    from reasoner.radrscore.offline import ComponentModel

    params = fit_params(data, np.ones(data.n_items, dtype=bool))
    spec = params["components"]["factuality"]
    X = data.model.X
    has = X[:, data.names["model"].index("n_findings")] > 0
    weights, probs = ComponentModel.from_json(spec).predict(X, has)
    alone = [
        ComponentModel.from_json({"weight": w, "probability": p}).predict(X, has)
        for w, p in zip(spec["weights"], spec["probabilities"], strict=True)
    ]
    assert np.allclose(weights, np.mean([a[0] for a in alone], axis=0))
    assert np.allclose(probs, np.mean([a[1] for a in alone], axis=0))
    assert not np.allclose(alone[0][1], alone[1][1])  # the members differ: the mean is not one of them
    assert np.allclose(alone[0][0], has.astype(float))
    with pytest.raises(ValueError, match="at least one"):
        ComponentModel.from_json({"weights": [], "probabilities": spec["probabilities"]})


def test_cli_fit_judge_then_score_with_those_parameters(judged, tmp_path: Path) -> None:
    out = tmp_path / "params.json"
    runner = CliRunner()
    result = runner.invoke(
        app, ["eval", "fit-judge", str(judged[0].parent), "--out", str(out), "--models", "first"]
    )
    assert result.exit_code == 0, result.output
    params = json.loads(out.read_text())
    assert params["provenance"]["command"] == f"chestx eval fit-judge {judged[0].parent} --models first"
    assert len(params["provenance"]["data"]) == len(judged)
    scores = tmp_path / "scores.jsonl"
    result = runner.invoke(
        app, ["eval", "radrscore", str(judged[0]), "--out", str(scores), "--params", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "judge: offline, parameters fitted by `chestx eval fit-judge" in result.output
    assert "[" in result.output.splitlines()[-3]  # a bootstrap interval beside each mean


def test_cli_fit_judge_refuses_an_unknown_way_to_combine(judged, tmp_path: Path) -> None:
    out = tmp_path / "params.json"
    result = CliRunner().invoke(
        app, ["eval", "fit-judge", str(judged[0].parent), "--out", str(out), "--models", "vote"]
    )
    assert result.exit_code == 1 and "--models must be one of average, select, first" in result.output
    assert not out.exists()


def test_cli_fit_judge_without_judged_files_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "plain.json").write_text(json.dumps([{"pred": "x"}]))
    result = CliRunner().invoke(app, ["eval", "fit-judge", str(tmp_path), "--out", str(tmp_path / "p.json")])
    assert result.exit_code == 1 and "GPT-4o" in result.output
    assert judged_files([tmp_path]) == []
