"""Step boundaries in reasoning text, decided incrementally.

Contract: a :class:`Segmenter` receives the reasoning text in pieces (``extend``) and reports
each step as soon as its end is certain, as a ``(start, end)`` span into the text it was given;
``close()`` declares the text complete and flushes. A step is always an exact slice of the text
and the text between steps is whitespace only, so the steps joined reproduce the reasoning
modulo whitespace. Whole text or any chunking of it gives the same spans.

Rules, in order:

- Mode. Reasoning that starts with a list marker ("1.", "1)", "(1)", "Step 1:", "-", "*", "•")
  is a list: steps end at line breaks and before inline markers ("... clear. 2. Heart ...").
  Anything else is prose: steps also end at sentence boundaries.
- Sentence boundary: ``.``, ``!`` or ``?`` (closing quotes/brackets allowed), whitespace, then an
  upper-case letter, a digit, an opening quote/bracket or a bullet. Not after an abbreviation
  ("e.g.", "i.e.", "approx.", "Dr.", "vs.", "etc."...), nor after the number of a list marker
  ("1." at a step start or after a colon). "7.5 mm" has no whitespace after its period, so it
  never splits.
- Line break: a boundary unless the next line starts in lower case (a wrapped sentence).
- Short fragments merge forward, never backward: a fragment without a word of three letters
  ("1.", "No.", "A)"), a lead-in ending in ":" ("Step 2:", "Findings:", "In conclusion:") or a
  short heading line without final punctuation ("Findings", but not a "- heart normal" item)
  joins the step after it. Forward merging keeps
  streaming honest (text already shown as step *i* stays in step *i*). A leftover at the very
  end (say "In conclusion" of a truncated output) stays a step of its own: merging it backward
  would change a step already delivered, and the reviewer should see the cut-off text as such.
"""

from __future__ import annotations

import itertools
import re

# Each at most 6 letters long (see _protected_period's shortcut).
ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "eg",
        "ie",
        "approx",
        "appr",
        "dr",
        "drs",
        "vs",
        "etc",
        "cf",
        "fig",
        "figs",
        "mr",
        "mrs",
        "ms",
        "st",
        "al",
        "incl",
        "resp",
        "ca",
        "est",
        "prof",
        "jr",
        "sr",
        "vol",
        "pt",
        "pts",
        "ref",
        "viz",
    ]
)
# A sentence terminator (closing quotes/brackets allowed) and the whitespace after it (group
# "ws"), or a line break and the whitespace after it. The lookahead keeps "7.5" and "e.g" intact.
_CANDIDATE = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?P<ws>\s+)|(?P<nl>\n\s*)")
_CANDIDATE_START = re.compile(r"[.!?\n]")  # a cheap scan first: the full pattern is slow to search
_WS = re.compile(r"\s*")


def _find_candidate(text: str, pos: int) -> re.Match[str] | None:
    """The first boundary candidate at or after ``pos`` (``_CANDIDATE.search``, faster)."""
    while (start := _CANDIDATE_START.search(text, pos)) is not None:
        m = _CANDIDATE.match(text, start.start())
        if m is not None:
            return m
        pos = start.start() + 1
    return None


_WORD_BEFORE = re.compile(r"((?:[A-Za-z]\.)*[A-Za-z]+)$")
# At most 19 characters long and never spans a line break before its final whitespace, so
# _MARKER_LOOKAHEAD characters (or a line break) always decide whether a marker starts here.
_MARKER = re.compile(
    r"(?:#{1,4} )?(?:\*\*)?(?:\d{1,2}[.)]|\(\d{1,2}\)|[-*\u2022+\u2013]|step ?\d{1,2} ?[:.)-]?)"
    r"(?:\*\*)?\s",
    re.IGNORECASE,
)
_MARKER_LOOKAHEAD = 24
_TERMINATOR_CHARS = ".!?\"')]\u201d\u2019"
_WORDS = re.compile(r"[A-Za-z]{2,}")
_LONG_WORD = re.compile(r"[A-Za-z]{3,}")
_SENTENCE_START = set("\"'\u201c\u2018([*\u2022-#")


def is_short(fragment: str, *, at_line_end: bool) -> bool:
    """True for fragments that join the next step: markers, lead-ins, bare headings."""
    if _LONG_WORD.search(fragment) is None:  # "1.", "No.", "A)": nothing that reads as a step
        return True
    tail = fragment.rstrip()
    if tail.endswith(":"):
        return _count_words(fragment) <= 5
    if not at_line_end or tail.endswith((".", "!", "?")):
        return False  # the common case: a sentence; no need to count its words
    return _count_words(fragment) <= 3 and not _MARKER.match(fragment.lstrip() + " ")


def _count_words(fragment: str) -> int:
    return sum(1 for _ in itertools.islice(_WORDS.finditer(fragment), 6))  # 6 decides every rule


