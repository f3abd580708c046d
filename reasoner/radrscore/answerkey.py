"""What a multiple-choice item's answer key says about its findings.

The questions of ChestX-Reasoner's evaluation sets are built from the study's report: the
correct option lists findings of that report, the other options (distractors) list findings of
other reports. So the answer key is a structured summary of the report: a finding named by the
correct option is present, a finding named only by a distractor is absent (the report's silence
means normal, the paper's own precision rule). Pure functions of a :class:`Sample`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reasoner.radrscore.extract import extract_findings, is_conclusion
from reasoner.radrscore.score import answer_letters
from reasoner.radrscore.types import Finding, Sample

# "option B", "answer is: B", "A) ..." - the letter itself upper-case only ("is a" is no answer).
_CHOSEN = re.compile(r"\b(?i:option|answer(?:\s+is)?|choice)\s*:?\s*\(?([A-H])\b|(?:^|[\s:])\(?([A-H])\)")


@dataclass(frozen=True)
class OptionFinding:
    """A finding named by an option, and whether the answer key says it is present."""

    letter: str
    finding: Finding
    present: bool


def reference_letters(sample: Sample) -> frozenset[str]:
    """The option letters of the reference answer, or empty when there is none.

    The item's own reference answer wins; else the letters the reference chain concludes with
    ("the final answer is B").
    """
    letters = {letter for letter, _ in sample.options}
    given = (
        answer_letters(sample.reference_answer) & letters
        if letters
        else answer_letters(sample.reference_answer)
    )
    if given:
        return frozenset(given)
    for step in reversed(sample.reference_steps):
        if not is_conclusion(step):
            continue
        found = {m.group(1) or m.group(2) for m in _CHOSEN.finditer(step)} & letters
        if found:
            return frozenset(found)
    return frozenset()


def option_findings(sample: Sample) -> list[OptionFinding]:
    """The findings each option names (one per comma-separated item), with the key's verdict.

    Empty when the question has no options or the reference answer is unknown. An item named
    both by the correct option and by a distractor counts as present.
    """
    chosen = reference_letters(sample)
    if not chosen:
        return []
    out = []
    for letter, text in sample.options:
        for item in text.split(","):
            for finding in extract_findings(item.strip())[:1]:
                out.append(OptionFinding(letter, finding, letter in chosen))
    return out


def key_findings(sample: Sample, reference: list[Finding]) -> list[Finding]:
    """The reference findings the answer rests on.

    The findings of the option the reference concludes with when it names one (read as stated,
    present unless negated); else the findings of the reference's concluding steps; else its
    positive findings; else all of them.
    """
    chosen = reference_letters(sample)
    key = [
        f
        for letter, text in sample.options
        if letter in chosen
        for item in text.split(",")
        for f in extract_findings(item)
    ]
    if not key:
        concluding = {i for i, step in enumerate(sample.reference_steps) if is_conclusion(step)}
        key = [f for f in reference if f.step in concluding]
    return key or [f for f in reference if f.status.positive] or list(reference)
