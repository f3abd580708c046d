"""The answer panel: agree or disagree with the model's answer (or judge the chain unusable), a
note, Submit.

Contract: :func:`render_answer` is pure and escapes everything. It is plain HTML driven by
``static/answer.js`` (not Gradio inputs) on purpose: Gradio builds and keeps a new component
object for every ``gr.update`` of a component, per browser tab, so changing a radio group's
choices for each case would grow the server's memory with every case opened. A rendered panel
is a plain value.

The form carries the case and chain it was drawn for (``data-key``); answer.js resets it whenever
that key changes (Gradio updates HTML in place, keeping what the browser had ticked) and sends,
with the verdict, the key it was set for, so the server refuses a verdict carried over from
another case. After a refused submit the panel comes back with what the reviewer chose.
"""

from __future__ import annotations

from collections.abc import Sequence

from chestx.web.html import LETTERS, answer_text, esc, notice
from vocab import MAX_TEXT, AnswerVerdict
from vocab.keys import SUBMIT

# (value, label, key): the answer verdicts the panel offers, in the vocabulary's order.
VERDICT_CHOICES = tuple((v.value, v.facts.label, v.facts.key) for v in AnswerVerdict)


def render_answer(
    *,
    case_id: int | None,
    chain_id: int | None,
    user_id: int | None,
    options: Sequence[str],
    model_answer: str | None,
    read_only: bool,
    unverifiable: str | None = None,
    verdict: str | None = None,
    chosen: Sequence[str] = (),
    comment: str = "",
    message: str = "",
    multiple: bool = False,
) -> str:
    """The panel for one case's chain; ``verdict``/``chosen``/``comment`` pre-fill it."""
    if case_id is None or chain_id is None:
        return ""
    off = " disabled" if read_only else ""
    verdicts = "".join(
        f'<label><input type="radio" name="cx-verdict" value="{esc(value)}" aria-keyshortcuts="{esc(key)}"'
        f"{' checked' if verdict == value else ''}"
        f"{' disabled' if read_only or (unverifiable and value != AnswerVerdict.unusable) else ''}> "
        f"{esc(label)} <kbd>{esc(key)}</kbd></label>"
        for value, label, key in VERDICT_CHOICES
    )
    why = (
        f'<p class="cx-unverifiable">This chain cannot be verified: {esc(unverifiable)}. '
        "Mark it unusable and say why in the note; the case then waits for a fresh chain.</p>"
        if unverifiable
        else ""
    )
    kind = "checkbox" if multiple else "radio"
    opts = "".join(
        f'<label><input type="{kind}" name="cx-option" value="{letter}"'
        f"{' checked' if letter in chosen else ''}{off if not unverifiable else ' disabled'}>"
        f" {letter}) {esc(text)}</label>"
        for letter, text in zip(LETTERS, options, strict=False)
    )
    options_block = (
        '<fieldset id="cx-options"><legend>If you disagree: the right option'
        f"{'(s)' if multiple else ''}</legend>{opts}</fieldset>"
        if opts
        else ""
    )
    return (
        f'<form class="cx-answer" data-case="{int(case_id)}" data-chain="{int(chain_id)}"'
        f' data-key="{int(case_id)}:{int(chain_id)}" data-user="{int(user_id or 0)}"'
        f' data-readonly="{int(read_only)}" autocomplete="off">'
        f"{notice(message, 'error') if message else ''}"
        f'<p class="cx-answerlabel">The model answered: {esc(answer_text(model_answer, options))}</p>'
        f"{why}"
        f'<fieldset id="cx-answer-verdict"><legend>Final answer</legend>{verdicts}</fieldset>'
        f"{options_block}"
        '<label class="cx-note">Note on this review (optional; the reason when the chain is unusable)'
        f'<textarea id="cx-comment" rows="1" maxlength="{MAX_TEXT}"{off}>{esc(comment)}</textarea>'
        f'<span class="cx-counter" aria-live="polite"></span></label>'
        f'<button type="button" id="cx-submit" class="cx-primary"{off}>'
        f"Submit review <kbd>{SUBMIT}</kbd></button>"
        "</form>"
    )
