"""How the worklist is ordered (issue 17): the prioritization strategies and the shared settings keys.

Contract: :class:`PriorityStrategy` values are what is stored (the ``app_settings`` row
:data:`STRATEGY_KEY`, ``case_priorities.strategy``) and typed (``chestx prioritize --strategy``);
``label`` and ``help`` are how the admin page and the CLI present them. What each strategy does
is :mod:`training.active_learning.strategies`'.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

STRATEGY_KEY = "prioritize.strategy"  # app_settings key: the strategy every replica orders by
HINTS_KEY = "review.step_hints"  # app_settings key: step hints on for every reviewer


class PriorityStrategy(enum.StrEnum):
    fifo = "fifo"
    lowest = "lowest"
    uncertain = "uncertain"
    disagreement = "disagreement"

    @property
    def label(self) -> str:
        return STRATEGY_LABELS[self][0]

    @property
    def help(self) -> str:
        return STRATEGY_LABELS[self][1]


STRATEGY_LABELS: Mapping[PriorityStrategy, tuple[str, str]] = {
    PriorityStrategy.fifo: ("First in, first out", "Oldest case first; the PRM is not asked."),
    PriorityStrategy.lowest: (
        "Weakest step first",
        "Cases with the step the PRM trusts least come first.",
    ),
    PriorityStrategy.uncertain: (
        "Most uncertain first",
        "Cases with a step nearest the PRM's decision boundary (p = 0.5) come first.",
    ),
    PriorityStrategy.disagreement: (
        "PRM vs answer first",
        "Cases where the PRM and the answer's correctness disagree most come first: a wrong answer "
        "the PRM trusts, a right answer with a step it doubts (needs a reference answer).",
    ),
}
DEFAULT_STRATEGY = PriorityStrategy.fifo
