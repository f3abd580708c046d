"""The review page's per-tab state: a small dataclass kept in ``gr.State`` (ids and flags, no ORM).

Contract: the server owns these values (Gradio keeps ``gr.State`` on the server), so a handler
may trust which case and chain the session has open; ids that arrive from the browser in event
data are always checked against them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ReviewState:
    """The review page of one browser tab."""

    user_id: int | None = None
    case_id: int | None = None
    chain_id: int | None = None
    read_only: bool = True
    read_only_reason: str = ""
    opened_at: float = 0.0  # wall-clock seconds when the case was opened (time spent)
    options: tuple[str, ...] = ()
    task_type: str = ""
    model_answer: str | None = None
    submitted: bool = False  # this reviewer submitted their review of the chain: "Amend my review"
    unverifiable: str | None = None  # why the chain can only be judged unusable
    hints: bool = False  # the PRM's step hints are shown (the reviewer's or an admin's choice)
    # Request ids this tab's actions already carried out (a retry of one changes nothing).
    done: tuple[str, ...] = ()

    @property
    def form_key(self) -> str:
        """What the answer form was drawn for: a verdict set for another key is refused."""
        return f"{self.case_id}:{self.chain_id}"

    def opened(self, **changes: object) -> ReviewState:
        return replace(self, opened_at=time.time(), done=(), **changes)

    def remember(self, request_id: str, keep: int = 200) -> ReviewState:
        return replace(self, done=(*self.done[-(keep - 1) :], request_id))

    def closed(self) -> ReviewState:
        return ReviewState(user_id=self.user_id, hints=self.hints)

    @property
    def time_spent_s(self) -> float:
        return max(0.0, time.time() - self.opened_at) if self.opened_at else 0.0
