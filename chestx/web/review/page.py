"""The review page (``/review/``): the worklist, and the case view with image left, chain right.

Contract: :func:`build_review_page` lays out components and wires events to the handlers of
:class:`chestx.web.review.handlers.ReviewHandlers`, which call the plain functions of
:mod:`~chestx.web.review.actions`, :mod:`~chestx.web.review.chain_actions` and
:mod:`~chestx.web.review.generation`.
Each event lists exactly the components its handler returns (``ReviewUI.*_outputs``). All events
are private (not in the API docs, not callable by the Gradio clients).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from chestx.web.common import PRIVATE, guarded, guarded_gen, page, static_text, table_js
from chestx.web.context import AppContext
from chestx.web.html import TASK_LABELS
from chestx.web.review.actions import MINE, NEEDS_CHAIN
from chestx.web.review.handlers import ReviewHandlers
from chestx.web.review.state import ReviewState
from review_db.store.worklist import WorklistOrder
from review_db.types import CaseStatus

ORDER_LABELS = {
    WorklistOrder.priority: "Priority, then oldest",
    WorklistOrder.newest: "Newest first",
    WorklistOrder.oldest: "Oldest first",
}


@dataclass
class ReviewUI:
    """The components the handlers update (built once per page)."""

    state: gr.State
    page: gr.State
    nav: gr.HTML
    view: gr.HTML  # "worklist" or "case:<id>": which half of the page shows (see static/view.js)
    counts: gr.HTML
    wl_notice: gr.HTML
    table: gr.HTML
    pager: gr.HTML
    in_progress: gr.HTML
    filters: list[Any]  # task type, status, model, demo, search, order (review_actions.parse_filter)
    model_filter: gr.Dropdown
    header: gr.HTML
    notice: gr.HTML
    viewer: gr.HTML
    facts: gr.HTML
    question: gr.HTML
    report: gr.HTML
    chain: gr.HTML
    answer: gr.HTML
    release: gr.Button
    amend: gr.Button
    generate: gr.Button
    confirm: gr.Button
    stop: gr.Button
    hints: gr.Checkbox  # step hints: the PRM's risk per step, off until turned on
    timer: gr.Timer

    def worklist_outputs(self) -> list[Any]:
        return [self.counts, self.table, self.in_progress, self.page, self.pager]

    def case_outputs(self) -> list[Any]:
        return [
            self.state, self.view, self.wl_notice, self.header, self.notice, self.viewer, self.facts,
            self.question, self.report, self.chain, self.answer, self.amend, self.release,
            self.generate, self.confirm,
        ]  # fmt: skip

    def leave_outputs(self) -> list[Any]:
        """Back to the worklist: the state, the view word, its notice and the lists."""
        return [self.state, self.view, self.wl_notice, *self.worklist_outputs()]

    def generate_outputs(self) -> list[Any]:
        return list(dict.fromkeys([*self.case_outputs(), self.stop]))


def _filters() -> list[Any]:
    task = gr.Dropdown(
        [("All task types", "")] + [(v, k) for k, v in TASK_LABELS.items()],
        value="",
        label="Task type",
        elem_id="cx-f-task",
    )
    status = gr.Dropdown(
        [(s.value.capitalize(), s.value) for s in CaseStatus]
        + [("Waiting for a chain", NEEDS_CHAIN), ("Reviewed by you", MINE)],
        value="open",
        label="Status",
        elem_id="cx-f-status",
    )
    model = gr.Dropdown([("All models", "")], value="", label="Model", elem_id="cx-f-model")
    demo = gr.Dropdown(
        [("All cases", ""), ("Demo cases only", "demo"), ("Without demo cases", "real")],
        value="",
        label="Demo",
        elem_id="cx-f-demo",
    )
    search = gr.Textbox(
        label="Search",
        placeholder="Case id, question or source; Enter",
        elem_id="cx-f-search",
        max_length=200,
    )
    order = gr.Dropdown(
        [(label, value.value) for value, label in ORDER_LABELS.items()],
        value=WorklistOrder.priority.value,
        label="Order",
        elem_id="cx-f-order",
    )
    return [task, status, model, demo, search, order]


def _worklist_layout() -> dict[str, Any]:
    with gr.Column(elem_id="cx-worklist"):
        counts = gr.HTML()
        with gr.Row(equal_height=True, elem_classes="cx-filters"):
            filters = _filters()
        with gr.Row(equal_height=True, elem_classes="cx-filters"):
            nxt = gr.Button("Next case ▶", variant="primary", elem_id="cx-next", scale=0, min_width=150)
            prev_page = gr.Button(
                "◀ Previous page", size="sm", scale=0, min_width=140, elem_id="cx-page-prev"
            )
            pager = gr.HTML("1 / 1", elem_id="cx-pager")
            next_page = gr.Button("Next page ▶", size="sm", scale=0, min_width=120, elem_id="cx-page-next")
        wl_notice = gr.HTML()
        gr.HTML('<h3 class="cx-h">Waiting for you</h3>')
        table = gr.HTML(js_on_load=table_js(), elem_id="cx-table")
        gr.HTML('<h3 class="cx-h">Being reviewed by others</h3>')
        in_progress = gr.HTML(js_on_load=table_js(), elem_id="cx-inprogress")
    return dict(
        counts=counts, filters=filters, nxt=nxt, prev_page=prev_page, pager=pager, next_page=next_page,
        wl_notice=wl_notice, table=table, in_progress=in_progress,
    )  # fmt: skip


def _case_layout() -> dict[str, Any]:
    with gr.Column(elem_id="cx-case"):
        with gr.Row(equal_height=True, elem_classes="cx-casebar"):
            header = gr.HTML(elem_id="cx-header")
            back = gr.Button("← Worklist", size="sm", scale=0, min_width=110, elem_id="cx-back")
            amend = gr.Button(
                "Amend my review", size="sm", scale=0, min_width=150, visible=False, elem_id="cx-amend"
            )
            release = gr.Button("Release case", size="sm", scale=0, min_width=120, elem_id="cx-release")
            skip = gr.Button("Next case ▶", size="sm", scale=0, min_width=120, elem_id="cx-next2")
            hints = gr.Checkbox(
                label="Step hints", value=False, scale=0, min_width=130, elem_id="cx-hints", container=False
            )
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
                    generate = gr.Button(
                        "Ask the model for a fresh chain", size="sm", visible=False, elem_id="cx-generate"
                    )
                    confirm = gr.Button(
                        "Replace my judged chain",
                        size="sm",
                        variant="stop",
                        visible=False,
                        elem_id="cx-confirm",
                    )
                    stop = gr.Button("Stop", size="sm", variant="stop", visible=False, elem_id="cx-stop")
                answer = gr.HTML(js_on_load=static_text("answer.js"), elem_id="cx-answer")
    return dict(
        header=header, back=back, amend=amend, release=release, skip=skip, notice=case_notice, viewer=viewer,
        facts=facts, question=question, report=report, chain=chain, generate=generate, confirm=confirm,
        stop=stop, answer=answer, hints=hints,
    )  # fmt: skip


def _layout(ctx: AppContext) -> tuple[ReviewUI, dict[str, Any]]:
    state = gr.State(ReviewState())
    page_state = gr.State(0)
    nav = gr.HTML(elem_id="cx-nav")
    view = gr.HTML("worklist", js_on_load=static_text("view.js"), elem_id="cx-view")
    wl, case = _worklist_layout(), _case_layout()
    # Always ticking (cheap while no case is open): toggling it would cost an update per open.
    timer = gr.Timer(ctx.renew_every_s)
    ui = ReviewUI(
        state=state, page=page_state, nav=nav, view=view, counts=wl["counts"], wl_notice=wl["wl_notice"],
        table=wl["table"], pager=wl["pager"], in_progress=wl["in_progress"], filters=wl["filters"],
        model_filter=wl["filters"][2], header=case["header"], notice=case["notice"], viewer=case["viewer"],
        facts=case["facts"], question=case["question"], report=case["report"], chain=case["chain"],
        answer=case["answer"], release=case["release"], amend=case["amend"], generate=case["generate"],
        confirm=case["confirm"], stop=case["stop"], hints=case["hints"], timer=timer,
    )  # fmt: skip
    buttons = {k: wl[k] for k in ("nxt", "prev_page", "next_page")} | {k: case[k] for k in ("back", "skip")}
    return ui, buttons


def build_review_page(ctx: AppContext) -> gr.Blocks:
    """The reviewer's page: worklist, case view, keyboard, lease renewal."""
    with page("Review") as demo:
        ui, buttons = _layout(ctx)
        _wire(ctx, ui, demo, buttons)
    demo.queue(default_concurrency_limit=16)
    return demo


