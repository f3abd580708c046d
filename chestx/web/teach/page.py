"""Educator mode (``/teach/``): replay verified cases step by step, with a quiz before the reveal.

Contract: :func:`build_teach_page` builds the page; handlers check the educator role, read
through :func:`services.overview.replay_detail` (verified cases only) and render
with :mod:`chestx.web.teach.view_html`. Nothing here writes to the database.

The quiz is a radio group for every question with one answer and checkboxes for multiple choice.
Keys and presenter clickers (``static/teach.js``): → Space PageDown show the next step (after the
last, reveal the answer), ← PageUp the previous one, P switches presenter mode (large text,
``static/teach.css``), Esc leaves it. Presenter mode is only a look: no event, nothing stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import gradio as gr

from chestx.web.auth import require
from chestx.web.common import PRIVATE, guarded, nav_html, page, static_text, table_js
from chestx.web.context import AppContext
from chestx.web.html import LETTERS, TASK_LABELS, facts_block, notice
from chestx.web.review.case_html import case_table
from chestx.web.teach.state import TeachState
from chestx.web.teach.view_html import KEYS_HINT, replay_question, replay_steps, reveal
from chestx.web.viewer import viewer_html
from review_db.types import Role, TaskType
from services import overview, screens

EDUCATORS = (Role.educator,)


def _library(ctx: AppContext, request: gr.Request, task: str | None) -> str:
    require(ctx.user(request), *EDUCATORS)
    with ctx.read() as session:
        rows = screens.verified_cases(session=session, task_type=task or None)
    return case_table(
        rows, empty="No verified case yet: cases appear here once reviewers have verified them."
    )


def _detail(ctx: AppContext, request: gr.Request, case_id: int | None) -> overview.ReplayDetail | None:
    require(ctx.user(request), *EDUCATORS)
    if not case_id:
        return None
    with ctx.read() as session:
        return overview.replay_detail(session=session, case_id=int(case_id))


def picked_letters(detail: overview.ReplayDetail, one: str | None, many: Sequence[str] | None) -> list[str]:
    """The student's answer as letters of this case's options: the radio's pick, or the
    checkboxes' for multiple choice (anything else the browser sends is ignored)."""
    valid = set(LETTERS[: len(detail.options)])
    chosen = list(many or ()) if detail.task_type == TaskType.multiple_choice.value else [one] if one else []
    return sorted({p for p in chosen if p in valid})


def _quiz_updates(detail: overview.ReplayDetail) -> tuple[dict, dict]:
    """(radio, checkboxes): blank, and only the one that fits the case visible."""
    choices = [(f"{letter}) {text}", letter) for letter, text in zip(LETTERS, detail.options, strict=False)]
    many = detail.task_type == TaskType.multiple_choice.value
    return (
        gr.update(choices=choices, value=None, visible=bool(choices) and not many, interactive=True),
        gr.update(choices=choices, value=[], visible=bool(choices) and many, interactive=True),
    )


