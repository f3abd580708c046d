"""Plotly figures of the dashboards: pure functions from query results to figures.

Contract: each ``*_figure`` takes the plain values of :mod:`services.dashboards.queries` (or
:mod:`services.dashboards.stats`) and returns a ``plotly.graph_objects.Figure``; no database, no
Gradio, no I/O. Empty input gives a figure that says "No data yet" (an annotation, no traces),
never an exception. :func:`all_figures` builds every chart of the page, keyed by a stable name
(also the download's file name). Verdict traces, their order and colours, task-type and model
status names come from :mod:`vocab`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from itertools import accumulate

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from services.dashboards.queries import (
    DashboardData,
    DayActivity,
    Group,
    LossCurve,
    ModelPoint,
    TimeSpent,
)
from services.dashboards.stats import AgreementSummary, summarise
from vocab import ModelStatus, Verdict, task_label

NO_DATA = "No data yet"
COLORS = {v.value: v.facts.color for v in Verdict}
_MARKERS = {  # how a model version's promotion decision is drawn: (symbol, colour), in legend order
    ModelStatus.promoted: ("star", "#1565c0"),
    ModelStatus.retired: ("circle", "#1565c0"),
    ModelStatus.rejected: ("x", "#c62828"),
    ModelStatus.candidate: ("diamond-open", "#6d6d6d"),
}
STATUS_MARKERS = {status.value: (*marker, status.label) for status, marker in _MARKERS.items()}
TEMPLATE = "plotly_white"


def _layout(fig: go.Figure, title: str, *, height: int = 420) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "y": 0.98, "yanchor": "top"},
        template=TEMPLATE,
        margin={"l": 60, "r": 20, "t": 100, "b": 50},
        legend={
            "orientation": "h",
            "y": 1.02,
            "yanchor": "bottom",
            "x": 1.0,
            "xanchor": "right",
            "traceorder": "normal",
        },
        height=height,
    )
    return fig


def empty_figure(title: str, message: str = NO_DATA) -> go.Figure:
    """A figure with no traces and ``message`` in its middle."""
    fig = go.Figure()
    fig.add_annotation(
        text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 18}
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def progress_figure(activity: Sequence[DayActivity]) -> go.Figure:
    """Verdicts per day (bars, top); reviews and newly verified cases per day, cumulative verified."""
    title = "Review progress"
    if not activity:
        return empty_figure(title)
    days = [a.day for a in activity]
    verified = [a.verified_cases for a in activity]
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, specs=[[{}], [{"secondary_y": True}]]
    )
    day_ms = 86_400_000  # a bar one day wide (less a gap); a date axis otherwise guesses from neighbours
    fig.add_trace(
        go.Bar(
            name="step verdicts", x=days, y=[a.verdicts for a in activity], width=[0.8 * day_ms] * len(days)
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(name="reviews submitted", x=days, y=[a.reviews for a in activity], mode="lines+markers"),
        row=2,
        col=1,
    )
    fig.add_trace(go.Scatter(name="cases verified", x=days, y=verified, mode="lines+markers"), row=2, col=1)
    fig.add_trace(
        go.Scatter(
            name="cases verified (total, right axis)", x=days, y=list(accumulate(verified)), mode="lines"
        ),
        row=2,
        col=1,
        secondary_y=True,
    )
    # Whole days on the axis: without a tick step, a single day is labelled in fractions of a second.
    span = (days[-1] - days[0]).days
    fig.update_xaxes(tickformat="%Y-%m-%d", dtick=day_ms if span < 14 else None)
    fig.update_xaxes(range=[days[0] - dt.timedelta(days=1), days[-1] + dt.timedelta(days=1)])
    fig.update_yaxes(title_text="verdicts / day", row=1, col=1)
    fig.update_yaxes(title_text="per day", row=2, col=1, secondary_y=False)
    fig.update_yaxes(title_text="total verified", row=2, col=1, secondary_y=True, showgrid=False)
    return _layout(fig, title, height=520)


def rates_figure(groups: Sequence[Group], *, title: str, axis: str, horizontal: bool = False) -> go.Figure:
    """Stacked shares of each verdict (in :class:`~vocab.Verdict`'s order) per group; hover shows
    the counts.

    ``horizontal`` puts the groups on the vertical axis (long labels: findings, regions, models),
    in the given order from the top.
    """
    if not groups:
        return empty_figure(title)
    labels = [g.label for g in groups]
    fig = go.Figure()
    for verdict in (v.value for v in Verdict):
        counts = [g.counts[verdict] for g in groups]
        shares = [g.counts.share(verdict) or 0.0 for g in groups]
        fig.add_trace(
            go.Bar(
                name=verdict,
                x=shares if horizontal else labels,
                y=labels if horizontal else shares,
                orientation="h" if horizontal else "v",
                marker_color=COLORS[verdict],
                customdata=[[c, g.counts.total] for c, g in zip(counts, groups, strict=True)],
                hovertemplate=("%{y}" if horizontal else "%{x}")
                + f"<br>{verdict}: "
                + ("%{x:.1%}" if horizontal else "%{y:.1%}")
                + " (%{customdata[0]:,} of %{customdata[1]:,})<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    share_axis = {"title_text": "share of verdicts", "tickformat": ".0%", "range": [0, 1]}
    # The number behind each bar goes in its tick label, so that 100% of 2 verdicts reads as such.
    ticks = [
        f"{g.label} (n={g.counts.total:,})" if horizontal else f"{g.label}<br>n={g.counts.total:,}"
        for g in groups
    ]
    group_axis = {"title_text": axis, "type": "category", "tickvals": labels, "ticktext": ticks}
    if horizontal:
        fig.update_xaxes(**share_axis)
        fig.update_yaxes(**group_axis, autorange="reversed")
    else:
        fig.update_yaxes(**share_axis)
        fig.update_xaxes(**group_axis)
    return _layout(fig, title, height=max(420, 140 + 28 * len(groups)) if horizontal else 420)


def agreement_figure(summary: AgreementSummary) -> go.Figure:
    """Cohen's kappa per reviewer pair (heat map) and each reviewer's agreement with the others."""
    title = "Reviewer agreement on steps"
    if not summary.pairs:
        return empty_figure(title, "No step judged by two reviewers yet")
    names = sorted({p.reviewer_a for p in summary.pairs} | {p.reviewer_b for p in summary.pairs})
    index = {n: i for i, n in enumerate(names)}
    kappa: list[list[float | None]] = [[None] * len(names) for _ in names]
    text: list[list[str]] = [[""] * len(names) for _ in names]
    for p in summary.pairs:
        for a, b in ((p.reviewer_a, p.reviewer_b), (p.reviewer_b, p.reviewer_a)):
            kappa[index[a]][index[b]] = p.cohen_kappa
            k = "n/a" if p.cohen_kappa is None else f"{p.cohen_kappa:.2f}"
            text[index[a]][index[b]] = f"κ {k}<br>{_pct(p.percent_agreement)}<br>n={p.n:,}"
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.15)
    fig.add_trace(
        go.Heatmap(
            name="Cohen's kappa",
            x=names,
            y=names,
            z=kappa,
            text=text,
            texttemplate="%{text}",
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            colorbar={"title": "κ", "x": 0.52},
            hovertemplate="%{y} vs %{x}<br>%{text}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            name="agreement with others",
            x=[r.reviewer for r in summary.reviewers],
            y=[r.percent_agreement for r in summary.reviewers],
            customdata=[
                [r.cohen_kappa if r.cohen_kappa is not None else float("nan"), r.n] for r in summary.reviewers
            ],
            hovertemplate="%{x}: %{y:.1%} agreement, κ %{customdata[0]:.2f}, n=%{customdata[1]:,}"
            "<extra></extra>",
            marker_color="#1565c0",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(tickformat=".0%", range=[0, 1], row=1, col=2)
    k = "n/a" if summary.fleiss_kappa is None else f"{summary.fleiss_kappa:.2f}"
    overall = (
        f"{title}: Fleiss' κ {k}, agreement {_pct(summary.percent_agreement)} over {summary.steps:,} steps"
    )
    return _layout(fig, overall, height=460)


def models_figure(points: Sequence[ModelPoint]) -> go.Figure:
    """RadRScore and accuracy per model version, markers showing each promotion decision."""
    title = "Model quality across versions"
    if not any(p.radrscore is not None or p.accuracy is not None for p in points):
        return empty_figure(title, "No evaluated model version yet")
    names = [p.name for p in points]
    fig = go.Figure()
    for metric, dash in (("radrscore", "solid"), ("accuracy", "dash")):
        fig.add_trace(
            go.Scatter(
                name="RadRScore" if metric == "radrscore" else "accuracy",
                x=names,
                y=[getattr(p, metric) for p in points],
                mode="lines",
                line={"dash": dash, "color": "#455a64"},
                connectgaps=True,
                hoverinfo="skip",
            )
        )
    for status, (symbol, color, meaning) in STATUS_MARKERS.items():
        chosen = [p for p in points if p.status == status]
        if not chosen:
            continue
        for metric in ("radrscore", "accuracy"):
            fig.add_trace(
                go.Scatter(
                    name=f"{meaning}" if metric == "radrscore" else f"{meaning} (accuracy)",
                    legendgroup=status,
                    showlegend=metric == "radrscore",
                    x=[p.name for p in chosen],
                    y=[getattr(p, metric) for p in chosen],
                    mode="markers",
                    marker={"symbol": symbol, "size": 13, "color": color},
                    customdata=[
                        [p.promoted_at.strftime("%Y-%m-%d") if p.promoted_at else "never", p.parent or "-"]
                        for p in chosen
                    ],
                    hovertemplate="%{x} " + metric + " %{y:.3f}<br>promoted: %{customdata[0]}<br>parent: "
                    "%{customdata[1]}<extra>" + status + "</extra>",
                )
            )
    fig.update_yaxes(title_text="score", rangemode="tozero")
    fig.update_xaxes(title_text="model version (oldest first)", type="category")
    return _layout(fig, title)


def loss_figure(curves: Sequence[LossCurve]) -> go.Figure:
    """Training loss against step, one line per run."""
    title = "Training loss"
    if not curves:
        return empty_figure(title, "No training run has recorded a loss yet")
    fig = go.Figure()
    for curve in curves:
        # Markers too when a run has few points: runs that report only their current loss are dots.
        mode = "lines" if len(curve.steps) > 50 else "lines+markers"
        fig.add_trace(go.Scatter(name=curve.label, x=list(curve.steps), y=list(curve.losses), mode=mode))
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="loss")
    return _layout(fig, title)


def _bin_labels(edges: Sequence[int]) -> list[str]:
    def fmt(s: int) -> str:
        return f"{s // 60} min" if s >= 60 and s % 60 == 0 else f"{s} s"

    return [f"{fmt(lo)}–{fmt(hi)}" for lo, hi in zip(edges, edges[1:], strict=False)] + [
        f"≥ {fmt(edges[-1])}"
    ]


def time_spent_figure(spent: TimeSpent) -> go.Figure:
    """Reviews per time-spent bin, stacked by task type, with the median in the title."""
    title = "Time spent per review (one reviewer, one case)"
    if not spent.total:
        return empty_figure(title)
    labels = _bin_labels(spent.edges)
    fig = go.Figure()
    for task_type, counts in spent.by_task_type:
        fig.add_trace(go.Bar(name=task_label(task_type), x=labels, y=list(counts)))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="time spent", type="category")
    fig.update_yaxes(title_text="reviews")
    median = "n/a" if spent.median_s is None else f"{spent.median_s:.0f} s"
    return _layout(fig, f"{title}: median {median} over {spent.total:,} reviews")


CHARTS = (  # (name, heading), in page order; the name is also the download's file name
    ("progress", "Review progress"),
    ("by_position", "Verdicts by step position"),
    ("by_task_type", "Verdicts by task type"),
    ("by_finding", "Verdicts by finding"),
    ("by_region", "Verdicts by anatomical region"),
    ("by_model", "Verdicts by model version"),
    ("time_spent", "Time per review"),
    ("agreement", "Reviewer agreement"),
    ("models", "Model quality"),
    ("loss", "Training loss"),
)


def all_figures(data: DashboardData) -> dict[str, go.Figure]:
    """Every chart of the dashboards page, in page order, keyed by the names in :data:`CHARTS`."""
    r = data.rates
    figures = {
        "progress": progress_figure(data.activity),
        "by_position": rates_figure(
            r.by_position, title="Verdicts by step position", axis="step (added: by reviewers)"
        ),
        "by_finding": rates_figure(
            r.by_finding, title="Verdicts by finding named in the step", axis="finding", horizontal=True
        ),
        "by_region": rates_figure(
            r.by_region, title="Verdicts by anatomical region", axis="region", horizontal=True
        ),
        "by_task_type": rates_figure(
            [replace(g, label=task_label(g.label)) for g in r.by_task_type],
            title="Verdicts by task type",
            axis="task type",
        ),
        "by_model": rates_figure(
            r.by_model, title="Verdicts by model version", axis="model version", horizontal=True
        ),
        "agreement": agreement_figure(summarise(data.agreement)),
        "models": models_figure(data.models),
        "loss": loss_figure(data.losses),
        "time_spent": time_spent_figure(data.time_spent),
    }
    return {name: figures[name] for name, _ in CHARTS}
