"""The review page (``/review/``): the worklist, and the case view with image left, chain right.

Contract: :func:`build_review_page` lays out components and wires events to the handlers of
:class:`chestx.web.review_handlers.ReviewHandlers`, which call the plain functions of
:mod:`chestx.web.review_actions`, :mod:`chestx.web.chain_actions` and :mod:`chestx.web.generation`.
All events are private (not in the API docs, not callable by the Gradio clients).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from chestx.web.common import PRIVATE, guarded, guarded_gen, page, static_text, table_js
from chestx.web.context import AppContext
from chestx.web.html import TASK_LABELS
from chestx.web.review_handlers import ReviewHandlers
from chestx.web.state import ReviewState
from review_db.types import CaseStatus


@dataclass
class ReviewUI:
    """The components the handlers update (built once per page)."""

    state: gr.State
    nav: gr.HTML
    view: gr.HTML  # "worklist" or "case": which half of the page shows (see static/view.js)
    counts: gr.HTML
    wl_notice: gr.HTML
    table: gr.HTML
    in_progress: gr.HTML
    filters: list[Any]
    model_filter: gr.Dropdown
    header: gr.HTML
    notice: gr.HTML
    viewer: gr.HTML
    facts: gr.HTML
    question: gr.HTML
    report: gr.HTML
    chain: gr.HTML
    answer: gr.HTML
    generate: gr.Button
    stop: gr.Button
    timer: gr.Timer

    def case_outputs(self) -> list[Any]:
        return [
            self.state, self.view, self.wl_notice, self.header, self.notice, self.viewer, self.facts,
            self.question, self.report, self.chain, self.answer, self.generate,
        ]  # fmt: skip

    def worklist_outputs(self) -> list[Any]:
        return [self.counts, self.table, self.in_progress]


def _stopped() -> tuple[dict, dict]:
    return gr.update(visible=True), gr.update(visible=False)


def _filters() -> tuple[gr.Dropdown, gr.Dropdown, gr.Dropdown, gr.Dropdown]:
    task = gr.Dropdown(
        [("All task types", "")] + [(v, k) for k, v in TASK_LABELS.items()], value="", label="Task type"
    )
    status = gr.Dropdown([(s.value.capitalize(), s.value) for s in CaseStatus], value="open", label="Status")
    model = gr.Dropdown([("All models", 0)], value=0, label="Model version")
    demo = gr.Dropdown(
        [("All cases", ""), ("Demo cases only", "demo"), ("Without demo cases", "real")],
        value="",
        label="Demo",
    )
    return task, status, model, demo


def _layout(ctx: AppContext) -> tuple[ReviewUI, gr.Button, gr.Button, gr.Button, gr.Button]:
    state = gr.State(ReviewState())
    nav = gr.HTML(elem_id="cx-nav")
    view = gr.HTML("worklist", js_on_load=static_text("view.js"), elem_id="cx-view")
    with gr.Column(elem_id="cx-worklist"):
        counts = gr.HTML()
        with gr.Row(equal_height=True, elem_classes="cx-filters"):
            filters = _filters()
            nxt = gr.Button("Next case ▶", variant="primary", elem_id="cx-next", scale=0, min_width=150)
        wl_notice = gr.HTML()
        gr.HTML('<h3 class="cx-h">Waiting for you</h3>')
        table = gr.HTML(js_on_load=table_js(), elem_id="cx-table")
        gr.HTML('<h3 class="cx-h">Being reviewed by others</h3>')
        in_progress = gr.HTML(js_on_load=table_js(), elem_id="cx-inprogress")
    with gr.Column(elem_id="cx-case"):
        with gr.Row(equal_height=True, elem_classes="cx-casebar"):
            header = gr.HTML(elem_id="cx-header")
            back = gr.Button("← Worklist", size="sm", scale=0, min_width=110, elem_id="cx-back")
            release = gr.Button("Release case", size="sm", scale=0, min_width=120, elem_id="cx-release")
            skip = gr.Button("Next case ▶", size="sm", scale=0, min_width=120, elem_id="cx-next2")
        case_notice = gr.HTML(elem_id="cx-notice")
        with gr.Row(equal_height=False, elem_classes="cx-split"):
            with gr.Column(scale=6, min_width=420):
                viewer = gr.HTML(js_on_load=static_text("viewer.js"), elem_id="cx-viewer")
                facts = gr.HTML(elem_id="cx-facts")
            with gr.Column(scale=5, min_width=380, elem_classes="cx-right"):
                question = gr.HTML(elem_id="cx-question")
                with gr.Accordion("Report", open=False, elem_id="cx-report"):
                    report = gr.HTML()
                chain = gr.HTML(js_on_load=static_text("chain.js"), elem_id="cx-chain")
                with gr.Row():
                    generate = gr.Button("Ask the model for a fresh chain", size="sm", visible=False)
                    stop = gr.Button("Stop", size="sm", variant="stop", visible=False)
                answer = gr.HTML(js_on_load=static_text("answer.js"), elem_id="cx-answer")
    # Always ticking (cheap while no case is open): toggling it would cost an update per open.
    timer = gr.Timer(ctx.renew_every_s)
    return ReviewUI(
        state, nav, view, counts, wl_notice, table, in_progress, list(filters), filters[2], header,
        case_notice, viewer, facts, question, report, chain, answer, generate, stop, timer,
    ), nxt, back, release, skip  # fmt: skip


def build_review_page(ctx: AppContext) -> gr.Blocks:
    """The reviewer's page: worklist, case view, keyboard, lease renewal."""
    with page("Review") as demo:
        ui, nxt, back, release, skip = _layout(ctx)
        _wire(ctx, ui, demo, nxt, back, release, skip)
    demo.queue(default_concurrency_limit=16)
    return demo


