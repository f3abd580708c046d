"""Verdicts: a reviewer's judgement of one model step, and of a chain's final answer.

Contract: :class:`Verdict` and :class:`AnswerVerdict` are the stored values (the models' CHECK
constraints are built from them); each member's ``facts`` say what the rest of the code needs to
show it and to act on it. Nothing else names the kinds: the review page's buttons and keys, the
keyboard help, the browser's copy (rendered into the page), the dashboards' counts and colours,
the teach replay and the training rows iterate these enums or read these facts. Adding a kind is
a member and its facts here, a migration that widens the CHECK constraint, and that migration's
test (docs/ARCHITECTURE.md, "How to add a verdict kind").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class StepEffect(enum.StrEnum):
    """What a verdict does to its step in the verified chain (the training data)."""

    keep = "keep"  # the model's text stays; the step's process label is true
    replace = "replace"  # the reviewer's corrected text (required) takes its place
    drop = "drop"  # the step is left out; its process label is false


@dataclass(frozen=True, slots=True)
class VerdictFacts:
    label: str  # the action, on its button: "Accept"
    done: str  # the state, on the step's chip: "Accepted"
    key: str  # its key on the review page (unique among the page's keys: tests/vocab)
    css: str  # the CSS kind of its chip and step: .cx-chip.cx-<css>, .cx-st-<css> in app.css
    color: str  # its colour in the dashboards' charts
    help: str  # its line in the keyboard help
    effect: StepEffect
    # The label of the editor its key opens: the corrected text where the effect is ``replace``,
    # else an optional reason asked after the verdict is sent; "" opens none (on to the next step).
    prompt: str = ""

    @property
    def needs_text(self) -> bool:
        """Whether the verdict carries a corrected text (and only it may)."""
        return self.effect is StepEffect.replace

    @property
    def asks_reason(self) -> bool:
        """Whether the review page asks for an optional reason once the verdict is sent."""
        return bool(self.prompt) and not self.needs_text


class Verdict(enum.StrEnum):
    """A reviewer's judgement of one model step."""

    accept = "accept"
    correct = "correct"
    reject = "reject"

    @property
    def facts(self) -> VerdictFacts:
        return VERDICT_FACTS[self]


VERDICT_FACTS: Mapping[Verdict, VerdictFacts] = {
    Verdict.accept: VerdictFacts(
        label="Accept",
        done="Accepted",
        key="a",
        css="accept",
        color="#2e7d32",
        help="Accept the step",
        effect=StepEffect.keep,
    ),
    Verdict.correct: VerdictFacts(
        label="Correct",
        done="Corrected",
        key="c",
        css="correct",
        color="#f9a825",
        help="Correct the step (edit inline; Enter saves)",
        effect=StepEffect.replace,
        prompt="Corrected text (Enter saves, Shift+Enter new line, Esc cancels)",
    ),
    Verdict.reject: VerdictFacts(
        label="Reject",
        done="Rejected",
        key="r",
        css="reject",
        color="#c62828",
        help="Reject the step (then an optional reason)",
        effect=StepEffect.drop,
        prompt="Reason for rejecting (optional; Enter saves, Esc skips)",
    ),
}


@dataclass(frozen=True, slots=True)
class AnswerFacts:
    label: str  # its choice in the answer panel
    key: str  # its key on the review page
    outcome: str  # a review with this verdict, counted on the dashboards: "12 agreed"
    said: str  # what the reviewer did, in the teach replay: "r1 agreed with the model"
    help: str  # its part of the keyboard help's answer line


class AnswerVerdict(enum.StrEnum):
    """How a submitted review judged the chain's final answer (the review's outcome)."""

    agree = "agree"
    disagree = "disagree"  # with the right answer in ``corrected_answer``
    # The chain cannot be verified (no steps, no answer, malformed, or nonsense): the reason is
    # the review's comment. It does not count towards the case's reviews; the case waits for a
    # fresh chain, and the training exports leave the chain out.
    unusable = "unusable"

    @property
    def facts(self) -> AnswerFacts:
        return ANSWER_FACTS[self]


ANSWER_FACTS: Mapping[AnswerVerdict, AnswerFacts] = {
    AnswerVerdict.agree: AnswerFacts(
        label="Agree with the model's answer",
        key="y",
        outcome="agreed",
        said="agreed with the model",
        help="agree",
    ),
    AnswerVerdict.disagree: AnswerFacts(
        label="Disagree: pick the right option",
        key="n",
        outcome="disagreed",
        said="disagreed: the answer is",
        help="disagree (then the options)",
    ),
    AnswerVerdict.unusable: AnswerFacts(
        label="The chain is unusable (say why in the note)",
        key="u",
        outcome="chain unusable",
        said="marked the chain unusable",
        help="chain unusable",
    ),
}


def _complete(kinds: type[enum.Enum], facts: Mapping) -> None:
    # A kind without its facts would fail far from here (a KeyError in a page): fail at import.
    missing = [kind.value for kind in kinds if kind not in facts]
    if missing:
        raise TypeError(f"{kinds.__name__} has no facts for {', '.join(missing)}")


_complete(Verdict, VERDICT_FACTS)
_complete(AnswerVerdict, ANSWER_FACTS)
