"""The review page's keyboard: step actions besides the verdicts, and the keyboard help's rows.

Contract: plain data. The verdicts' and answer verdicts' keys are their own facts
(:mod:`vocab.verdicts`); this module adds the keys that are not a vocabulary of their own (moving
between steps, commenting, adding a step, submitting, the image viewer's keys) and gathers every
key into :func:`help_rows`, the list the keyboard help overlay shows. The server renders it into
the page (:mod:`vocab.browser`); no script keeps a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from vocab.verdicts import AnswerVerdict, Verdict

NEXT_STEP = "j"
PREVIOUS_STEP = "k"
SUBMIT = "Ctrl+Enter"


@dataclass(frozen=True, slots=True)
class StepAction:
    """An action on a step that is not a verdict: its button, key, help line and editor label."""

    value: str  # the button's data-act and the action's name in the browser
    label: str
    key: str
    help: str
    prompt: str  # the label of the editor it opens


STEP_ACTIONS = (
    StepAction("comment", "Comment", "m", "Comment on the step", "Comment (Enter saves, Esc cancels)"),
    StepAction(
        "insert",
        "Add step after",
        "i",
        "Add a missing step after this one",
        "New step (Enter saves, Shift+Enter new line, Esc cancels)",
    ),
)

# The image viewer's keys (static/viewer.js handles them), as the help shows them.
VIEWER_KEYS = (
    ("1 – 5", "Window presets: default, lung, mediastinum, bone, full"),
    ("+ / − / 0", "Zoom in / out / fit"),
    ("Shift+drag", "Window / level on the image"),
)


def help_rows() -> tuple[tuple[str, str], ...]:
    """(keys, what they do) for the keyboard help, in the order it lists them."""
    answers = tuple(AnswerVerdict)
    return (
        (f"{NEXT_STEP} / {PREVIOUS_STEP}", "Next / previous step"),
        *((v.facts.key, v.facts.help) for v in Verdict),
        *((a.key, a.help) for a in STEP_ACTIONS),
        (
            " / ".join(a.facts.key for a in answers),
            "Final answer: " + " / ".join(a.facts.help for a in answers),
        ),
        (SUBMIT, "Submit the review"),
        *VIEWER_KEYS,
        ("?", "Show or hide this help"),
        ("Esc", "Close an editor or this help"),
    )


def page_keys() -> tuple[str, ...]:
    """Every single key the review page binds (each must be bound once)."""
    return (
        NEXT_STEP,
        PREVIOUS_STEP,
        *(v.facts.key for v in Verdict),
        *(a.key for a in STEP_ACTIONS),
        *(a.facts.key for a in AnswerVerdict),
        "?",
    )