def _wire(ctx: AppContext, ui: ReviewUI, demo: gr.Blocks, nxt, back, release, skip) -> None:  # noqa: ANN001
    """Connect events to :class:`chestx.web.review_handlers.ReviewHandlers` (all private)."""
    h = ReviewHandlers(ctx, ui)
    case_out, wl_out, filters = ui.case_outputs(), ui.worklist_outputs(), ui.filters
    demo.load(guarded(h.on_load), [*filters], [*wl_out, ui.model_filter, ui.nav, ui.state], **PRIVATE)
    for f in filters:
        f.input(guarded(h.worklist), filters, wl_out, show_progress="hidden", **PRIVATE)
    for table in (ui.table, ui.in_progress):
        table.select(guarded(h.open_selected), [ui.state], case_out, **PRIVATE)
    for button in (nxt, skip):
        button.click(guarded(h.next_case), [ui.state, *filters], case_out + wl_out, **PRIVATE)
    # The hot path: unqueued (one POST, no event stream), in order per tab (chain.js sends one
    # action at a time), every click kept ("multiple").
    ui.chain.submit(
        guarded(h.on_chain),
        [ui.state],
        [ui.state, ui.chain],
        show_progress="hidden",
        trigger_mode="multiple",
        queue=False,
        **PRIVATE,
    )
    ui.answer.submit(
        guarded(h.on_submit),
        [ui.state, *filters],
        case_out + wl_out,
        **PRIVATE,
    )
    back.click(guarded(h.go_back), [ui.state, *filters], [ui.state, ui.view, *wl_out], **PRIVATE)
    release.click(guarded(h.release), [ui.state, *filters], [ui.state, ui.view, *wl_out], **PRIVATE)
    ui.timer.tick(guarded(h.on_tick), [ui.state], [ui.state, ui.header], show_progress="hidden", **PRIVATE)
    gen = ui.generate.click(
        guarded_gen(h.on_generate),
        [ui.state],
        [ui.state, ui.chain, ui.notice, ui.generate, ui.stop],
        concurrency_limit=1,
        concurrency_id="model",  # model calls share one queue, one at a time
        **PRIVATE,
    )
    ui.stop.click(_stopped, None, [ui.generate, ui.stop], cancels=[gen], **PRIVATE)
    demo.unload(h.on_unload)
