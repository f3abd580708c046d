"""Figures from query results: the right traces and values, and "No data yet" on empty input."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import pytest

from chestx.web.dashboards import figures
from services.dashboards.queries import (
    DashboardData,
    DayActivity,
    Group,
    LossCurve,
    ModelPoint,
    TimeSpent,
    VerdictCounts,
    VerdictRates,
    load_all,
)
from services.dashboards.stats import AgreementSummary, PairStat, ReviewerStat
from vocab import Verdict

UTC = dt.UTC


def _annotations(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_every_chart_of_an_empty_database_says_no_data_yet() -> None:
    figs = figures.all_figures(DashboardData())
    assert list(figs) == [name for name, _ in figures.CHARTS]
    for name, fig in figs.items():
        assert fig.data == (), name
        assert any("No" in text and ("data" in text or "yet" in text) for text in _annotations(fig)), name
    assert _annotations(figs["progress"]) == [figures.NO_DATA]


def test_rates_figure_stacks_shares_with_counts() -> None:
    groups = (Group("1", VerdictCounts(3, 1, 0)), Group("added", VerdictCounts(0, 0, 2)))
    fig = figures.rates_figure(groups, title="t", axis="step")
    names = [t.name for t in fig.data]
    assert names[:3] == ["accept", "correct", "reject"] and names == [v.value for v in Verdict]
    assert list(fig.data[0].x) == ["1", "added"]
    assert list(fig.data[0].y) == [0.75, 0.0]
    assert list(fig.data[2].y) == [0.0, 1.0]
    assert [list(c) for c in fig.data[1].customdata] == [[1, 4], [0, 2]]
    assert fig.layout.barmode == "stack"
    assert list(fig.layout.xaxis.ticktext) == ["1<br>n=4", "added<br>n=2"]

    flipped = figures.rates_figure(groups, title="t", axis="finding", horizontal=True)
    assert list(flipped.data[0].y) == ["1", "added"] and list(flipped.data[0].x) == [0.75, 0.0]
    assert flipped.data[0].orientation == "h"
    assert list(flipped.layout.yaxis.ticktext) == ["1 (n=4)", "added (n=2)"]


def test_progress_figure_series() -> None:
    days = (
        DayActivity(dt.date(2026, 5, 1), verdicts=10, reviews=2, verified_cases=1),
        DayActivity(dt.date(2026, 5, 3), verdicts=4, reviews=3, verified_cases=2),
    )
    fig = figures.progress_figure(days)
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["step verdicts"].y) == [10, 4]
    assert list(by_name["reviews submitted"].y) == [2, 3]
    assert list(by_name["cases verified"].y) == [1, 2]
    assert list(by_name["cases verified (total, right axis)"].y) == [1, 3]


def test_agreement_figure_heat_map_is_symmetric_with_overall_kappa_in_title() -> None:
    summary = AgreementSummary(
        pairs=(PairStat("ann", "bob", 10, 0.8, 0.5), PairStat("ann", "cy", 4, 1.0, None)),
        reviewers=(
            ReviewerStat("ann", 14, 0.857, 0.6),
            ReviewerStat("bob", 10, 0.8, 0.5),
            ReviewerStat("cy", 4, 1.0, None),
        ),
        steps=12,
        percent_agreement=0.85,
        fleiss_kappa=0.42,
    )
    fig = figures.agreement_figure(summary)
    heat, bars = fig.data
    assert list(heat.x) == list(heat.y) == ["ann", "bob", "cy"]
    z = [list(row) for row in heat.z]
    assert z[0][1] == z[1][0] == 0.5 and z[0][2] is None and z[1][2] is None
    assert "n=10" in heat.text[0][1]
    assert list(bars.y) == [0.857, 0.8, 1.0]
    assert "Fleiss' κ 0.42" in fig.layout.title.text and "12 steps" in fig.layout.title.text
    empty = figures.agreement_figure(AgreementSummary())
    assert empty.data == () and _annotations(empty) == ["No step judged by two reviewers yet"]


def _model(name: str, status: str, radr: float | None, acc: float | None) -> ModelPoint:
    at = dt.datetime(2026, 5, 1, tzinfo=UTC)
    promoted = at if status in ("promoted", "retired") else None
    return ModelPoint(name, status, None, at, promoted, radr, acc)


def test_models_figure_marks_each_promotion_decision() -> None:
    points = (
        _model("base", "retired", 0.5, 0.6),
        _model("v1", "promoted", 0.7, 0.7),
        _model("v2", "rejected", 0.55, 0.65),
        _model("v3", "candidate", None, None),
    )
    fig = figures.models_figure(points)
    lines = {t.name: t for t in fig.data if t.mode == "lines"}
    assert list(lines["RadRScore"].y) == [0.5, 0.7, 0.55, None]
    assert list(lines["accuracy"].y) == [0.6, 0.7, 0.65, None]
    markers = {(t.legendgroup, t.showlegend): t for t in fig.data if t.mode == "markers"}
    assert markers[("promoted", True)].marker.symbol == "star" and list(markers[("promoted", True)].x) == [
        "v1"
    ]
    assert markers[("rejected", True)].marker.symbol == "x" and list(markers[("rejected", True)].y) == [0.55]
    assert list(markers[("retired", False)].y) == [0.6]  # accuracy marker of the retired version
    assert markers[("promoted", True)].customdata[0][0] == "2026-05-01"
    assert figures.models_figure((_model("v3", "candidate", None, None),)).data == ()


def test_loss_and_time_figures() -> None:
    curves = (
        LossCurve(1, "sft", "succeeded", (1.0, 2.0), (2.0, 1.0)),
        LossCurve(2, "rl", "running", (5.0,), (0.5,)),
    )
    fig = figures.loss_figure(curves)
    assert [t.name for t in fig.data] == ["sft #1 (succeeded)", "rl #2 (running)"]
    assert list(fig.data[0].y) == [2.0, 1.0]
    spent = TimeSpent(
        by_task_type=(("binary", (1, 0, 0, 0, 0, 0, 0, 0, 0, 2)),), total=3, median_s=25.0, mean_s=3000.0
    )
    fig = figures.time_spent_figure(spent)
    assert list(fig.data[0].x)[0] == "0 s–30 s" and list(fig.data[0].x)[-1] == "≥ 60 min"
    assert list(fig.data[0].y) == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    assert "median 25 s over 3 reviews" in fig.layout.title.text


def test_figures_of_the_seeded_history(seeded) -> None:  # noqa: ANN001
    db, _ = seeded
    figs = figures.all_figures(load_all(db.factory))
    assert all(fig.data for fig in figs.values())
    position = figs["by_position"]
    assert list(position.data[2].y) == pytest.approx([1 / 6, 0.0, 1.0, 0.0])  # rejects at 1, 2, 3, added
    assert list(figs["by_model"].data[0].y) == ["base", "v1", "no version (imported)"]
    assert "Fleiss' κ 0.31" in figs["agreement"].layout.title.text


def test_task_types_are_shown_by_their_labels_never_their_ids() -> None:
    """Issue 13 point 12: "single_choice" is an id; people read "Single choice"."""
    data = DashboardData(
        rates=VerdictRates(
            by_task_type=(
                Group("single_choice", VerdictCounts(2, 1, 0)),
                Group("binary", VerdictCounts(1, 0, 0)),
            )
        ),
        time_spent=TimeSpent(
            by_task_type=(("multiple_choice", (1,) + (0,) * 9), ("open_findings", (0,) * 9 + (1,))),
            total=2,
            median_s=30.0,
            mean_s=30.0,
        ),
    )
    figs = figures.all_figures(data)
    by_task = figs["by_task_type"]
    assert list(by_task.data[0].x) == ["Single choice", "Yes / no"]
    assert [t.name for t in figs["time_spent"].data] == ["Multiple choice", "Open findings"]
    text = " ".join(f.to_json() for f in figs.values())
    assert not any(raw in text for raw in ("single_choice", "multiple_choice", "open_findings"))
