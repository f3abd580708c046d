"""Final answers: from the text inside ``<answer>`` to a normal form.

Contract: pure functions, no I/O. The normal form of a choice answer is the option letters,
upper case, sorted, without duplicates, joined by "," ("C", "A,C"). Options are given as their
texts in order; their letters are A, B, C, ... (``option_letters``). A free-text answer given
where there are no options keeps its text, whitespace collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# "A", "(A)", "A)", "A.", "Option A", "Answers: A and C", "A, C", "A;C", "A/C", "A & C".
_LETTER_LIST = re.compile(
    r"^\s*(?:(?:the\s+)?(?:final\s+)?(?:answers?|options?|choices?)\s*(?:is|are|:)?\s*)?"
    r"(\(?[A-Z]\)?(?:\s*(?:,|;|/|&|\+|\band\b|\s)\s*(?:options?\s+)?\(?[A-Z]\)?)*)\s*\.?\s*$",
    re.IGNORECASE,
)
_LETTER = re.compile(r"[A-Za-z]")
# "A) mild hypoinflation, C) nodule": a letter followed by its option text.
_LABELLED = re.compile(r"(?:^|[,;\n]\s*|\band\s+)\(?([A-Z])[).:]\s+\S")
# "the answer is C" / "Answer: (B)" at the end of a reasoning that lacks <answer> tags.
_INFERRED = re.compile(
    r"\b(?:final\s+answer|answer|correct\s+option|option)\s*(?:is|:|would\s+be|=)\s*"
    r"(?:option\s+)?\(?([A-Z])\)?(?![A-Za-z])",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[^0-9a-z]+")


def option_letters(options: Sequence[str] | None) -> tuple[str, ...]:
    """Letters of ``options`` in order: ("A", "B", ...); empty when there are none."""
    return tuple(chr(ord("A") + i) for i in range(len(options or ())))


def normalize_letters(letters: Sequence[str]) -> str:
    """Upper-case, deduplicate and sort option letters into the normal form "A,C"."""
    return ",".join(sorted({letter.strip().upper() for letter in letters if letter.strip()}))


@dataclass(frozen=True, slots=True)
class AnswerParse:
    """How an answer text was read: ``answer`` in normal form (or None) and flags."""

    answer: str | None
    flags: frozenset[str]


def _key(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def _letters_by_option_text(text: str, options: Sequence[str]) -> list[str]:
    """Letters whose option text the answer repeats (whole, or as a list of several)."""
    keys = {_key(opt): chr(ord("A") + i) for i, opt in enumerate(options)}
    whole = keys.get(_key(text))
    if whole:
        return [whole]
    found = []
    for part in re.split(r";|\band\b|\n", text):
        letter = keys.get(_key(part))
        if letter is None:
            return []
        found.append(letter)
    return found


def parse_answer(text: str, *, options: Sequence[str] | None = None) -> AnswerParse:
    """Read an answer text: option letters, option texts, or free text.

    Returns the normal form and flags among ``multiple_answers`` (several letters),
    ``answer_outside_options`` (a letter past the last option) and ``answer_unparsed``
    (options were given but the text names none of them).
    """
    stripped = text.strip()
    flags: set[str] = set()
    letters: list[str] = []
    m = _LETTER_LIST.match(stripped)
    if m and (len(stripped) > 1 or stripped.isupper() or options):
        letters = [c.upper() for c in _LETTER.findall(re.sub(r"(?i)\b(and|options?)\b", " ", m.group(1)))]
    if not letters:
        letters = _LABELLED.findall(stripped)
    if not letters and options:
        letters = _letters_by_option_text(stripped, options)
    if not letters:
        if options:
            return AnswerParse(None, frozenset({"answer_unparsed"}) if stripped else frozenset())
        return AnswerParse(" ".join(stripped.split()) or None, frozenset())
    answer = normalize_letters(letters)
    if "," in answer:
        flags.add("multiple_answers")
    valid = option_letters(options)
    if valid and any(letter not in valid for letter in answer.split(",")):
        flags.add("answer_outside_options")
    return AnswerParse(answer, frozenset(flags))


def infer_answer(reasoning: str, *, options: Sequence[str] | None = None) -> str | None:
    """The letter of a closing "the answer is X" in ``reasoning`` (its last 300 characters)."""
    valid = option_letters(options) or tuple("ABCDEFGHIJ")
    hits = [m.group(1).upper() for m in _INFERRED.finditer(reasoning[-300:])]
    hits = [h for h in hits if h in valid]
    return hits[-1] if hits else None
