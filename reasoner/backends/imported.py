"""The imported-predictions backend: chains from outputs a model already produced.

Contract: see :mod:`reasoner.backends.base`. ``ImportedBackend(outputs)`` holds raw outputs by
id (``ReasonRequest.request_id``); ``stream()`` replays the one asked for through the same parser
and events as live generation, so an imported ``pred`` with its chat-template leftovers becomes
the same chain a live model would have given. :func:`chain_from_prediction` is the one-shot form.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reasoner.backends.base import BackendInfo, ReasonRequest
from reasoner.events import Error, Event, EventMapper, Finished, collect, events_from_deltas


def chain_from_prediction(
    raw: str, *, options: Sequence[str] | None = None, source: str = "imported"
) -> Finished:
    """The ``Finished`` event (parsed chain, flags, status) for one stored output."""
    return collect(
        events_from_deltas([raw], options=options, params={"backend": "imported", "model": source})
    )


class ImportedBackend:
    """Replays stored outputs (see the module docstring)."""

    name = "imported"

    def __init__(
        self, outputs: Mapping[str, str], *, source: str = "predictions", delta_words: int = 0
    ) -> None:
        """``delta_words``: replay in deltas of this many words (0: all at once)."""
        self.outputs = dict(outputs)
        self.source = source
        self.delta_words = delta_words

    def describe(self) -> BackendInfo:
        return BackendInfo(self.name, self.source, {"outputs": len(self.outputs)})

    def stream(self, request: ReasonRequest, *, cancel: threading.Event | None = None) -> Iterator[Event]:
        record: dict[str, Any] = {"backend": self.name, "model": self.source, "id": request.request_id}
        mapper = EventMapper(options=request.task.options or None)
        raw = self.outputs.get(request.request_id or "")
        if raw is None:
            yield Error(f"no stored output with id {request.request_id!r} in {self.source}", "input")
            yield from mapper.finish("error", params=record)
            return
        pieces = [raw]
        if self.delta_words:
            words = re.findall(r"\S+\s*|\s+", raw)
            pieces = [
                "".join(words[i : i + self.delta_words]) for i in range(0, len(words), self.delta_words)
            ]
        for piece in pieces:
            if cancel is not None and cancel.is_set():
                yield from mapper.finish("cancelled", params=record)
                return
            yield from mapper.feed(piece)
        yield from mapper.finish("stop", params=record)
