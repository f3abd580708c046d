"""The review page (``/review/``): the worklist, and the case view with image left, chain right.

Contract: :func:`build_review_page` lays out components and wires events to the plain functions
of :mod:`chestx.web.review_actions`, :mod:`chestx.web.chain_actions` and
:mod:`chestx.web.generation`; handlers here only resolve the user and map results to component
updates. All events are private (not in the API docs, not callable by the Gradio clients).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from chestx.web import chain_actions, generation, review_actions
from chestx.web.common import PRIVATE, guarded, guarded_gen, nav_html, page, static_text, table_js
from chestx.web.context import AppContext
from chestx.web.html import TASK_LABELS, notice
from chestx.web.review_actions import CaseScreen
from chestx.web.state import ReviewState
from review_db.types import CaseStatus

# Views are switched by a CSS class, not `visible`: hidden columns stay mounted, so their
# scripts (viewer, chain controller) keep their state and nothing is rebuilt on each switch.
HIDE, SHOW = ["cx-hide"], []


@dataclass
class ReviewUI:
    """The components the handlers update (built once per page)."""

    state: gr.State
    nav: gr.HTML
    wl_col: gr.Column
    case_col: gr.Column
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
    report_acc: gr.Accordion
    report: gr.HTML
    chain: gr.HTML
    answer_label: gr.HTML
    answer: gr.Radio
    options: gr.CheckboxGroup
    comment: gr.Textbox
    submit: gr.Button
    generate: gr.Button
    stop: gr.Button
    timer: gr.Timer

    def case_outputs(self) -> list[Any]:
        return [
            self.state, self.wl_col, self.case_col, self.wl_notice, self.header, self.notice,
            self.viewer, self.facts, self.question, self.report, self.chain,
            self.answer_label, self.answer, self.options, self.comment, self.submit, self.generate,
        ]  # fmt: skip

    def worklist_outputs(self) -> list[Any]:
        return [self.counts, self.table, self.in_progress, self.model_filter]


def _worklist_updates(ui: ReviewUI, screen: review_actions.WorklistScreen, model_value: Any) -> dict:
    choices = [("All models", 0)] + [(name, ident) for name, ident in screen.model_choices]
    return {
        ui.counts: screen.counts,
        ui.table: screen.table,
        ui.in_progress: screen.in_progress,
        ui.model_filter: gr.update(choices=choices, value=model_value or 0),
    }


def _case_updates(ctx: AppContext, ui: ReviewUI, screen: CaseScreen) -> dict:
    """Outputs for an opened case. Plain values wherever possible: every ``gr.update`` makes
    Gradio build a new component on the server's event loop, which delays other requests."""
    if not screen.opened:
        return {ui.state: screen.state, ui.wl_notice: screen.notice}
    ro = screen.state.read_only
    out = {
        ui.state: screen.state,
        ui.wl_col: gr.update(elem_classes=HIDE),
        ui.case_col: gr.update(elem_classes=SHOW),
        ui.wl_notice: "",
        ui.header: screen.header,
        ui.notice: screen.notice,
        ui.viewer: screen.viewer,
        ui.facts: screen.facts,
        ui.question: screen.question,
        ui.report: screen.report or '<p class="cx-muted">This case has no report.</p>',
        ui.chain: screen.chain,
        ui.answer_label: f'<p class="cx-answerlabel">{_esc(screen.answer_label)}</p>',
        ui.answer: screen.answer_verdict,
        ui.options: gr.update(
            choices=list(screen.option_choices),
            value=list(screen.chosen),
            visible=bool(screen.option_choices),
        ),
        ui.comment: "",
        ui.submit: gr.update(interactive=not ro),
    }
    if ctx.can_generate:
        out[ui.generate] = gr.update(visible=not ro)
    return out


def _esc(text: str) -> str:
    from chestx.web.html import esc

    return esc(text)


def _stopped() -> tuple[dict, dict]:
    return gr.update(visible=True), gr.update(visible=False)


def _to_worklist(ui: ReviewUI) -> dict:
    return {ui.wl_col: gr.update(elem_classes=SHOW), ui.case_col: gr.update(elem_classes=HIDE)}


