"""The prioritization interface: one chain's PRM scores in, the case's priority and reason out.

Contract (after MONAI Label's sampling ``Strategy``: a small interface apart from its
implementations and from whoever calls it): a :class:`Strategy` is a pure function of a
:class:`ChainScores` (the PRM's probability that each model step is correct, in order, and
whether the chain's answer matches the reference, if one is known) to a :class:`Priority`: a
score in [0, 1] (higher: review sooner), the step that decided it, and a short reason a
reviewer can read in the worklist. :func:`priority_value` turns a score into the integer
``cases.priority`` the worklist orders by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

SCALE = 1000  # a score in [0, 1] becomes 0..999 in cases.priority; a manual tier times SCALE above it


@dataclass(frozen=True)
class ChainScores:
    """What a strategy sees of one case: P(correct) of each model step, and the answer's correctness,
    e.g. ``ChainScores((0.91, 0.12, 0.64), answer_correct=False)``."""

    p_correct: tuple[float, ...]
    answer_correct: bool | None = None  # None: no reference answer, or no answer to compare

    def __post_init__(self) -> None:
        if any(not 0.0 <= p <= 1.0 for p in self.p_correct):
            raise ValueError("step scores are probabilities in [0, 1]")


@dataclass(frozen=True)
class Priority:
    """How soon a case should be reviewed, and why (``step``: 0-based, None when no step decided)."""

    score: float
    step: int | None
    reason: str


class Strategy(Protocol):
    """Orders cases for review from their PRM scores (see the module docstring)."""

    def __call__(self, chain: ChainScores) -> Priority: ...


def priority_value(score: float, *, tier: int = 0) -> int:
    """``cases.priority`` for a strategy ``score`` in [0, 1] within a manual ``tier``.

    A priority an admin set by hand (the tier) still comes first: the strategy orders cases within
    it. ``score`` 1.0 maps to SCALE - 1, so a tier is never crossed.
    """
    return tier * SCALE + min(SCALE - 1, max(0, int(score * SCALE)))


def ranked(chains: Sequence[ChainScores], strategy: Strategy) -> list[int]:
    """Indexes of ``chains`` in review order under ``strategy`` (ties: the earlier first, as the
    worklist breaks ties by case id)."""
    scores = [priority_value(strategy(c).score) for c in chains]
    return sorted(range(len(chains)), key=lambda i: (-scores[i], i))
