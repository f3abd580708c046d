"""Templates of the reader's part of the study page: pure functions from read models to escaped HTML.

Contract: each function renders a :class:`~services.reader_study.reading.ReadView` (or the state
between reads) and nothing else. A ReadView holds only what its arm shows, so these templates
cannot leak what an arm hides: the model's answer appears only when the view carries it, the
steps only when it carries them. The report and the reviewers' verdicts are never in a ReadView.
"""

from __future__ import annotations

from chestx.web.html import TASK_LABELS, answer_text, esc, option_lines, utc
from services.reader_study.reading import ReadView, Waiting

NO_READS = "You have no reads assigned. An admin adds readers to a study on this page."
ALL_DONE = "All your reads are done. Thank you: your reads are stored and final."
KEYS_HINT = "Tab moves between the choices, arrows and Space pick; Ctrl+Enter submits the read."


def status_html(status: ReadView | Waiting | None) -> str:
    """The heading above a read: the study, the progress and what this read shows; or why
    there is no read (nothing assigned, a washout running)."""
    if status is None:
        return f'<h2 class="cx-h">Reader study</h2><p id="cx-study-empty">{esc(NO_READS)}</p>'
    if isinstance(status, Waiting):
        when = f"{status.opens_at:%Y-%m-%d} {utc(status.opens_at)}"
        return (
            f'<h2 class="cx-h">{esc(status.study_name)}</h2><p id="cx-study-waiting">'
            f"Your next reads open on {esc(when)}, after the washout "
            f"({status.done} of {status.total} reads done).</p>"
        )
    return (
        f'<h2 class="cx-h">{esc(status.study_name)}</h2>'
        f'<p class="cx-muted" id="cx-study-progress">Read {status.done + 1} of {status.total} · '
        f"period {status.period} of {status.periods} · this read shows {esc(status.shows.label)}. "
        f"{esc(KEYS_HINT)}</p>"
    )


def done_html() -> str:
    return f'<h2 class="cx-h">Reader study</h2><p id="cx-study-done">{esc(ALL_DONE)}</p>'


def question_html(view: ReadView) -> str:
    kind = TASK_LABELS.get(view.task_type, "")
    pick = " (choose all that apply)" if view.multiple else ""
    return (
        f'<section class="cx-question"><div class="cx-kicker">{esc(kind)}{esc(pick)}</div>'
        f"<h3>{esc(view.question)}</h3>{option_lines(view.options)}</section>"
    )


def model_html(view: ReadView) -> str:
    """What the arm shows of the model: nothing, its answer, or its answer and its steps."""
    if view.model_answer is None:
        return (
            '<p class="cx-muted" id="cx-study-unaided">Read this case on your own: no AI for this read.</p>'
        )
    said = answer_text(view.model_answer, view.options)
    answer = f'<p id="cx-study-model-answer"><b>The model answered:</b> {esc(said)}</p>'
    if not view.steps:
        return f'<section class="cx-chain">{answer}</section>'
    steps = "".join(
        f'<li class="cx-step" data-step="{s.number}"><b>Step {s.number}.</b> {esc(s.text)}</li>'
        for s in view.steps
    )
    return (
        '<section class="cx-chain"><h4>The model\'s reasoning</h4>'
        f'<ol class="cx-steps" id="cx-study-steps">{steps}</ol>{answer}</section>'
    )
