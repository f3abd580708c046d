"""Dashboards of issue 7: review progress, verdict rates, reviewer agreement, model quality.

Layers, each importable without the next: :mod:`~services.dashboards.queries` (read models over
the database, with the incremental :mod:`~services.dashboards.rollup` of step verdicts),
:mod:`~services.dashboards.stats` (agreement statistics), :mod:`~chestx.web.dashboards.figures` (pure
plotly figures) and :mod:`~chestx.web.dashboards.charts` (the Gradio components; the only module that
imports gradio). See docs/DASHBOARDS.md.
"""
