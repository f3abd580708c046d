"""The backend interface: a request in, a stream of typed events out.

Contract: ``backend.stream(request, cancel=event)`` is a generator of
:mod:`reasoner.events` events that always ends with exactly one ``Finished`` (see that module for
the order). Per-request failures (a rejected image, an HTTP 500, a dropped stream) do not raise:
they yield ``Error`` and then ``Finished(finish_reason="error")`` whose flags say "incomplete",
so a caller stores a chain whole or visibly flagged, never silently half. Setting ``cancel``
stops generation promptly (``finish_reason="cancelled"``); closing the generator early does too.
Failures to set a backend up (a model path that does not exist) raise
:class:`reasoner.errors.ReasonerError` from the constructor.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from reasoner.events import Event
from reasoner.prompts import DEFAULT_SYSTEM_PROMPT, ChatPrompt, Task, build_messages


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Decoding settings, recorded with every chain. ``temperature == 0`` means greedy."""

    max_new_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int | None = 0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError("temperature must be >= 0 and top_p in (0, 1]")

    @property
    def do_sample(self) -> bool:
        return self.temperature > 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ReasonRequest:
    """What to reason about: a task, its images (prior first for temporal), and context.

    ``report`` and ``reference_answer`` feed the report miner; ``request_id`` lets the imported
    backend find a stored output; the model backends ignore all three.
    """

    task: Task
    images: tuple[Any, ...] = ()
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT
    params: GenerationParams = field(default_factory=GenerationParams)
    report: str | None = None
    reference_answer: str | None = None
    request_id: str | None = None

    def chat(self) -> ChatPrompt:
        """The chat messages for this request (raises ValueError on a wrong image count)."""
        return build_messages(self.task, list(self.images), system_prompt=self.system_prompt)


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """What to record with a chain: the backend's name, the model it ran, and its settings."""

    name: str
    model_id: str
    params: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ReasonerBackend(Protocol):
    """A source of reasoning chains (transformers, an HTTP endpoint, a report, an import)."""

    def stream(self, request: ReasonRequest, *, cancel: threading.Event | None = None) -> Iterator[Event]:
        """Events for ``request``, ending with one ``Finished``."""
        ...

    def describe(self) -> BackendInfo:
        """Name, model id and settings, for the chain's record."""
        ...
