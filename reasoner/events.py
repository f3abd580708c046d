"""Typed streaming events, and the mapping from model text deltas to them.

Contract: a backend's ``stream()`` yields, in order, for each step ``i``: ``StepStarted(i)``,
one or more ``TextDelta(i, text)`` (their texts concatenate to the step's final text), then
``StepDone(i, text)``; steps are numbered 0, 1, 2... without gaps. ``Answer`` comes when an
``<answer>`` block closes (or at the end for an unclosed one). ``Error`` reports a failure
(then the stream still ends with ``Finished``). The last event is always exactly one
``Finished`` with the parsed chain, the raw text, the flags and how generation ended.

Consumers (the UI, the CLI) only map events to output; they never parse text themselves.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reasoner.answers import parse_answer
from reasoner.parsing import ParsedChain, Piece, StepStream

FinishReason = Literal["stop", "length", "cancelled", "error"]


@dataclass(frozen=True, slots=True)
class StepStarted:
    index: int


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Text that now certainly belongs to step ``index``; ``produced_at`` is the monotonic time
    the model produced the chunk that made it certain (for latency measurements)."""

    index: int
    text: str
    produced_at: float = 0.0


@dataclass(frozen=True, slots=True)
class StepDone:
    index: int
    text: str
    produced_at: float = 0.0  # as for TextDelta: when the deciding chunk was produced


@dataclass(frozen=True, slots=True)
class Answer:
    """A closed ``<answer>`` block: ``text`` as written, ``answer`` in normal form ("A,C")."""

    answer: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Error:
    """``kind``: "connect" | "timeout" | "http" | "dropped" | "model" | "input" | "internal"."""

    message: str
    kind: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The end of a stream: the chain as parsed from everything received.

    ``flags`` are the chain's flags plus "incomplete" when generation did not end normally
    (cancelled, error, length); ``status`` is "complete", "incomplete" or "malformed".
    """

    chain: ParsedChain
    raw: str
    flags: frozenset[str]
    finish_reason: FinishReason
    params: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def status(self) -> str:
        if "incomplete" in self.flags:
            return "incomplete"
        return "malformed" if "malformed" in self.flags else "complete"


Event = StepStarted | TextDelta | StepDone | Answer | Error | Finished


class EventMapper:
    """Turns text deltas into events through a :class:`StepStream` (one per generation)."""

    def __init__(self, *, options: Sequence[str] | None = None) -> None:
        self.options = tuple(options) if options else None
        self._stream = StepStream(options=self.options)
        self._started = -1
        self._t0 = time.monotonic()

    def feed(self, delta: str, produced_at: float | None = None) -> list[Event]:
        """Events made certain by ``delta`` (produced at monotonic time ``produced_at``)."""
        if not delta:
            return []
        return self._events(self._stream.feed(delta), produced_at or time.monotonic())

    def finish(
        self, finish_reason: FinishReason = "stop", *, params: dict[str, Any] | None = None
    ) -> list[Event]:
        """Flush the last step and answer; end with ``Finished``."""
        events = self._events(self._stream.flush(), time.monotonic())
        chain = self._stream.finish()
        flags = set(chain.flags)
        if finish_reason != "stop":
            flags.add("incomplete")
        if finish_reason == "length":
            flags.add("truncated")
        events.append(
            Finished(
                chain=chain,
                raw=self._stream.raw,
                flags=frozenset(flags),
                finish_reason=finish_reason,
                params=dict(params or {}),
                elapsed_s=time.monotonic() - self._t0,
            )
        )
        return events

    def _events(self, pieces: list[Piece], produced_at: float) -> list[Event]:
        events: list[Event] = []
        for piece in pieces:
            if piece.kind == "answer":
                parsed = parse_answer(piece.text, options=self.options)
                events.append(Answer(parsed.answer, piece.text))
                continue
            if piece.index > self._started:
                self._started = piece.index
                events.append(StepStarted(piece.index))
            if piece.kind == "text":
                events.append(TextDelta(piece.index, piece.text, produced_at))
            else:
                events.append(StepDone(piece.index, piece.text, produced_at))
        return events


def events_from_deltas(
    deltas: Iterable[str],
    *,
    options: Sequence[str] | None = None,
    finish_reason: FinishReason = "stop",
    params: dict[str, Any] | None = None,
) -> Iterator[Event]:
    """Events for a complete sequence of text deltas (imported outputs, tests)."""
    mapper = EventMapper(options=options)
    for delta in deltas:
        yield from mapper.feed(delta)
    yield from mapper.finish(finish_reason, params=params)


def collect(events: Iterable[Event]) -> Finished:
    """Drain a stream and return its ``Finished`` event."""
    finished = None
    for event in events:
        if isinstance(event, Finished):
            finished = event
    if finished is None:
        raise RuntimeError("the event stream ended without a Finished event")
    return finished
