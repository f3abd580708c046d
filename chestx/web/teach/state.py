"""The educator's page state, kept in ``gr.State`` (ids and counters, no ORM)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TeachState:
    """The educator's replay of one verified case."""

    case_id: int | None = None
    revealed: int = 0  # how many steps are shown
    total: int = 0
    picked: tuple[str, ...] = ()  # the student's answer (letters), set before the reveal
    answer_shown: bool = False
    history: tuple[int, ...] = field(default_factory=tuple)
