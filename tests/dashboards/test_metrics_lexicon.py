"""Reading metrics and loss histories out of JSON; labelling step texts."""

from __future__ import annotations

import pytest

from services.dashboards import metrics as mx
from services.dashboards.lexicon import UNLABELLED, labels


@pytest.mark.parametrize(
    ("metrics", "radrscore", "accuracy"),
    [
        ({"radrscore": 0.5, "accuracy": 0.6}, 0.5, 0.6),
        ({"eval": {"radrscore": {"overall": 0.4}, "acc": 0.3}}, 0.4, 0.3),
        ({"test": {"RadRScore": {"mean": 0.45}, "accuracy": {"value": 0.9}}}, 0.45, 0.9),
        ({"radrscore": {"completeness": 0.3, "factuality": 0.6}}, 0.45, None),
        (
            {"radrscore": {"overall": {"completeness": {"mean": 0.2}, "effectiveness": {"mean": 0.4}}}},
            0.3,
            None,
        ),
        ({"radrscore": None, "accuracy": "high", "eval": []}, None, None),
        ({"radrscore": float("nan"), "accuracy": True}, None, None),
        ({}, None, None),
        (None, None, None),
    ],
)
def test_metric_shapes(metrics, radrscore, accuracy) -> None:  # noqa: ANN001
    assert mx.metric(metrics, "radrscore") == (pytest.approx(radrscore) if radrscore is not None else None)
    assert mx.metric(metrics, "accuracy") == accuracy


def test_the_shape_training_stages_store() -> None:
    """training/stages.py:run_eval stores {"evals": [...], "eval": evaluate_version(...)}."""
    result = {
        "name": "v3",
        "n_cases": 40,
        "accuracy": 0.725,
        "radrscore": {"completeness": 0.5, "factuality": 0.75, "effectiveness": None, "mean": 0.625},
        "nll": 1.2,
        "malformed_rate": 0.0,
    }
    metrics = {"evals": [{"run_id": 3, **result}], "eval": result}
    assert (mx.metric(metrics, "radrscore"), mx.metric(metrics, "accuracy")) == (0.625, 0.725)
    assert (mx.component(metrics, "factuality"), mx.component(metrics, "effectiveness")) == (0.75, None)
    no_mean = {"eval": {"radrscore": {"completeness": 0.5, "factuality": 0.75, "mean": None}}}
    assert mx.metric(no_mean, "radrscore") == 0.625
    # training/progress.py reports only the current loss: one point per run
    progress = {"stage": "sft", "step": 30, "total": 120, "loss": 1.75, "eta_s": 12.0, "epoch": 0.5}
    assert mx.loss_curve(progress, {"train": {"train_loss": 1.9, "last_loss": 1.75}}) == [(30.0, 1.75)]


def test_components_in_the_aggregate_shape() -> None:
    metrics = {"eval": {"radrscore": {"overall": {"factuality": {"mean": 0.7, "paper_mean": 0.6}}}}}
    assert mx.component(metrics, "factuality") == 0.7
    assert mx.component(metrics, "completeness") is None
    assert mx.component({"completeness": 0.1}, "completeness") == 0.1


def test_loss_curves_in_every_documented_shape() -> None:
    assert mx.loss_curve({"loss_history": [3.0, 2.0, 1.0]}, {}) == [(1, 3.0), (2, 2.0), (3, 1.0)]
    assert mx.loss_curve({"loss_history": [[10, 2.0], [5, 3.0]]}, None) == [(5.0, 3.0), (10.0, 2.0)]
    hf = [{"loss": 1.0, "step": 1}, {"eval_loss": 2.0, "step": 1}, {"train_loss": 0.5, "global_step": 2}]
    assert mx.loss_curve(None, {"log_history": hf}) == [(1.0, 1.0), (2.0, 0.5)]
    assert mx.loss_curve({"step": 7, "loss": 0.25, "total": 10}, {}) == [(7.0, 0.25)]
    assert mx.loss_curve({"loss_history": "oops", "losses": [None, "x"]}, {"history": {}}) == []
    assert mx.loss_curve({}, {}) == []


def test_long_curves_are_downsampled_keeping_the_ends() -> None:
    curve = mx.loss_curve({"loss_history": [float(i) for i in range(10_000)]}, {})
    assert len(curve) == mx.MAX_POINTS
    assert curve[0] == (1, 0.0) and curve[-1] == (10_000, 9_999.0)


@pytest.mark.parametrize(
    ("text", "findings", "regions"),
    [
        ("Small bilateral pleural effusions.", ("pleural effusion",), ("pleura",)),
        ("No pneumothorax at the left apex.", ("pneumothorax",), ("lung apex",)),
        ("The cardiac silhouette is enlarged.", ("cardiomegaly / heart size",), ("heart",)),
        ("Bibasilar atelectasis.", ("atelectasis",), ("lung base",)),
        ("Healed left rib fractures.", ("fracture",), ("bones",)),
        ("A PICC line terminates in the SVC.", ("support devices",), (UNLABELLED,)),
        ("Therefore, the answer is B.", ("answer / conclusion",), (UNLABELLED,)),
        # whole words only: "ribbon", "baseline", "massive"-free text carry no label
        ("Compared with the baseline, describe the ribbon.", (UNLABELLED,), (UNLABELLED,)),
        ("", (UNLABELLED,), (UNLABELLED,)),
    ],
)
def test_labels(text: str, findings: tuple[str, ...], regions: tuple[str, ...]) -> None:
    assert labels(text) == (findings, regions)


def test_a_step_may_carry_several_labels() -> None:
    found, where = labels("Right lower lobe consolidation with a small effusion and a hilar mass.")
    assert found == ("consolidation / pneumonia", "nodule / mass", "pleural effusion")
    assert where == ("hilum", "lower lobe")
