"""The researcher's part of the study page: a study's analysis, its figures and its export.

Contract: :func:`analysis_layout` creates the components; :func:`wire_analysis` connects
**Analyse** (queued: the bootstrap and the export take a moment) to
:func:`chestx.web.study.actions.analyse`: the tables, the figures, and a one-time link to the
export zip (the same folder as ``chestx study report``). Researchers and admins only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from chestx.web.common import PRIVATE, guarded
from chestx.web.context import AppContext
from chestx.web.study import actions
from services.reader_study.figures import TITLES


@dataclass
class AnalysisUI:
    column: gr.Column
    study: gr.Dropdown
    analyse: gr.Button
    results: gr.HTML
    plots: dict[str, gr.Plot]


def analysis_layout() -> AnalysisUI:
    with gr.Column(visible=False, elem_id="cx-study-analysis") as column:
        gr.HTML(
            '<h2 class="cx-h">Analysis</h2><p class="cx-muted">Accuracy per arm and reader (Wilson), paired '
            "differences (McNemar, bootstrap over readers and cases), time and confidence per arm; the zip "
            "holds the design and the randomization, to re-analyse elsewhere.</p>"
        )
        with gr.Row(equal_height=True):
            study = gr.Dropdown([], label="Study", elem_id="cx-study-pick-analysis")
            analyse = gr.Button(
                "Analyse", variant="primary", size="sm", scale=0, min_width=150, elem_id="cx-study-analyse"
            )
        results = gr.HTML(elem_id="cx-study-analysis-results")
        plots = {
            name: gr.Plot(label=title, show_label=False, visible=False, elem_id=f"cx-study-plot-{name}")
            for name, title in TITLES.items()
        }
    return AnalysisUI(column, study, analyse, results, plots)


def wire_analysis(ctx: AppContext, ui: AnalysisUI) -> None:
    def on_analyse(study_id: int | None, request: gr.Request) -> list[Any]:
        shown, figs = actions.analyse(ctx, ctx.user(request), study_id)
        return [shown, *(gr.update(value=figs[name], visible=True) for name in ui.plots)]

    ui.analyse.click(guarded(on_analyse), [ui.study], [ui.results, *ui.plots.values()], **PRIVATE)