def _wire(ctx: AppContext, ui: ReviewUI, demo: gr.Blocks, buttons: dict[str, Any]) -> None:
    """Connect events to :class:`chestx.web.review.handlers.ReviewHandlers` (all private)."""
    h = ReviewHandlers(ctx, ui)
    case_out, wl_out, leave_out, filters = (
        ui.case_outputs(),
        ui.worklist_outputs(),
        ui.leave_outputs(),
        ui.filters,
    )
    hidden = {"show_progress": "hidden", **PRIVATE}
    # The worklist's filters and pages run one at a time, in the order they were sent: a slower
    # earlier query ("All models") never lands after a later one (a search) and undoes it.
    listing = {**hidden, "concurrency_limit": 1, "concurrency_id": "worklist"}
    load_out = list(dict.fromkeys([*wl_out, ui.model_filter, ui.nav, *case_out, ui.hints]))
    # Reads and short writes answer at once: unqueued (one POST each, no event stream to open).
    direct = {"queue": False, **PRIVATE}
    demo.load(guarded(h.on_load), filters, load_out, **direct)
    for f in filters[:4] + filters[5:]:  # dropdowns: on choice; the search box: on Enter
        f.input(guarded(h.filter_changed), filters, wl_out, **listing)
    filters[4].submit(guarded(h.filter_changed), filters, wl_out, **listing)
    buttons["prev_page"].click(guarded(h.page_back), [ui.page, *filters], wl_out, **listing)
    buttons["next_page"].click(guarded(h.page_on), [ui.page, *filters], wl_out, **listing)
    for table in (ui.table, ui.in_progress):
        table.select(guarded(h.open_selected), [ui.state], case_out, **direct)
    for button in (buttons["nxt"], buttons["skip"]):
        button.click(
            guarded(h.next_case),
            [ui.state, ui.page, *filters],
            list(dict.fromkeys(case_out + leave_out)),
            **direct,
        )
    # The hot path: unqueued (one POST, no event stream), in order per tab (chain.js sends one
    # action at a time), every click kept ("multiple").
    ui.chain.submit(
        guarded(h.on_chain),
        [ui.state],
        [ui.state, ui.chain],
        trigger_mode="multiple",
        queue=False,
        **hidden,
    )
    ui.answer.submit(
        guarded(h.on_submit),
        [ui.state, ui.page, *filters],
        list(dict.fromkeys(case_out + leave_out)),
        **PRIVATE,
    )
    buttons["back"].click(guarded(h.go_back), [ui.state, ui.page, *filters], leave_out, **PRIVATE)
    ui.release.click(guarded(h.release), [ui.state, ui.page, *filters], leave_out, **PRIVATE)
    ui.amend.click(guarded(h.amend), [ui.state], case_out, **PRIVATE)
    ui.timer.tick(guarded(h.on_tick), [ui.state], [ui.state, ui.header], **hidden)
    ui.hints.input(guarded(h.toggle_hints), [ui.state, ui.hints], [ui.state, ui.chain, ui.notice], **direct)
    model = {"concurrency_limit": 1, "concurrency_id": "model", **PRIVATE}  # one model call at a time
    gen = ui.generate.click(guarded_gen(h.on_generate), [ui.state], ui.generate_outputs(), **model)
    confirmed = ui.confirm.click(guarded_gen(h.on_confirm), [ui.state], ui.generate_outputs(), **model)
    ui.stop.click(h.stopped, None, [ui.generate, ui.stop], cancels=[gen, confirmed], **PRIVATE)
    demo.unload(h.on_unload)
