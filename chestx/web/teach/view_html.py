"""The educator's replay as HTML: steps revealed one at a time, corrections as diffs, the quiz.

Contract: pure functions of :class:`~services.overview.ReplayDetail`; every text is
escaped (diffs through :func:`chestx.web.diff.word_diff`). Verdict and answer-verdict labels come
from :mod:`vocab`.
"""

from __future__ import annotations

from collections.abc import Sequence

from chestx.web.diff import word_diff
from chestx.web.html import LETTERS, TASK_LABELS, answer_text, chip, esc, option_lines
from services.overview import ReplayDetail, ReplayStep
from vocab import AnswerVerdict, Verdict

# The keys of the replay (static/teach.js), shown on the page so a presenter finds them.
KEYS_HINT = (
    '<div class="cx-teach-keys" role="note" aria-label="Keyboard and presenter clicker">'
    "<span><kbd>→</kbd><kbd>Space</kbd><kbd>PageDown</kbd> next step (after the last: reveal)</span>"
    "<span><kbd>←</kbd><kbd>PageUp</kbd> previous step</span>"
    '<button type="button" class="cx-keys" data-cx-presenter aria-pressed="false" '
    'title="Large text for a room (P; Esc leaves)">Presenter mode<kbd>P</kbd></button></div>'
)
_ANSWER_VERDICT = {v.value: v.facts.said for v in AnswerVerdict}
_FACTS = {v.value: v.facts for v in Verdict}
# The chips of the quiz's verdict on the student's pick: the colours of accepting and rejecting.
_RIGHT, _WRONG = Verdict.accept.facts.css, Verdict.reject.facts.css


def _verdicts(step: ReplayStep) -> str:
    out = []
    for v in step.verdicts:
        facts = _FACTS.get(v.verdict)
        label, kind = (facts.done, facts.css) if facts else (v.verdict, "pending")
        line = f'<div class="cx-rv">{chip(label, kind)} <span class="cx-muted">by {esc(v.reviewer)}</span>'
        if facts is not None and facts.needs_text and v.corrected_text:
            line += f'<div class="cx-change">{word_diff(step.text, v.corrected_text)}</div>'
        if v.comment:
            line += f'<div class="cx-comment"><span class="cx-lbl">Why:</span> {esc(v.comment)}</div>'
        out.append(line + "</div>")
    if not out and step.kind == "model":
        out.append('<div class="cx-rv cx-muted">No reviewer judged this step.</div>')
    return "".join(out)


def replay_steps(detail: ReplayDetail, revealed: int) -> str:
    """The first ``revealed`` steps with every reviewer's verdict; the rest as hidden slots."""
    items = []
    for index, step in enumerate(detail.steps):
        if index >= revealed:
            items.append(
                f'<li class="cx-step cx-st-hidden"><span class="cx-num">{esc(step.number)}</span> …</li>'
            )
            continue
        if step.kind == "added":
            head = chip(f"Added by {step.author or 'a reviewer'}", "added")
            body = f'<div class="cx-text"><ins>{esc(step.text)}</ins></div>'
        else:
            head, body = "", f'<div class="cx-text">{esc(step.text)}</div>'
        items.append(
            f'<li class="cx-step cx-st-replay"><div class="cx-step-head">'
            f'<span class="cx-num">{esc(step.number)}</span>{head}</div>'
            f"{body}{_verdicts(step)}</li>"
        )
    shown = min(revealed, len(detail.steps))
    counter = f'<div class="cx-progress"><span>{shown} of {len(detail.steps)} steps shown</span></div>'
    return f'<div class="cx-chain cx-replay">{counter}<ol class="cx-steps">{"".join(items)}</ol></div>'


def replay_question(detail: ReplayDetail) -> str:
    return (
        f'<section class="cx-question"><div class="cx-kicker">{esc(TASK_LABELS.get(detail.task_type, ""))} · '
        f"verified case {detail.case_id}</div><h3>{esc(detail.question)}</h3>"
        f"{option_lines(detail.options)}</section>"
    )


def reveal(detail: ReplayDetail, picked: Sequence[str]) -> str:
    """The answer: the student's pick against the reviewers' verdict and the reference."""
    reviewed = [
        r.corrected_answer
        for r in detail.reviews
        if r.answer_verdict == AnswerVerdict.disagree and r.corrected_answer
    ]
    truth = detail.reference_answer or (reviewed[0] if reviewed else detail.model_answer)
    mine = ",".join(sorted(p for p in picked if p in LETTERS))
    opts = detail.options
    verdict = ""
    if mine and truth:
        verdict = chip("You were right", _RIGHT) if mine == truth else chip("Not quite", _WRONG)
    lines = [
        f"<p><span class='cx-lbl'>Your answer:</span> <b>{esc(answer_text(mine or None, opts))}</b> "
        f"{verdict}</p>",
        f"<p><span class='cx-lbl'>The model answered:</span> "
        f"{esc(answer_text(detail.model_answer, opts))}</p>",
    ]
    for r in detail.reviews:
        said = _ANSWER_VERDICT.get(r.answer_verdict, r.answer_verdict.replace("_", " "))
        if r.answer_verdict == AnswerVerdict.disagree:
            said += f" {answer_text(r.corrected_answer, detail.options)}"
        note = f' <span class="cx-muted">· “{esc(r.comment)}”</span>' if r.comment else ""
        lines.append(f"<p><span class='cx-lbl'>{esc(r.reviewer)}</span> {esc(said)}{note}</p>")
    lines.append(
        f"<p><span class='cx-lbl'>Verified answer:</span> <b>{esc(answer_text(truth, opts))}</b></p>"
    )
    return f'<section class="cx-reveal">{"".join(lines)}</section>'