class Segmenter:
    """Incremental sentence/line/list segmentation of one reasoning text."""

    __slots__ = ("text", "spans", "_mode", "_seg", "_search", "_closed")

    def __init__(self) -> None:
        self.text = ""
        self.spans: list[tuple[int, int]] = []
        self._mode: str | None = None  # "list" | "prose", decided on the first characters
        self._seg = 0  # start of the step being formed
        self._search = 0  # where to look for the next candidate boundary
        self._closed = False

    @property
    def pending_start(self) -> int:
        """Start of the step being formed (after its leading whitespace)."""
        return self._skip_ws(self._seg)

    def extend(self, piece: str) -> list[tuple[int, int]]:
        """Add text; return the spans of the steps that became certain."""
        self.text += piece
        return self._scan()

    def close(self) -> list[tuple[int, int]]:
        """The text is complete: return the remaining spans (the last step included)."""
        self._closed = True
        spans = self._scan()
        start, end = self._skip_ws(self._seg), len(self.text.rstrip())
        if end > start:
            spans.append((start, end))
            self.spans.append((start, end))
        self._seg = len(self.text)
        return spans

    def safe_end(self) -> int:
        """Text before this offset (trailing whitespace excluded) certainly belongs to the step
        being formed or an earlier one."""
        if self._mode is None:
            return self._seg
        m = _find_candidate(self.text, max(self._search, self._seg))
        end = len(self.text) if m is None else m.start("ws" if m.group("ws") else "nl")
        return self._rstrip_at(end)

    # -- internals -------------------------------------------------------------------------

    def _skip_ws(self, i: int) -> int:
        return _WS.match(self.text, i).end()

    def _rstrip_at(self, end: int) -> int:
        text = self.text
        while end > self._seg and text[end - 1].isspace():
            end -= 1
        return end

    def _decide_mode(self) -> bool:
        start = self._skip_ws(0)
        head = self.text[start : start + _MARKER_LOOKAHEAD]
        if len(head) < _MARKER_LOOKAHEAD and not (self._closed or "\n" in head):
            return False
        self._mode = "list" if _MARKER.match(self.text, start) else "prose"
        return True

    def _scan(self) -> list[tuple[int, int]]:
        if self._mode is None and not self._decide_mode():
            return []
        found: list[tuple[int, int]] = []
        text = self.text
        while True:
            m = _find_candidate(text, self._search)
            if m is None:
                # Resume at a trailing "." or '."' run: whitespace may still come after it.
                tail = len(text)
                while tail > self._search and text[tail - 1] in _TERMINATOR_CHARS:
                    tail -= 1
                self._search = max(self._search, tail)
                return found
            verdict = self._judge(m)
            if verdict is None:  # needs more text
                self._search = m.start()
                return found
            self._search = m.end()
            if not verdict:
                continue
            ws = m.group("ws") or m.group("nl")
            cut = m.start("ws") if m.group("ws") else m.start("nl")
            if not is_short(text[self._seg : cut], at_line_end="\n" in ws):
                start, end = self._skip_ws(self._seg), self._rstrip_at(cut)
                if end > start:
                    found.append((start, end))
                    self.spans.append((start, end))
                self._seg = m.end()

    def _judge(self, m: re.Match[str]) -> bool | None:
        """Is candidate ``m`` a step boundary? None when the text so far cannot tell."""
        text = self.text
        nxt = m.end()
        if nxt >= len(text):
            return None if not self._closed else False
        if m.group("nl") or "\n" in m.group("ws"):
            return not text[nxt].islower()
        if self._mode == "list":
            marker = bool(_MARKER.match(text, nxt))
            head = text[nxt : nxt + _MARKER_LOOKAHEAD]
            if not marker and len(head) < _MARKER_LOOKAHEAD and not (self._closed or "\n" in head):
                return None
            return marker
        c = text[nxt]
        if not (c.isupper() or c.isdigit() or c in _SENTENCE_START):
            return False
        return not self._protected_period(m.start(), m.start("ws"))

    def _protected_period(self, start: int, end: int) -> bool:
        """A period that ends an abbreviation or a list marker's number, not a sentence."""
        text = self.text
        if end - start != 1 or text[start] != "." or start == 0:
            return False
        before = text[start - 1]
        if before.isalpha():
            if text[start - 7 : start].isalpha():  # 7+ letters: longer than any abbreviation
                return False
            word = _WORD_BEFORE.search(text, max(self._seg, start - 9), start)
            return bool(word) and word.group(1).lower() in ABBREVIATIONS
        if not before.isdigit():
            return False
        # "1." is a list marker's number when it starts the step or follows a colon/line break.
        num = start - 1
        while num > self._seg and text[num - 1].isdigit():
            num -= 1
        if start - num > 2:
            return False
        prev = num
        while prev > self._seg and text[prev - 1].isspace():
            prev -= 1
        return prev <= self._seg or text[prev - 1] == ":" or "\n" in text[prev:num]
