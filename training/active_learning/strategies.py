"""The four prioritization strategies, as pure functions (interface: :mod:`.strategy`).

- ``fifo``: every case scores 0, so the worklist falls back to age (case id);
- ``lowest``: 1 - the weakest step's P(correct): the step the PRM trusts least decides;
- ``uncertain``: closeness of the most uncertain step to the decision boundary, 1 - |2p - 1|
  (1 at p = 0.5; MONAI Label's uncertainty sampling, per step);
- ``disagreement``: how far the PRM's belief in the chain (its weakest step, as ``lowest``)
  is from the answer's correctness: a wrong answer the PRM trusts (PRM800K's "convincing wrong
  answers") or a right answer with a step it doubts. Without a known correctness it scores 0.

Each returns the score, the deciding step and a short reason ("weakest step 3: 0.12"); the
caller adds which PRM scored it.
"""

from __future__ import annotations

from collections.abc import Mapping

from training.active_learning.strategy import ChainScores, Priority, Strategy
from vocab.priority import PriorityStrategy

BOUNDARY = 0.5  # the PRM's decision boundary: its heads are logistic, P(correct) = 0.5


def fifo(chain: ChainScores) -> Priority:
    return Priority(0.0, None, "first in, first out")


def _weakest(chain: ChainScores) -> int | None:
    p = chain.p_correct
    return min(range(len(p)), key=lambda i: (p[i], i)) if p else None


def lowest(chain: ChainScores) -> Priority:
    i = _weakest(chain)
    if i is None:
        return Priority(0.0, None, "no steps scored")
    p = chain.p_correct[i]
    return Priority(1.0 - p, i, f"weakest step {i + 1}: {p:.2f}")


def uncertain(chain: ChainScores) -> Priority:
    p = chain.p_correct
    if not p:
        return Priority(0.0, None, "no steps scored")
    closeness = [1.0 - abs(x - BOUNDARY) / max(BOUNDARY, 1 - BOUNDARY) for x in p]
    i = max(range(len(p)), key=lambda k: (closeness[k], -k))
    return Priority(closeness[i], i, f"step {i + 1} nearest the boundary: {p[i]:.2f}")


def disagreement(chain: ChainScores) -> Priority:
    i = _weakest(chain)
    if i is None:
        return Priority(0.0, None, "no steps scored")
    if chain.answer_correct is None:
        return Priority(0.0, None, "no reference answer to disagree with")
    belief = chain.p_correct[i]
    if chain.answer_correct:
        return Priority(1.0 - belief, i, f"right answer, weakest step {i + 1}: {belief:.2f}")
    return Priority(belief, i, f"wrong answer, yet every step ≥ {belief:.2f}")


STRATEGIES: Mapping[PriorityStrategy, Strategy] = {
    PriorityStrategy.fifo: fifo,
    PriorityStrategy.lowest: lowest,
    PriorityStrategy.uncertain: uncertain,
    PriorityStrategy.disagreement: disagreement,
}