def _layout(ctx: AppContext) -> tuple[ReviewUI, gr.Button, gr.Button, gr.Button, gr.Button]:
    state = gr.State(ReviewState())
    nav = gr.HTML(elem_id="cx-nav")
    with gr.Column(elem_id="cx-worklist") as wl_col:
        counts = gr.HTML()
        with gr.Row(equal_height=True, elem_classes="cx-filters"):
            task = gr.Dropdown(
                [("All task types", "")] + [(v, k) for k, v in TASK_LABELS.items()],
                value="",
                label="Task type",
            )
            status = gr.Dropdown(
                [(s.value.capitalize(), s.value) for s in CaseStatus], value="open", label="Status"
            )
            model = gr.Dropdown([("All models", 0)], value=0, label="Model version")
            demo = gr.Dropdown(
                [("All cases", ""), ("Demo cases only", "demo"), ("Without demo cases", "real")],
                value="",
                label="Demo",
            )
            nxt = gr.Button("Next case ▶", variant="primary", elem_id="cx-next", scale=0, min_width=150)
        wl_notice = gr.HTML()
        gr.HTML('<h3 class="cx-h">Waiting for you</h3>')
        table = gr.HTML(js_on_load=table_js(), elem_id="cx-table")
        gr.HTML('<h3 class="cx-h">Being reviewed by others</h3>')
        in_progress = gr.HTML(js_on_load=table_js(), elem_id="cx-inprogress")
    with gr.Column(elem_id="cx-case", elem_classes=HIDE) as case_col:
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
                with gr.Accordion("Report", open=False, elem_id="cx-report") as report_acc:
                    report = gr.HTML()
                chain = gr.HTML(js_on_load=static_text("chain.js"), elem_id="cx-chain")
                with gr.Row():
                    generate = gr.Button("Ask the model for a fresh chain", size="sm", visible=False)
                    stop = gr.Button("Stop", size="sm", variant="stop", visible=False)
                with gr.Group(elem_id="cx-answer"):
                    answer_label = gr.HTML()
                    answer = gr.Radio(
                        [("Agree with the model's answer", "agree"), ("Disagree", "disagree")],
                        label="Final answer",
                        elem_id="cx-answer-verdict",
                    )
                    options = gr.CheckboxGroup(
                        [], label="If you disagree: the right option(s)", elem_id="cx-options"
                    )
                    comment = gr.Textbox(
                        label="Note on this review (optional)", lines=1, max_lines=4, elem_id="cx-comment"
                    )
                    submit = gr.Button("Submit review  (Ctrl+Enter)", variant="primary", elem_id="cx-submit")
    # Always ticking (cheap while no case is open): toggling it would cost an update per open.
    timer = gr.Timer(ctx.renew_every_s)
    return ReviewUI(
        state, nav, wl_col, case_col, counts, wl_notice, table, in_progress,
        [task, status, model, demo], model, header, case_notice, viewer, facts, question, report_acc,
        report, chain, answer_label, answer, options, comment, submit, generate, stop, timer,
    ), nxt, back, release, skip  # fmt: skip


def build_review_page(ctx: AppContext) -> gr.Blocks:
    """The reviewer's page: worklist, case view, keyboard, lease renewal."""
    with page("Review") as demo:
        ui, nxt, back, release, skip = _layout(ctx)
        _wire(ctx, ui, demo, nxt, back, release, skip)
    demo.queue(default_concurrency_limit=16)
    return demo


