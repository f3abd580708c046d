"""The answer panel: agree or disagree with the model's answer, the right option(s), a note, Submit.

Contract: :func:`render_answer` is pure and escapes everything. It is plain HTML driven by
``static/answer.js`` (not Gradio inputs) on purpose: Gradio builds and keeps a new component
object for every ``gr.update`` of a component, per browser tab, so changing a radio group's
choices for each case would grow the server's memory with every case opened. A rendered panel
is a plain value. After a refused submit the panel comes back with what the reviewer chose.
"""

from __future__ import annotations

from collections.abc import Sequence

from chestx.web.html import LETTERS, answer_text, esc, notice


def render_answer(
    *,
    case_id: int | None,
    options: Sequence[str],
    model_answer: str | None,
    read_only: bool,
    verdict: str | None = None,
    chosen: Sequence[str] = (),
    comment: str = "",
    message: str = "",
    multiple: bool = False,
) -> str:
    """The panel for one case; ``verdict``/``chosen``/``comment`` pre-fill it."""
    if case_id is None:
        return ""
    off = " disabled" if read_only else ""
    verdicts = "".join(
        f'<label><input type="radio" name="cx-verdict" value="{value}"'
        f"{' checked' if verdict == value else ''}{off}> {label}</label>"
        for value, label in (("agree", "Agree with the model's answer"), ("disagree", "Disagree"))
    )
    kind = "checkbox" if multiple else "radio"
    opts = "".join(
        f'<label><input type="{kind}" name="cx-option" value="{letter}"'
        f"{' checked' if letter in chosen else ''}{off}> {letter}) {esc(text)}</label>"
        for letter, text in zip(LETTERS, options, strict=False)
    )
    options_block = (
        '<fieldset id="cx-options"><legend>If you disagree: the right option'
        f"{'(s)' if multiple else ''}</legend>{opts}</fieldset>"
        if opts
        else ""
    )
    return (
        f'<form class="cx-answer" data-case="{int(case_id)}" data-readonly="{int(read_only)}"'
        ' autocomplete="off">'
        f"{notice(message, 'error') if message else ''}"
        f'<p class="cx-answerlabel">The model answered: {esc(answer_text(model_answer, options))}</p>'
        f'<fieldset id="cx-answer-verdict"><legend>Final answer</legend>{verdicts}</fieldset>'
        f"{options_block}"
        '<label class="cx-note">Note on this review (optional)'
        f'<textarea id="cx-comment" rows="1" maxlength="4000"{off}>{esc(comment)}</textarea></label>'
        f'<button type="button" id="cx-submit" class="cx-primary"{off}>'
        "Submit review <kbd>Ctrl+Enter</kbd></button>"
        "</form>"
    )
