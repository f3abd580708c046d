"""The readers' part of the study page: the read as its arm shows it, the answer, the marks, submit.

Contract: :func:`reader_layout` creates the components (inside the caller's Blocks);
:func:`reader_values` renders a read, or the state between reads, as :attr:`ReaderUI.outputs`;
:func:`wire_reader` connects **Submit read** (unqueued, one POST) to
:func:`chestx.web.study.actions.submit`, then serves the next read. The outputs come from a
:class:`~services.reader_study.reading.ReadView` only, which holds nothing its arm hides; the
step marks' choices are step numbers, never step text. Ctrl+Enter submits (``study.js``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from chestx.web.common import PRIVATE, guarded, static_text
from chestx.web.context import AppContext
from chestx.web.html import LETTERS, notice
from chestx.web.study import actions
from chestx.web.study.actions import StudyState
from chestx.web.study.read_html import done_html, model_html, question_html, status_html
from chestx.web.viewer import viewer_html
from review_db.errors import ChestXError
from services.reader_study.reading import ReadView, Waiting

CONFIDENCE = [("1 · guessing", 1), ("2", 2), ("3", 3), ("4", 4), ("5 · certain", 5)]
DIRECT: dict[str, Any] = {"queue": False, **PRIVATE}  # one POST, no event stream
SAVED = "Read saved."


@functools.cache
def study_js() -> str:
    return (Path(__file__).resolve().parent / "study.js").read_text(encoding="utf-8")


@dataclass
class ReaderUI:
    column: gr.Column
    state: gr.State
    status: gr.HTML
    message: gr.HTML
    read: gr.Column
    viewer: gr.HTML
    question: gr.HTML
    model: gr.HTML
    one: gr.Radio
    many: gr.CheckboxGroup
    helpful: gr.CheckboxGroup
    wrong: gr.CheckboxGroup
    confidence: gr.Radio
    submit: gr.Button

    @property
    def outputs(self) -> list[Any]:
        return [
            self.state,
            self.status,
            self.read,
            self.viewer,
            self.question,
            self.model,
            self.one,
            self.many,
            self.helpful,
            self.wrong,
            self.confidence,
        ]


def reader_layout() -> ReaderUI:
    with gr.Column(visible=False, elem_id="cx-study-reader") as column:
        state = gr.State(StudyState())
        status = gr.HTML(js_on_load=study_js(), elem_id="cx-study-status")
        message = gr.HTML(elem_id="cx-study-message")
        with gr.Column(visible=False) as read, gr.Row(equal_height=False, elem_classes="cx-split"):
            with gr.Column(scale=6, min_width=420):
                viewer = gr.HTML(js_on_load=static_text("viewer.js"), elem_id="cx-viewer")
            with gr.Column(scale=5, min_width=380):
                question = gr.HTML(elem_id="cx-study-question")
                model = gr.HTML(elem_id="cx-study-model")
                one = gr.Radio([], label="Your answer", elem_id="cx-study-answer")
                many = gr.CheckboxGroup(
                    [], label="Your answer (all that apply)", visible=False, elem_id="cx-study-answer-many"
                )
                helpful = gr.CheckboxGroup(
                    [], label="Steps that helped you", visible=False, elem_id="cx-study-helpful"
                )
                wrong = gr.CheckboxGroup(
                    [], label="Steps that are wrong", visible=False, elem_id="cx-study-wrong"
                )
                confidence = gr.Radio(CONFIDENCE, label="Your confidence", elem_id="cx-study-confidence")
                submit = gr.Button("Submit read (Ctrl+Enter)", variant="primary", elem_id="cx-study-submit")
    return ReaderUI(
        column,
        state,
        status,
        message,
        read,
        viewer,
        question,
        model,
        one,
        many,
        helpful,
        wrong,
        confidence,
        submit,
    )


def reader_values(status: ReadView | Waiting | None, has_reads: bool) -> list[Any]:
    """:attr:`ReaderUI.outputs` for a read, or for the state between reads (everything cleared)."""
    if not isinstance(status, ReadView):
        head = done_html() if status is None and has_reads else status_html(status)
        cleared = [gr.update(choices=[], value=[]) for _ in range(3)]
        return [StudyState(), head, gr.update(visible=False), "", "", "", gr.update(choices=[], value=None),
                *cleared, gr.update(value=None)]  # fmt: skip
    options = [(f"{letter}) {text}", letter) for letter, text in zip(LETTERS, status.options, strict=False)]
    steps = [(f"Step {s.number}", s.number) for s in status.steps]
    return [
        StudyState(status.assignment_id),
        status_html(status),
        gr.update(visible=True),
        viewer_html(status.case_id if status.image else None, status.image, status.prior),
        question_html(status),
        model_html(status),
        gr.update(choices=options, value=None, visible=not status.multiple),
        gr.update(choices=options, value=[], visible=status.multiple),
        gr.update(choices=steps, value=[], visible=bool(steps)),
        gr.update(choices=steps, value=[], visible=bool(steps)),
        gr.update(value=None),
    ]


def wire_reader(ctx: AppContext, ui: ReaderUI) -> None:
    def on_submit(
        state: StudyState,
        one: str | None,
        many: list[str] | None,
        helpful: list[int] | None,
        wrong: list[int] | None,
        confidence: int | None,
        request: gr.Request,
    ) -> list[Any]:
        """Store the read and serve the next; on bad input say why and keep the form as it is."""
        user = ctx.user(request)
        try:
            actions.submit(
                ctx, user, state, one=one, many=many, confidence=confidence, helpful=helpful, wrong=wrong
            )
        except ChestXError as exc:
            return [notice(str(exc), "error"), *(gr.skip() for _ in ui.outputs)]
        return [notice(SAVED, "ok"), *reader_values(*actions.serve(ctx, user))]

    inputs = [ui.state, ui.one, ui.many, ui.helpful, ui.wrong, ui.confidence]
    ui.submit.click(guarded(on_submit), inputs, [ui.message, *ui.outputs], **DIRECT)
