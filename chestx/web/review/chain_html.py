"""The chain as the reviewer sees it: steps with their state, actions and progress, as HTML.

Contract: pure functions of read models (:class:`~services.screens.CaseDetail`)
to an HTML string, every text escaped. The markup carries only ids and fixed names in
``data-*`` attributes; ``static/chain.js`` reads them to send actions, and builds its editors with
DOM calls (never ``innerHTML``), so step text is never parsed as markup anywhere.

The verdicts' buttons, keys, chips and labels come from :class:`vocab.Verdict`; the browser reads
the same facts from the page's ``#cx-vocab`` (:mod:`vocab.browser`), never from a copy.

The root element carries ``data-ack`` (the request id of the action this render answers) and
``data-ack-ok``, so the client knows which of its pending actions the server has settled and
whether to keep the reviewer's draft (on an error, nothing typed is lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chestx.web.diff import word_diff
from chestx.web.html import answer_text, esc, notice
from services.screens import CaseDetail, ChainView, StepRow
from vocab import MAX_TEXT, Verdict
from vocab.keys import STEP_ACTIONS, SUBMIT

_FACTS = {v.value: v.facts for v in Verdict}
# A step's state on its chip: (label, CSS kind), by verdict value (None: not judged yet).
VERDICTS = {None: ("Not judged yet", "pending")} | {v: (f.done, f.css) for v, f in _FACTS.items()}
# The buttons of a model step: (data-act, label, key), the verdicts first.
BUTTONS = tuple((v.value, v.facts.label, v.facts.key) for v in Verdict) + tuple(
    (a.value, a.label, a.key) for a in STEP_ACTIONS
)


@dataclass(frozen=True)
class Ack:
    """The outcome of one client action, echoed back in the render."""

    request_id: str = ""
    ok: bool = True
    message: str = ""


def _actions(step: StepRow) -> str:
    if step.kind == "added":
        return (
            '<div class="cx-actions"><button type="button" data-act="remove" class="cx-btn-quiet">'
            "Remove this step</button></div>"
        )
    html = "".join(
        f'<button type="button" data-act="{esc(act)}" title="{esc(label)} ({esc(key)})"'
        f' aria-keyshortcuts="{esc(key)}">{esc(label)}<kbd>{esc(key)}</kbd></button>'
        for act, label, key in BUTTONS
    )
    return f'<div class="cx-actions">{html}</div>'


def risk_marker(step: StepRow) -> str:
    """The PRM's risk for a step as a quiet marker: a thin bar whose filled share is the risk, the
    figure only in its title (step hints are off unless the reviewer or an admin turned them on:
    a visible score anchors the reader)."""
    if step.risk is None:
        return ""
    risk = min(1.0, max(0.0, step.risk))
    title = f"Step hint: {step.risk_by or 'the PRM'} puts the risk that this step is wrong at {risk:.2f}"
    return (
        f'<span class="cx-risk" role="img" style="--cx-risk:{risk:.2f}" title="{esc(title)}"'
        f' aria-label="{esc(title)}"><i></i></span>'
    )


def _step(step: StepRow, *, read_only: bool) -> str:
    if step.kind == "added":
        label, kind = "Added by you", "added"
    else:
        label, kind = VERDICTS.get(step.verdict, VERDICTS[None])
    facts = _FACTS.get(step.verdict or "")
    body = f'<div class="cx-text">{esc(step.text)}</div>'
    if facts is not None and facts.needs_text and step.corrected_text:
        body = (
            f'<div class="cx-text">{esc(step.corrected_text)}</div>'
            f'<div class="cx-change"><span class="cx-lbl">Change to the model\'s text:</span> '
            f"{word_diff(step.text, step.corrected_text)}</div>"
            f'<div class="cx-original" hidden>{esc(step.text)}</div>'
        )
    if step.comment:
        what = "Reason" if facts is not None and facts.asks_reason else "Comment"
        body += f'<div class="cx-comment"><span class="cx-lbl">{what}:</span> {esc(step.comment)}</div>'
    verdict = esc(step.verdict or "")
    position = "" if step.position is None else step.position
    return (
        f'<li class="cx-step cx-st-{kind}" data-step-id="{step.id}" data-pos="{position}"'
        f' data-kind="{esc(step.kind)}" data-verdict="{verdict}" tabindex="-1">'
        f'<div class="cx-step-head"><span class="cx-num">{esc(step.number)}</span>'
        f'<span class="cx-chip cx-{kind}">{esc(label)}</span>{risk_marker(step)}</div>{body}'
        f"{'' if read_only else _actions(step)}</li>"
    )


def _progress(detail: CaseDetail | ChainView) -> str:
    total, done = detail.model_steps, detail.judged
    pct = 0 if total == 0 else round(100 * done / total)
    hint = (
        f"All steps judged: judge the answer below and submit ({SUBMIT})." if total and done == total else ""
    )
    return (
        f'<div class="cx-progress"><span>{done} of {total} steps judged</span>'
        f'<div class="cx-bar" role="progressbar" aria-valuenow="{pct}" aria-valuemin="0" aria-valuemax="100">'
        f'<i style="width:{pct}%"></i></div><span class="cx-hint">{esc(hint)}</span></div>'
    )


WAITING = "Waiting for a chain: no model has reasoned about this case yet."


def render_chain(
    detail: CaseDetail | ChainView | None,
    *,
    read_only: bool,
    ack: Ack = Ack(),
    show_answer: bool = False,
    user_id: int = 0,
    waiting: str = WAITING,
) -> str:
    """The reviewable chain of ``detail`` (or ``waiting`` when there is none).

    The model's answer is shown beside the answer verdict; ``show_answer`` repeats it here. The
    root carries the reviewer (drafts are kept per user) and the length limit of typed text.
    """
    ok, ro = int(ack.ok), int(read_only)
    attrs = (
        f'data-ack="{esc(ack.request_id)}" data-ack-ok="{ok}" data-readonly="{ro}"'
        f' data-user="{int(user_id)}" data-max-text="{MAX_TEXT}"'
    )
    banner = notice(ack.message, "info" if ack.ok else "error")
    if detail is None or detail.chain_id is None:
        return (
            f'<div class="cx-chain cx-waiting" {attrs}>{banner}<p class="cx-muted">{esc(waiting)}</p></div>'
        )

    steps = "".join(_step(s, read_only=read_only) for s in detail.steps)
    if not detail.steps:
        steps = '<li class="cx-muted">The model gave no reasoning steps (the chain is flagged).</li>'
    insert_first = (
        ""
        if read_only
        else '<button type="button" class="cx-btn-quiet cx-insert-first" data-act="insert-first">'
        "Add a step before step 1</button>"
    )
    answer = (
        ""
        if not show_answer
        else (
            f'<div class="cx-final"><span class="cx-lbl">Model\'s answer:</span> '
            f"<b>{esc(answer_text(detail.final_answer, detail.options))}</b></div>"
        )
    )
    return (
        f'<div class="cx-chain" data-chain-id="{detail.chain_id}" {attrs}>{banner}{_progress(detail)}'
        f'{insert_first}<ol class="cx-steps">{steps}</ol>{answer}</div>'
    )


def render_stream(
    steps: Sequence[str], *, partial: str = "", answer: str | None = None, note: str = ""
) -> str:
    """A chain being generated: finished steps, the step in progress, then the answer."""
    items = "".join(
        f'<li class="cx-step cx-st-pending"><div class="cx-step-head"><span class="cx-num">{i + 1}</span>'
        f'</div><div class="cx-text">{esc(text)}</div></li>'
        for i, text in enumerate(steps)
    )
    if partial:
        items += (
            f'<li class="cx-step cx-st-live"><div class="cx-step-head">'
            f'<span class="cx-num">{len(steps) + 1}</span><span class="cx-chip cx-live">Writing…</span></div>'
            f'<div class="cx-text">{esc(partial)}'
            '<span class="cx-caret"></span></div></li>'
        )
    final = (
        f'<div class="cx-final"><span class="cx-lbl">Answer:</span> <b>{esc(answer)}</b></div>'
        if answer
        else ""
    )
    return (
        f'<div class="cx-chain cx-streaming" data-readonly="1">{notice(note, "info")}'
        f'<ol class="cx-steps">{items}</ol>{final}</div>'
    )
