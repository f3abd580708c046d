"""The step parser: raw model output -> ordered steps, final answer and flags.

Contract: pure, never raises on any string, no I/O. :func:`parse_output` is the batch form;
:class:`StepStream` is the same parser fed text deltas, reporting each step as soon as its end is
certain (``parse_output(raw)`` is exactly ``StepStream`` fed ``raw`` in one piece, and any
chunking of ``raw`` gives the same result).

What it reads (ChestX-Reasoner's format, and what models get wrong about it):

- Chat-template leftovers before the output ("system\\n...\\nuser\\n...\\nassistant\\n", or
  ``<|im_start|>`` turns, as in decoded ``pred`` fields) are stripped up to the first
  ``assistant`` line. Special tokens such as ``<|im_end|>`` are dropped anywhere.
- The reasoning is the text before ``</think>`` (or before ``<answer>`` when ``</think>`` is
  missing), with ``<think>`` tags removed. It is split into steps by :mod:`reasoner.segmenter`:
  sentences of a one-paragraph think block, numbered/bulleted items, lines.
- The answer is the content of the last ``<answer>...</answer>``, read by
  :func:`reasoner.answers.parse_answer` into the normal form "C" / "A,C" (letters upper case,
  sorted, comma-joined). Without tags, a closing "the answer is C" is used and flagged.

Invariant (property-tested): ``reasoning[a:b] == step`` for each step and its span, and the text
of ``reasoning`` outside the spans is whitespace; so the steps joined reproduce the reasoning
modulo whitespace, and splitting never drops or invents text.

Flags (``ParsedChain.flags``):
``empty`` no output text; ``chat_template_stripped``; ``no_think_tag``; ``text_before_think``;
``unclosed_think``; ``no_reasoning``; ``no_answer``; ``unclosed_answer``; ``answer_inferred``;
``answer_unparsed``; ``answer_outside_options``; ``multiple_answers`` (several letters);
``multiple_answer_tags`` (several ``<answer>`` blocks, the last wins); ``extra_text`` (text
outside the tags after the reasoning); ``truncated`` (the output stops inside a block, or
untagged text stops mid-sentence); ``malformed`` (the output is not
``<think>...</think><answer>...</answer>`` with a readable answer: see ``MALFORMED_IF``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reasoner.answers import infer_answer, parse_answer
from reasoner.segmenter import Segmenter

MALFORMED_IF = frozenset(
    {
        "empty",
        "no_think_tag",
        "unclosed_think",
        "no_reasoning",
        "no_answer",
        "unclosed_answer",
        "multiple_answer_tags",
        "answer_unparsed",
    }
)
_TAG = re.compile(r"<\s{0,3}(/?)\s{0,3}(think|answer)\s{0,3}>|<\|[^|<>\s]{1,40}\|>", re.IGNORECASE)
_TAG_HOLD = 48  # a "<" closer than this to the end may still become a tag: wait for more text
_TEMPLATE_STARTS = ("<|im_start|>", "system\n", "user\n")
_ASSISTANT_LINE = re.compile(r"(?m)^[ \t]*(?:<\|im_start\|>)?[ \t]*assistant[ \t]*\r?\n")
_MARKER_PREFIX = re.compile(
    r"^\s*(?:#{1,4} )?(?:\*\*)?(?:\d{1,2}[.)]|\(\d{1,2}\)|[-*\u2022+\u2013]|step ?\d{1,2} ?[:.)-]?)"
    r"(?:\*\*)?\s+",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ParsedChain:
    """A parsed output. ``steps[i] == reasoning[spans[i][0]:spans[i][1]]``."""

    steps: tuple[str, ...]
    answer: str | None
    answer_text: str | None
    reasoning: str
    flags: frozenset[str]
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def malformed(self) -> bool:
        return "malformed" in self.flags


@dataclass(frozen=True, slots=True)
class Piece:
    """One incremental result of :class:`StepStream`.

    ``kind="text"``: ``text`` now certainly belongs to step ``index`` (the pieces of a step
    concatenate to its final text). ``kind="step"``: step ``index`` is complete, ``text`` is all
    of it. ``kind="answer"``: an ``<answer>`` block closed, ``text`` is its content (index -1).
    """

    kind: Literal["text", "step", "answer"]
    index: int
    text: str


def step_body(step: str) -> str:
    """A step without its list marker ("2. The heart..." -> "The heart..."), for display."""
    return _MARKER_PREFIX.sub("", step, count=1) or step


class StepStream:
    """The parser, fed incrementally: ``feed(delta) -> [Piece]``, then ``finish() -> ParsedChain``."""

    def __init__(self, *, options: Sequence[str] | None = None, pieces: bool = True) -> None:
        """``pieces=False`` skips the incremental text pieces (the batch parser needs none)."""
        self.options = tuple(options) if options else None
        self._want_pieces = pieces
        self._raw: list[str] = []
        self._pending_raw = ""  # raw text held while the chat template is undecided
        self._templated: bool | None = None
        self._out = ""  # output after the template
        self._pos = 0  # tag scanning position in _out
        self._phase = "reasoning"  # reasoning | between | answer | after
        self._seg = Segmenter()
        self._emitted = 0  # reasoning offset up to which step text was reported
        self._answer_buf = ""
        self._answers: list[str] = []
        self._extra = ""
        self._flags: set[str] = set()
        self._seen_think = False
        self._closed_think = False
        self._result: ParsedChain | None = None
        self._flushed: list[Piece] | None = None

    @property
    def steps(self) -> tuple[str, ...]:
        """Steps completed so far."""
        return tuple(self._seg.text[a:b] for a, b in self._seg.spans)

    def feed(self, delta: str) -> list[Piece]:
        """Add a text delta; return the pieces it made certain (possibly none)."""
        if self._flushed is not None:
            raise RuntimeError("StepStream.feed after flush()/finish()")
        self._raw.append(delta)
        return self._advance(delta, final=False)

    def flush(self) -> list[Piece]:
        """Declare the output complete; return the last pieces (the last step, an open answer)."""
        if self._flushed is None:
            self._flushed = self._advance("", final=True)
            return self._flushed
        return []

    def finish(self) -> ParsedChain:
        """Flush (pieces not taken with :meth:`flush` are dropped) and return the parsed chain."""
        if self._result is None:
            self.flush()
            self._result = self._build()
        return self._result

    @property
    def raw(self) -> str:
        return "".join(self._raw)

    # -- the tag layer -----------------------------------------------------------------------

    def _advance(self, delta: str, *, final: bool) -> list[Piece]:
        pieces: list[Piece] = []
        if self._templated is None:
            self._pending_raw += delta
            if not self._decide_template(final):
                return pieces
        else:
            self._out += delta
        self._pump(pieces, final)
        if final:
            if self._phase == "reasoning":
                self._close_reasoning(pieces)
                if self._seen_think:
                    self._flags.update({"unclosed_think", "truncated"})
            elif self._phase == "answer":
                self._flags.update({"unclosed_answer", "truncated"})
                self._answers.append(self._answer_buf)
                pieces.append(Piece("answer", -1, self._answer_buf.strip()))
        return pieces

    def _decide_template(self, final: bool) -> bool:
        text = self._pending_raw
        head = text.lstrip()
        if head.startswith(_TEMPLATE_STARTS):
            m = _ASSISTANT_LINE.search(text, len(text) - len(head))
            if m is None and not final:
                return False
            self._flags.add("chat_template_stripped")
            self._out = text[m.end() :] if m else ""
        elif not final and any(t.startswith(head) for t in _TEMPLATE_STARTS):
            return False
        else:
            self._out = text
        self._templated = "chat_template_stripped" in self._flags
        self._pending_raw = ""
        return True

    def _pump(self, pieces: list[Piece], final: bool) -> None:
        buf = self._out
        while True:
            m = _TAG.search(buf, self._pos)
            if m is None:
                end = len(buf)
                lt = buf.rfind("<", self._pos)
                if not final and lt != -1 and end - lt < _TAG_HOLD:
                    end = lt
                self._route(buf[self._pos : end], pieces)
                self._pos = end
                return
            self._route(buf[self._pos : m.start()], pieces)
            self._pos = m.end()
            if m.group(2):
                self._on_tag(m.group(1) == "/", m.group(2).lower(), pieces)

    def _route(self, text: str, pieces: list[Piece]) -> None:
        if not text:
            return
        if self._phase == "reasoning":
            self._on_spans(self._seg.extend(text), pieces)
        elif self._phase == "answer":
            self._answer_buf += text
        else:
            self._extra += text
            if text.strip():
                self._flags.add("extra_text")

    def _on_tag(self, closing: bool, name: str, pieces: list[Piece]) -> None:
        phase = self._phase
        if name == "think":
            if phase != "reasoning":
                self._flags.add("extra_text")
            elif closing:
                self._close_reasoning(pieces)
                self._phase, self._closed_think = "between", True
            elif not self._seen_think:
                self._seen_think = True
                if self._seg.text.strip():
                    self._flags.add("text_before_think")
            return
        if not closing:  # <answer>
            if phase == "reasoning":
                if self._seen_think:
                    self._flags.add("unclosed_think")
                self._close_reasoning(pieces)
            elif phase == "answer":
                self._close_answer(pieces)
            self._phase, self._answer_buf = "answer", ""
        elif phase == "answer":
            self._close_answer(pieces)
        elif phase == "between" and self._extra.strip():
            # "</think> C </answer>": the opening tag is missing but the answer is plain.
            self._answer_buf, self._extra = self._extra, ""
            self._flags.discard("extra_text")
            self._close_answer(pieces)

    def _close_answer(self, pieces: list[Piece]) -> None:
        if self._answers:
            self._flags.add("multiple_answer_tags")
        self._answers.append(self._answer_buf)
        pieces.append(Piece("answer", -1, self._answer_buf.strip()))
        self._phase = "after"

    # -- the step layer ----------------------------------------------------------------------

    def _close_reasoning(self, pieces: list[Piece]) -> None:
        self._on_spans(self._seg.close(), pieces, pending=False)

    def _on_spans(self, spans: list[tuple[int, int]], pieces: list[Piece], *, pending: bool = True) -> None:
        if not self._want_pieces:
            return
        text = self._seg.text
        index = len(self._seg.spans) - len(spans)
        for start, end in spans:
            begin = max(self._emitted, start)
            if end > begin:
                pieces.append(Piece("text", index, text[begin:end]))
            pieces.append(Piece("step", index, text[start:end]))
            self._emitted = end
            index += 1
        if pending:
            begin = max(self._emitted, self._seg.pending_start)
            safe = self._seg.safe_end()
            if safe > begin:
                pieces.append(Piece("text", index, text[begin:safe]))
                self._emitted = safe

    # -- the result --------------------------------------------------------------------------

    def _build(self) -> ParsedChain:
        text = self._seg.text
        lead = len(text) - len(text.lstrip())
        reasoning = text.strip()
        spans = tuple((a - lead, b - lead) for a, b in self._seg.spans)
        flags = self._flags
        answer = answer_text = None
        if self._answers:
            answer_text = self._answers[-1].strip()
            parsed = parse_answer(answer_text, options=self.options)
            answer = parsed.answer
            flags.update(parsed.flags)
            if not answer_text:
                flags.add("no_answer")
        else:
            answer = infer_answer(reasoning, options=self.options)
            flags.add("answer_inferred" if answer else "no_answer")
            untagged = not (self._seen_think or self._closed_think)
            if untagged and not answer and reasoning and reasoning[-1] not in ".!?\"')]":
                flags.add("truncated")
        if not (reasoning or self._answers or self._extra.strip()):
            flags.add("empty")
        elif not reasoning:
            flags.add("no_reasoning")
        if not (self._seen_think or self._closed_think) and reasoning:
            flags.add("no_think_tag")
        if flags & MALFORMED_IF:
            flags.add("malformed")
        steps = tuple(reasoning[a:b] for a, b in spans)
        return ParsedChain(steps, answer, answer_text, reasoning, frozenset(flags), spans)


def parse_output(raw: str, *, options: Sequence[str] | None = None) -> ParsedChain:
    """Parse one raw model output (see the module docstring for the rules and flags).

    ``options`` are the option texts in order (letters A, B, ...); with them, answers are checked
    against the options and an answer given as option text is mapped to its letter.
    """
    stream = StepStream(options=options, pieces=False)
    stream._raw.append(raw)
    stream._flushed = stream._advance(raw, final=True)  # one pass: the whole output is here
    return stream.finish()
