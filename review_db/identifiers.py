"""Identifiers a person might type into free text, found before the text is stored.

The database holds no PHI (images are de-identified and pseudonymised on import). Reviewers'
free text is the one way in: a corrected step, a comment, an added step or an open answer is
typed by a person and later exported with the datasets. :func:`find_identifiers` looks for what
HIPAA's Safe Harbor list names and a radiologist could plausibly type: full dates (a year alone
is allowed), times of day next to a date, phone and fax numbers, e-mail and web addresses, long
numbers (record, accession, social security numbers), labelled identifiers ("MRN: ...") and names
after a title ("Dr. Smith", "Mrs Jones"). The service refuses such text with a message that names
the kind and position of what was found, never the text itself (messages can reach logs). Report
texts, which come from elsewhere with the cases, are stored with what it finds replaced by
``[REDACTED]`` (:func:`redact`).

The patterns are tuned not to fire on radiology language: measurements ("7.5 mm", "2.3 x 1.1
cm"), levels ("T7-T8", "C5-6"), ratios ("0.6", "3/4"), years ("since 2019") and percentages
pass. A pattern list cannot find every name; it finds the common slips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("a date", r"\b(?:19|20)\d\d[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])\b"),
        ("a date", r"\b(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:19|20)?\d\d\b"),
        ("a date", rf"\b{_MONTH}\.? (?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\b"),
        ("a date", rf"\b(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)? (?:of )?{_MONTH}\b"),
        ("a social security number", r"\b\d{3}-\d{2}-\d{4}\b"),
        ("a phone number", r"(?:\(\d{3}\)\s?|\b\d{3}[-.\s])\d{3}[-.]\d{4}\b"),
        ("an e-mail address", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
        ("a web address", r"\b(?:https?://|www\.)\S+"),
        ("a long number (a record or accession number?)", r"\b\d{6,}\b"),
        (
            "a labelled identifier",
            r"(?i)\b(?:MRN|medical record(?: number)?|accession(?: number)?|patient id|DOB|date of birth|SSN)"
            r"\b\s*(?:no\.?|number|#)?\s*[:#]?\s*\w",
        ),
        ("a name", r"\b(?:Dr|Mr|Mrs|Ms|Miss|Prof)\.? +[A-Z](?:[a-z]+|'[A-Z]?[a-z]+)(?:[-'][A-Z]?[a-z]+)*\b"),
    )
)


@dataclass(frozen=True, slots=True)
class Identifier:
    """Something in a text that looks like it identifies a person: its kind and where it is."""

    kind: str
    start: int
    end: int


def find_identifiers(text: str) -> list[Identifier]:
    """What in ``text`` looks like an identifier, in order of position (overlaps kept once)."""
    found = sorted(
        (Identifier(kind, m.start(), m.end()) for kind, pattern in _PATTERNS for m in pattern.finditer(text)),
        key=lambda x: (x.start, -x.end),
    )
    out: list[Identifier] = []
    for item in found:
        if not out or item.start >= out[-1].end:
            out.append(item)
    return out


def describe(found: list[Identifier]) -> str:
    """'a date at character 13 and a name at character 40' (positions count from 1)."""
    parts = [f"{x.kind} at character {x.start + 1}" for x in found[:3]]
    more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
    return (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]) + more


REDACTED = "[REDACTED]"


def redact(text: str) -> tuple[str, int]:
    """``text`` with every identifier :func:`find_identifiers` finds replaced by ``[REDACTED]``,
    and how many were replaced (for report texts, which come from elsewhere and are kept)."""
    found = find_identifiers(text)
    if not found:
        return text, 0
    pieces, last = [], 0
    for item in found:
        pieces += [text[last : item.start], REDACTED]
        last = item.end
    return "".join(pieces) + text[last:], len(found)
