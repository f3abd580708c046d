"""Dashboards of issue 7: review progress, verdict rates, reviewer agreement, model quality.

Layers, each importable without the next: :mod:`~chestx.dashboards.queries` (read models over
the database, with the incremental :mod:`~chestx.dashboards.rollup` of step verdicts),
:mod:`~chestx.dashboards.stats` (agreement statistics), :mod:`~chestx.dashboards.figures` (pure
plotly figures) and :mod:`~chestx.dashboards.page` (the Gradio components; the only module that
imports gradio). See docs/DASHBOARDS.md.
"""
