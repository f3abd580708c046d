"""Educator mode (``/teach/``): replay verified cases step by step, with a quiz before the reveal.

Contract: :func:`build_teach_page` builds the page; handlers check the educator role, read
through :func:`review_db.services.app_overview.replay_detail` (verified cases only) and render
with :mod:`chestx.web.teach_view`. Nothing here writes to the database.
"""

from __future__ import annotations

from dataclasses import replace

import gradio as gr

from chestx.web.auth import require
from chestx.web.common import PRIVATE, guarded, nav_html, page, static_text, table_js
from chestx.web.context import AppContext
from chestx.web.html import LETTERS, TASK_LABELS, facts_block, notice
from chestx.web.review_actions import case_table
from chestx.web.state import TeachState
from chestx.web.teach_view import replay_question, replay_steps, reveal
from chestx.web.viewer import viewer_html
from review_db.services import app_overview, app_queries
from review_db.types import Role

EDUCATORS = (Role.educator,)


def _library(ctx: AppContext, request: gr.Request, task: str | None) -> str:
    require(ctx.user(request), *EDUCATORS)
    with ctx.read() as session:
        rows = app_queries.verified_cases(session=session, task_type=task or None)
    return case_table(
        rows, empty="No verified case yet: cases appear here once reviewers have verified them."
    )


def _detail(ctx: AppContext, request: gr.Request, case_id: int | None) -> app_overview.ReplayDetail | None:
    require(ctx.user(request), *EDUCATORS)
    if not case_id:
        return None
    with ctx.read() as session:
        return app_overview.replay_detail(session=session, case_id=int(case_id))


def build_teach_page(ctx: AppContext) -> gr.Blocks:
    """The educator's library of verified cases and the step-by-step replay."""
    with page("Teach") as demo:
        state = gr.State(TeachState())
        nav = gr.HTML()
        view = gr.HTML("library", js_on_load=static_text("view.js"), elem_id="cx-view")
        with gr.Column(elem_id="cx-library-col"):
            gr.HTML(
                '<h2 class="cx-h">Verified cases</h2>'
                '<p class="cx-muted">Pick a case to replay it step by step.</p>'
            )
            task = gr.Dropdown(
                [("All task types", "")] + [(v, k) for k, v in TASK_LABELS.items()],
                value="",
                label="Task type",
            )
            library = gr.HTML(js_on_load=table_js(), elem_id="cx-library")
        with gr.Column(elem_id="cx-replay-col"):
            with gr.Row(equal_height=True):
                title = gr.HTML()
                back = gr.Button("← Library", size="sm", scale=0, min_width=110)
            with gr.Row(equal_height=False, elem_classes="cx-split"):
                with gr.Column(scale=6, min_width=420):
                    viewer = gr.HTML(js_on_load=_viewer_js(), elem_id="cx-viewer")
                    facts = gr.HTML()
                with gr.Column(scale=5, min_width=380):
                    question = gr.HTML()
                    quiz = gr.CheckboxGroup(
                        [], label="Quiz: your answer, before the reveal", elem_id="cx-quiz"
                    )
                    steps = gr.HTML(elem_id="cx-replay")
                    with gr.Row():
                        next_step = gr.Button("Next step ▶", variant="primary", elem_id="cx-next-step")
                        show_all = gr.Button("Show all steps", elem_id="cx-show-all")
                        do_reveal = gr.Button("Reveal the answer", elem_id="cx-reveal")
                    answer = gr.HTML(elem_id="cx-answer-reveal")

        def on_load(request: gr.Request, task_value: str) -> tuple[str, str]:
            return nav_html(ctx, ctx.user(request), "/teach/"), _library(ctx, request, task_value)

        def open_case(request: gr.Request, evt: gr.EventData) -> tuple:
            case_id = (getattr(evt, "_data", None) or {}).get("case_id")
            d = _detail(ctx, request, case_id if isinstance(case_id, int) else None)
            if d is None:
                raise gr.Error("That case is not verified (or does not exist).", print_exception=False)
            new = TeachState(case_id=d.case_id, revealed=0, total=len(d.steps))
            choices = [
                (f"{letter}) {text}", letter) for letter, text in zip(LETTERS, d.options, strict=False)
            ]
            facts_html = facts_block(d.study) + (facts_block(d.prior, title="Prior study") if d.prior else "")
            return (
                new, "replay",
                f'<h2 class="cx-h">Replay of case {d.case_id}</h2>',
                viewer_html(d.case_id if d.study else None, d.study, d.prior), facts_html, replay_question(d),
                gr.update(choices=choices, value=[], visible=bool(choices), interactive=True),
                replay_steps(d, 0), "",
            )  # fmt: skip

        def step(state: TeachState, request: gr.Request, show: int) -> tuple[TeachState, str]:
            d = _detail(ctx, request, state.case_id)
            if d is None:
                return state, ""
            revealed = len(d.steps) if show < 0 else min(len(d.steps), state.revealed + show)
            return replace(state, revealed=revealed), replay_steps(d, revealed)

        def on_reveal(
            state: TeachState, picked: list[str], request: gr.Request
        ) -> tuple[TeachState, str, dict]:
            d = _detail(ctx, request, state.case_id)
            if d is None:
                return state, "", gr.update()
            if d.options and not picked:
                return state, notice("Pick your answer first: that is the quiz.", "error"), gr.update()
            return (
                replace(state, picked=tuple(picked or ()), answer_shown=True),
                reveal(d, picked or ()),
                gr.update(interactive=False),
            )

        def filter_library(task_value: str, request: gr.Request) -> str:
            return _library(ctx, request, task_value)

        def one_more(state: TeachState, request: gr.Request) -> tuple[TeachState, str]:
            return step(state, request, 1)

        def all_steps(state: TeachState, request: gr.Request) -> tuple[TeachState, str]:
            return step(state, request, -1)

        def to_library() -> str:
            return "library"

        replay_out = [state, view, title, viewer, facts, question, quiz, steps, answer]
        demo.load(guarded(on_load), [task], [nav, library], **PRIVATE)
        task.input(guarded(filter_library), [task], [library], **PRIVATE)
        library.select(guarded(open_case), None, replay_out, **PRIVATE)
        next_step.click(guarded(one_more), [state], [state, steps], **PRIVATE)
        show_all.click(guarded(all_steps), [state], [state, steps], **PRIVATE)
        do_reveal.click(guarded(on_reveal), [state, quiz], [state, answer, quiz], **PRIVATE)
        back.click(to_library, None, [view], **PRIVATE)
    demo.queue(default_concurrency_limit=8)
    return demo


def _viewer_js() -> str:
    return static_text("viewer.js")
