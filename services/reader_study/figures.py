"""Plotly figures of a reader study's analysis, and one standalone HTML file holding them all.

Contract: :func:`figures` builds the figures from an :class:`~services.reader_study.analysis.Analysis`
and its reads (the time figure draws each read); arms are named by their labels, readers by their
codes. :func:`figures_html` writes them into one HTML file with plotly.js inlined once, so it
opens offline and anywhere. Pure apart from that one write.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import plotly.graph_objects as go

from services.reader_study.analysis import CONFIDENCE_LEVELS, Analysis, ReadRecord

TITLES = {
    "accuracy": "Accuracy per arm (Wilson interval)",
    "paired": "Paired difference in accuracy (bootstrap over readers and cases)",
    "readers": "Accuracy per reader and arm",
    "time": "Time per read (seconds, server-measured)",
    "confidence": "Confidence per arm (1 = guessing, 5 = certain)",
}


def _layout(fig: go.Figure, name: str, **more: object) -> go.Figure:
    fig.update_layout(
        title=TITLES[name], template="plotly_white", margin={"t": 60, "l": 60, "r": 20, "b": 50}
    )
    fig.update_layout(**more)
    return fig


def _interval(estimates: Sequence[float], lows: Sequence[float], highs: Sequence[float]) -> dict:
    """Plotly error bars drawing each estimate's interval (asymmetric)."""
    return {
        "type": "data",
        "symmetric": False,
        "array": [h - e for e, h in zip(estimates, highs, strict=True)],
        "arrayminus": [e - lo for e, lo in zip(estimates, lows, strict=True)],
    }


def accuracy_figure(analysis: Analysis) -> go.Figure:
    rows = analysis.by_arm
    fig = go.Figure(
        go.Bar(
            x=[analysis.label(a.arm) for a in rows],
            y=[a.accuracy for a in rows],
            text=[f"{a.correct}/{a.n}" for a in rows],
            error_y=_interval([a.accuracy for a in rows], [a.low for a in rows], [a.high for a in rows]),
        )
    )
    return _layout(fig, "accuracy", yaxis={"range": [0, 1], "title": "accuracy"})


def paired_figure(analysis: Analysis) -> go.Figure:
    rows = analysis.paired
    labels = [f"{analysis.label(p.arm_b)} − {analysis.label(p.arm_a)}" for p in rows]
    fig = go.Figure(
        go.Scatter(
            x=[p.difference for p in rows],
            y=labels,
            mode="markers",
            marker={"size": 12},
            text=[f"McNemar p = {p.mcnemar_p:.3g}, {p.pairs} pairs" for p in rows],
            error_x=_interval([p.difference for p in rows], [p.low for p in rows], [p.high for p in rows]),
        )
    )
    fig.add_vline(x=0, line_dash="dot")
    return _layout(fig, "paired", xaxis={"title": "difference in accuracy"})


def readers_figure(analysis: Analysis) -> go.Figure:
    fig = go.Figure()
    for reader in dict.fromkeys(a.reader for a in analysis.by_reader):
        rows = [a for a in analysis.by_reader if a.reader == reader]
        fig.add_trace(
            go.Scatter(x=[analysis.label(a.arm) for a in rows], y=[a.accuracy for a in rows], name=reader)
        )
    return _layout(fig, "readers", yaxis={"range": [0, 1], "title": "accuracy"})


def time_figure(analysis: Analysis, reads: Sequence[ReadRecord]) -> go.Figure:
    fig = go.Figure()
    for arm in analysis.arms:
        times = [r.time_s for r in reads if r.arm == arm.key]
        fig.add_trace(go.Box(y=times, name=arm.label, boxpoints="all", jitter=0.3))
    return _layout(fig, "time", yaxis={"title": "seconds"}, showlegend=False)


def confidence_figure(analysis: Analysis) -> go.Figure:
    fig = go.Figure()
    labels = [analysis.label(s.arm) for s in analysis.confidence]
    for i, level in enumerate(CONFIDENCE_LEVELS):
        fig.add_trace(go.Bar(x=labels, y=[s.counts[i] for s in analysis.confidence], name=str(level)))
    return _layout(
        fig, "confidence", barmode="stack", yaxis={"title": "reads"}, legend={"title": "confidence"}
    )


def figures(analysis: Analysis, reads: Sequence[ReadRecord]) -> dict[str, go.Figure]:
    """Every figure by name (the keys of :data:`TITLES`)."""
    return {
        "accuracy": accuracy_figure(analysis),
        "paired": paired_figure(analysis),
        "readers": readers_figure(analysis),
        "time": time_figure(analysis, reads),
        "confidence": confidence_figure(analysis),
    }


def figures_html(figs: Mapping[str, go.Figure], path: Path, *, title: str) -> Path:
    """All ``figs`` in one standalone HTML file (plotly.js inlined once, no network needed)."""
    parts = [
        fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
        for i, fig in enumerate(figs.values())
    ]
    escaped = html.escape(title)
    body = "".join(f"<section>{p}</section>" for p in parts)
    path.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escaped}</title></head>'
        f"<body><h1>{escaped}</h1>{body}</body></html>",
        encoding="utf-8",
    )
    return path