def _replay_column() -> dict[str, gr.components.Component]:
    """The replay's components by name, created in page order."""
    c: dict[str, gr.components.Component] = {}
    with gr.Row(equal_height=True):
        c["title"] = gr.HTML()
        c["keys"] = gr.HTML(
            KEYS_HINT,
            js_on_load=static_text("teach.js"),
            head=f"<style>{static_text('teach.css')}</style>",
            elem_id="cx-teach-keys",
        )
        c["back"] = gr.Button("← Library", size="sm", scale=0, min_width=110, elem_id="cx-back-library")
    with gr.Row(equal_height=False, elem_classes="cx-split"):
        with gr.Column(scale=6, min_width=420):
            c["viewer"] = gr.HTML(js_on_load=static_text("viewer.js"), elem_id="cx-viewer")
            c["facts"] = gr.HTML(elem_id="cx-teach-facts")
        with gr.Column(scale=5, min_width=380):
            c["question"] = gr.HTML(elem_id="cx-teach-question")
            label = "Quiz: your answer, before the reveal"
            c["quiz_one"] = gr.Radio([], label=label, visible=False, elem_id="cx-quiz")
            c["quiz_many"] = gr.CheckboxGroup(
                [], label=label + " (choose all that apply)", visible=False, elem_id="cx-quiz-many"
            )
            c["steps"] = gr.HTML(js_on_load=static_text("teach_scroll.js"), elem_id="cx-replay")
            with gr.Row():
                c["prev"] = gr.Button("◀ Previous step", elem_id="cx-prev-step")
                c["next"] = gr.Button("Next step ▶", variant="primary", elem_id="cx-next-step")
                c["all"] = gr.Button("Show all steps", elem_id="cx-show-all")
                c["reveal"] = gr.Button("Reveal the answer", elem_id="cx-reveal")
            c["answer"] = gr.HTML(js_on_load=static_text("teach_scroll.js"), elem_id="cx-answer-reveal")
    return c


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
                elem_id="cx-teach-task",
            )
            library = gr.HTML(js_on_load=table_js(), elem_id="cx-library")
        with gr.Column(elem_id="cx-replay-col"):
            c = _replay_column()

        def on_load(request: gr.Request, task_value: str) -> tuple[str, str]:
            return nav_html(ctx, ctx.user(request), "/teach/"), _library(ctx, request, task_value)

        def open_case(request: gr.Request, evt: gr.EventData) -> tuple:
            case_id = (getattr(evt, "_data", None) or {}).get("case_id")
            d = _detail(ctx, request, case_id if isinstance(case_id, int) else None)
            if d is None:
                raise gr.Error("That case is not verified (or does not exist).", print_exception=False)
            facts_html = facts_block(d.study) + (facts_block(d.prior, title="Prior study") if d.prior else "")
            return (
                TeachState(case_id=d.case_id, revealed=0, total=len(d.steps)), "replay",
                f'<h2 class="cx-h">Replay of case {d.case_id}</h2>',
                viewer_html(d.case_id if d.study else None, d.study, d.prior), facts_html, replay_question(d),
                *_quiz_updates(d), replay_steps(d, 0), "",
            )  # fmt: skip

        def move(state: TeachState, request: gr.Request, to: Callable[[int, int], int]) -> tuple:
            d = _detail(ctx, request, state.case_id)
            if d is None:
                return state, ""
            revealed = max(0, min(len(d.steps), to(state.revealed, len(d.steps))))
            return replace(state, revealed=revealed), replay_steps(d, revealed)

        def on_reveal(
            state: TeachState, one: str | None, many: list[str] | None, request: gr.Request
        ) -> tuple:
            d = _detail(ctx, request, state.case_id)
            if d is None:
                return state, "", gr.update(), gr.update(), gr.update()
            picked = picked_letters(d, one, many)
            if d.options and not picked:
                message = notice("Pick your answer first: that is the quiz.", "error")
                return state, message, gr.update(), gr.update(), gr.update()
            shown = replace(state, picked=tuple(picked), answer_shown=True, revealed=len(d.steps))
            locked = gr.update(interactive=False)
            # The reveal shows the whole chain too: every verdict and correction is part of the answer.
            return shown, reveal(d, picked), locked, locked, replay_steps(d, len(d.steps))

        def filter_library(task_value: str, request: gr.Request) -> str:
            return _library(ctx, request, task_value)

        def one_more(state: TeachState, request: gr.Request) -> tuple:
            return move(state, request, lambda shown, _total: shown + 1)

        def one_less(state: TeachState, request: gr.Request) -> tuple:
            return move(state, request, lambda shown, _total: shown - 1)

        def all_steps(state: TeachState, request: gr.Request) -> tuple:
            return move(state, request, lambda _shown, total: total)

        def to_library() -> str:
            return "library"

        replay_out = [state, view, c["title"], c["viewer"], c["facts"], c["question"]]
        replay_out += [c["quiz_one"], c["quiz_many"], c["steps"], c["answer"]]
        demo.load(guarded(on_load), [task], [nav, library], **PRIVATE)
        task.input(guarded(filter_library), [task], [library], **PRIVATE)
        library.select(guarded(open_case), None, replay_out, **PRIVATE)
        c["next"].click(guarded(one_more), [state], [state, c["steps"]], **PRIVATE)
        c["prev"].click(guarded(one_less), [state], [state, c["steps"]], **PRIVATE)
        c["all"].click(guarded(all_steps), [state], [state, c["steps"]], **PRIVATE)
        c["reveal"].click(
            guarded(on_reveal),
            [state, c["quiz_one"], c["quiz_many"]],
            [state, c["answer"], c["quiz_one"], c["quiz_many"], c["steps"]],
            **PRIVATE,
        )
        c["back"].click(to_library, None, [view], **PRIVATE)
    demo.queue(default_concurrency_limit=8)
    return demo
