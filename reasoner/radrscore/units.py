"""The units RadRScore's learned judge scores, and the answer key it compares them with.

A chain's unit is a step (:class:`StepUnit`; a markdown heading such as "- **Lungs:**" joins the
step after it). The answer key (:func:`answer_key`) is the findings of each option, in the
reference answer or a distractor's, or for a question without options the items of the
free-text reference answer. Pure functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from reasoner.radrscore.answerkey import reference_letters
from reasoner.radrscore.extract import core_phrase, extract_findings, laterality
from reasoner.radrscore.score import answer_letters
from reasoner.radrscore.types import Finding, Sample, Status

_HEADING = re.compile(r"^[\s#>*\-\u2022\d.)(]*(?:\*\*)?[^.!?]{0,60}:\s*(?:\*\*)?\s*$")
_TAGGED = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class KeyItem:
    """A finding the answer key speaks about: in the reference answer, or a distractor's."""

    finding: Finding
    in_answer: bool


@dataclass(frozen=True)
class StepUnit:
    """A step of a chain as a unit: its text, its findings, its index among the chain's units."""

    text: str
    findings: tuple[Finding, ...]
    index: int
    source: tuple[int, ...]  # the chain's steps it is made of (a heading joins the step after it)


def step_units(steps: Sequence[str], findings: Sequence[Sequence[Finding]]) -> list[StepUnit]:
    """A chain's steps as units, a heading ("- **Lungs:**") merged into the step after it."""
    out: list[StepUnit] = []
    text, found, source = "", [], []
    for i, (step, fs) in enumerate(zip(steps, findings, strict=True)):
        text, found, source = f"{text} {step}".strip(), [*found, *fs], [*source, i]
        if (
            i + 1 < len(steps)
            and len(step) <= 80
            and step.rstrip("* ").endswith(":")
            and _HEADING.match(step)
        ):
            continue
        out.append(StepUnit(text, tuple(found), len(out), tuple(source)))
        text, found, source = "", [], []
    return out


def answer_key(sample: Sample) -> list[KeyItem]:
    """The findings the answer key names: each option's items (in the answer or not), else the
    items of a free-text reference answer (all in the answer)."""
    chosen = reference_letters(sample)
    out: list[KeyItem] = []
    if sample.options:
        if chosen:
            for letter, text in sample.options:
                for item in text.split(","):
                    for finding in extract_findings(item.strip())[:1]:
                        out.append(KeyItem(finding, letter in chosen))
        return out
    tagged = _TAGGED.search(sample.reference_answer)
    body = tagged.group(1) if tagged else sample.reference_answer
    if answer_letters(body) and len(body.strip()) <= 12:  # a bare letter: nothing to read
        return out
    for item in re.split(r",|;|\n", body):
        item = item.strip(" .")
        found = extract_findings(item)[:1] if item else []
        if not found and core_phrase(item):  # a finding the vocabulary lacks: keep it as stated
            found = [Finding(item, Status.PRESENT, core_phrase(item), laterality(item))]
        out.extend(KeyItem(f, True) for f in found)
    return out


def letters_match(sample: Sample) -> float:
    """Jaccard of the model's and the reference's option letters; NaN when either is unknown."""
    ref, pred = reference_letters(sample), answer_letters(sample.model_answer)
    if not ref or not pred:
        return math.nan
    return len(ref & pred) / len(ref | pred)
