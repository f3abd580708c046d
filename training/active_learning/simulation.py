"""Simulated review under a prioritization strategy, with the reviews fed back to the PRM.

Contract: pure functions of arrays; no database, no files. A :class:`SimCase` is a case of the
simulated worklist: its steps' PRM features (the text PRM's, :mod:`training.prm_features`), which
steps the simulated reviewer finds wrong, and whether its answer is right. :func:`simulate`:

1. fits the text PRM's head (:func:`training.prm_text.fit`) on the seed rows (the part held
   apart from the worklist) and measures its AUROC on the evaluation rows (round 0);
2. orders the waiting cases by the strategy over the PRM's scores, as the app would
   (:func:`training.active_learning.strategy.ranked`: priority, then age);
3. the reviewer takes cases in that order, every step of each (a case is reviewed whole), and
   each step's verdict is the simulated reviewer's;
4. once ``round_steps`` more steps are reviewed (the round ends with the case that crosses the
   mark), the head is refitted on the seed rows plus every reviewed step, its AUROC on the
   evaluation rows recorded, and the waiting cases re-ordered; until ``rounds`` rounds are done.

:func:`replay` reviews in a fixed order without a PRM (a random order, or the ceiling: cases by
their true share of wrong steps). :func:`wrong_per` counts wrong steps per block of reviewed steps.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from training.active_learning.strategy import ChainScores, Strategy, ranked
from training.prm_text import TextPRM, fit

Fit = Callable[[np.ndarray, np.ndarray], TextPRM]


@dataclass(frozen=True)
class SimCase:
    """A case of the simulated worklist: features (n_steps x F), wrong (n_steps), the answer."""

    x: np.ndarray
    wrong: np.ndarray
    answer_correct: bool | None = None


@dataclass
class SimRun:
    """What one simulated review produced: each reviewed step's verdict in review order, and the
    PRM's AUROC on the evaluation rows after each round (index 0: the seed PRM)."""

    wrong: list[bool] = field(default_factory=list)
    auroc: list[float | None] = field(default_factory=list)


def head_fit(x: np.ndarray, y_correct: np.ndarray, *, c: float = 1.0, seed: int = 0) -> TextPRM:
    """The text PRM's logistic head on features ``x`` and labels (1: correct step)."""
    return fit(x, y_correct, None, c=c, max_iter=5000, seed=seed)


def probabilities(prm: TextPRM, x: np.ndarray) -> np.ndarray:
    """P(correct) of each row of ``x`` under the head (what :meth:`TextPRM.score` computes)."""
    z = ((x - prm.mean) / prm.scale) @ prm.coef + prm.intercept
    return 1.0 / (1.0 + np.exp(-z))


def auroc(prm: TextPRM, x: np.ndarray, y_correct: np.ndarray) -> float | None:
    """AUROC of the head telling correct steps from wrong ones; None when one class is missing."""
    from sklearn.metrics import roc_auc_score  # lazy: scikit-learn loads scipy (seconds)

    if len(set(y_correct.tolist())) < 2:
        return None
    return float(roc_auc_score(y_correct, probabilities(prm, x)))


def _order(prm: TextPRM, cases: Sequence[SimCase], waiting: list[int], strategy: Strategy) -> list[int]:
    chains = [
        ChainScores(tuple(float(p) for p in probabilities(prm, cases[i].x)), cases[i].answer_correct)
        for i in waiting
    ]
    return [waiting[k] for k in ranked(chains, strategy)]


def simulate(
    *,
    seed: tuple[np.ndarray, np.ndarray],
    worklist: Sequence[SimCase],
    evaluation: tuple[np.ndarray, np.ndarray],
    strategy: Strategy,
    round_steps: int = 100,
    rounds: int = 5,
    fit_head: Fit = head_fit,
) -> SimRun:
    """Review ``worklist`` under ``strategy`` (see the module docstring). ``seed`` and
    ``evaluation`` are (features, wrong) rows; the worklist is in age order (its fifo order)."""
    seed_x, seed_wrong = seed
    eval_x, eval_correct = evaluation[0], ~evaluation[1].astype(bool)
    prm = fit_head(seed_x, ~seed_wrong.astype(bool))
    run = SimRun(auroc=[auroc(prm, eval_x, eval_correct)])
    waiting = _order(prm, worklist, list(range(len(worklist))), strategy)
    xs, ys = [seed_x], [seed_wrong.astype(bool)]
    mark = round_steps
    while waiting and len(run.auroc) <= rounds:
        case = worklist[waiting.pop(0)]
        run.wrong += case.wrong.astype(bool).tolist()
        xs.append(case.x)
        ys.append(case.wrong.astype(bool))
        if len(run.wrong) >= mark or not waiting:
            prm = fit_head(np.concatenate(xs), ~np.concatenate(ys))
            run.auroc.append(auroc(prm, eval_x, eval_correct))
            while mark <= len(run.wrong):
                mark += round_steps
            waiting = _order(prm, worklist, waiting, strategy)
    return run


def replay(order: Sequence[int], worklist: Sequence[SimCase], *, limit: int) -> list[bool]:
    """The verdicts of the first ``limit`` steps reviewed when cases come in ``order``."""
    out: list[bool] = []
    for i in order:
        if len(out) >= limit:
            break
        out += worklist[i].wrong.astype(bool).tolist()
    return out[:limit]


def random_orders(n: int, *, repeats: int, seed: int = 0) -> list[list[int]]:
    """``repeats`` random review orders of ``n`` cases (a seeded baseline)."""
    rng = random.Random(seed)
    orders = []
    for _ in range(repeats):
        order = list(range(n))
        rng.shuffle(order)
        orders.append(order)
    return orders


def ceiling_order(worklist: Sequence[SimCase]) -> list[int]:
    """Cases by their true share of wrong steps, most first: what a perfect case-level oracle does
    (the most wrong steps per step reviewed any case order can find)."""
    return sorted(range(len(worklist)), key=lambda i: (-float(worklist[i].wrong.mean()), i))


def wrong_per(wrong: Sequence[bool], *, block: int = 100, limit: int = 500) -> list[int]:
    """Wrong steps in each block of ``block`` reviewed steps, up to ``limit`` steps."""
    head = list(wrong)[:limit]
    return [sum(head[k : k + block]) for k in range(0, len(head), block)]