def _wire(ctx: AppContext, ui: ReviewUI, demo: gr.Blocks, nxt, back, release, skip) -> None:  # noqa: ANN001, PLR0915
    case_out = ui.case_outputs()
    wl_out = ui.worklist_outputs()

    def worklist(request: gr.Request, task, status, model, demo_filter) -> dict:  # noqa: ANN001
        flt = review_actions.parse_filter(task, status, model, demo_filter)
        screen = review_actions.worklist(ctx, ctx.user(request), flt)
        return _worklist_updates(ui, screen, model)

    def on_load(request: gr.Request, task, status, model, demo_filter) -> dict:  # noqa: ANN001
        user = ctx.user(request)
        out = worklist(request, task, status, model, demo_filter)
        return {
            **out,
            ui.nav: nav_html(ctx, user, "/review/"),
            ui.state: ReviewState(user_id=user.id if user else None),
        }

    def remember(request: gr.Request, screen: CaseScreen) -> None:
        if screen.opened and screen.state.case_id is not None and request.session_hash:
            ctx.open_cases[request.session_hash] = (screen.state.user_id, screen.state.case_id)

    def open_selected(state: ReviewState, request: gr.Request, evt: gr.EventData) -> dict:
        case_id = (getattr(evt, "_data", None) or {}).get("case_id")
        screen = review_actions.open_case(
            ctx, ctx.user(request), state, case_id if isinstance(case_id, int) else None
        )
        remember(request, screen)
        return _case_updates(ctx, ui, screen)

    def next_case(state: ReviewState, request: gr.Request, *filters) -> dict:  # noqa: ANN002
        screen = review_actions.next_case(
            ctx, ctx.user(request), state.closed(), review_actions.parse_filter(*filters)
        )
        remember(request, screen)
        return _case_updates(ctx, ui, screen) | ({} if screen.opened else _to_worklist(ui))

    def on_chain(state: ReviewState, request: gr.Request, evt: gr.EventData) -> tuple[ReviewState, str]:
        return chain_actions.chain_action(ctx, ctx.user(request), state, getattr(evt, "_data", None))

    def on_submit(state: ReviewState, verdict, chosen, comment, request: gr.Request, *filters) -> dict:  # noqa: ANN001, ANN002
        user = ctx.user(request)
        ok, message = review_actions.submit(ctx, user, state, verdict, chosen, comment)
        if not ok:
            return {ui.notice: notice(message, "error")}
        ctx.open_cases.pop(request.session_hash or "", None)
        screen = review_actions.next_case(ctx, user, state.closed(), review_actions.parse_filter(*filters))
        remember(request, screen)
        if screen.opened:  # the worklist stays hidden; it is refreshed when the reviewer goes back
            note = notice(f"{message} Here is the next case.", "ok")
            return _case_updates(ctx, ui, replace(screen, notice=note))
        done = notice(f"{message} No more cases are waiting for you.", "ok")
        return _to_worklist(ui) | {ui.state: screen.state, ui.wl_notice: done} | worklist(request, *filters)

    def go_back(state: ReviewState, request: gr.Request, *filters) -> dict:  # noqa: ANN002
        return _to_worklist(ui) | worklist(request, *filters)

    def do_release(state: ReviewState, request: gr.Request, *filters) -> dict:  # noqa: ANN002
        new = review_actions.release(ctx, ctx.user(request), state)
        ctx.open_cases.pop(request.session_hash or "", None)
        return {ui.state: new} | _to_worklist(ui) | worklist(request, *filters)

    def on_tick(state: ReviewState, request: gr.Request) -> tuple[ReviewState, str]:
        new, header = review_actions.renew(ctx, ctx.user(request), state)
        return new, header

    def on_generate(state: ReviewState, request: gr.Request):  # noqa: ANN202
        yield state, gr.update(), "", gr.update(visible=False), gr.update(visible=True)
        for new, chain_html, note in generation.stream_fresh_chain(ctx, ctx.user(request), state):
            yield new, chain_html or gr.update(), note, gr.update(), gr.update()
        yield gr.update(), gr.update(), gr.update(), gr.update(visible=True), gr.update(visible=False)

    def on_unload(request: gr.Request) -> None:
        held = ctx.open_cases.pop(request.session_hash or "", None)
        if held is not None:
            from review_db import services
            from review_db.engine import session_scope

            with session_scope(ctx.factory, actor=f"user:{held[0]}") as session:
                services.release_case(session=session, case_id=held[1], reviewer_id=held[0])

    filters = ui.filters
    demo.load(guarded(on_load), [*filters], [*wl_out, ui.nav, ui.state], **PRIVATE)
    for f in filters:
        f.input(guarded(worklist), filters, wl_out, show_progress="hidden", **PRIVATE)
    for table in (ui.table, ui.in_progress):
        table.select(guarded(open_selected), [ui.state], case_out, **PRIVATE)
    for button in (nxt, skip):
        button.click(guarded(next_case), [ui.state, *filters], case_out + wl_out, **PRIVATE)
    ui.chain.submit(
        guarded(on_chain),
        [ui.state],
        [ui.state, ui.chain],
        show_progress="hidden",
        trigger_mode="multiple",
        queue=False,
        **PRIVATE,
    )
    ui.submit.click(
        guarded(on_submit),
        [ui.state, ui.answer, ui.options, ui.comment, *filters],
        case_out + wl_out,
        **PRIVATE,
    )
    back.click(guarded(go_back), [ui.state, *filters], [ui.wl_col, ui.case_col, *wl_out], **PRIVATE)
    release.click(
        guarded(do_release),
        [ui.state, *filters],
        [ui.state, ui.wl_col, ui.case_col, *wl_out],
        **PRIVATE,
    )
    ui.timer.tick(guarded(on_tick), [ui.state], [ui.state, ui.header], show_progress="hidden", **PRIVATE)
    gen = ui.generate.click(
        guarded_gen(on_generate),
        [ui.state],
        [ui.state, ui.chain, ui.notice, ui.generate, ui.stop],
        concurrency_limit=1,
        concurrency_id="model",
        **PRIVATE,
    )
    ui.stop.click(_stopped, None, [ui.generate, ui.stop], cancels=[gen], **PRIVATE)
    demo.unload(on_unload)
