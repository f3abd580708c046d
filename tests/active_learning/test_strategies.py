"""The strategies order cases as they say, on hand-made PRM scores."""

from __future__ import annotations

import pytest

from training.active_learning.strategies import STRATEGIES, disagreement, fifo, lowest, uncertain
from training.active_learning.strategy import SCALE, ChainScores, priority_value, ranked
from vocab.priority import PriorityStrategy

SURE_RIGHT = ChainScores((0.95, 0.9, 0.97), answer_correct=True)
ONE_BAD = ChainScores((0.9, 0.05, 0.8), answer_correct=True)  # a right answer, a step the PRM doubts
BORDERLINE = ChainScores((0.9, 0.52, 0.85), answer_correct=True)
CONVINCING_WRONG = ChainScores((0.92, 0.88, 0.9), answer_correct=False)  # PRM800K's kind
NO_REFERENCE = ChainScores((0.2, 0.3), answer_correct=None)
CHAINS = [SURE_RIGHT, ONE_BAD, BORDERLINE, CONVINCING_WRONG, NO_REFERENCE]


def test_every_strategy_has_an_implementation() -> None:
    assert set(STRATEGIES) == set(PriorityStrategy)


def test_fifo_leaves_the_order_to_age() -> None:
    assert ranked(CHAINS, fifo) == [0, 1, 2, 3, 4]
    assert fifo(ONE_BAD).score == 0.0 and fifo(ONE_BAD).reason == "first in, first out"


def test_lowest_puts_the_weakest_step_first_and_names_it() -> None:
    assert ranked(CHAINS, lowest) == [1, 4, 2, 3, 0]  # weakest steps 0.05, 0.2, 0.52, 0.88, 0.9
    decided = lowest(ONE_BAD)
    assert decided.step == 1 and decided.score == pytest.approx(0.95)
    assert decided.reason == "weakest step 2: 0.05"


def test_uncertain_puts_the_step_nearest_the_boundary_first() -> None:
    assert ranked(CHAINS, uncertain)[0] == 2  # 0.52 is nearest 0.5
    decided = uncertain(BORDERLINE)
    assert decided.step == 1 and decided.score == pytest.approx(0.96)
    assert decided.reason == "step 2 nearest the boundary: 0.52"
    # a confident step either way is far from the boundary
    assert uncertain(ChainScores((0.02,))).score == pytest.approx(uncertain(ChainScores((0.98,))).score)


def test_disagreement_finds_convincing_wrong_answers_and_doubted_right_ones() -> None:
    order = ranked(CHAINS, disagreement)
    assert order[:2] == [1, 3]  # a right answer with a doubted step (0.95), a trusted wrong one (0.88)
    assert disagreement(CONVINCING_WRONG).reason == "wrong answer, yet every step ≥ 0.88"
    assert disagreement(SURE_RIGHT).score == pytest.approx(0.1)
    no_ref = disagreement(NO_REFERENCE)
    assert no_ref.score == 0.0 and "no reference answer" in no_ref.reason


def test_empty_chains_and_bad_scores() -> None:
    for strategy in STRATEGIES.values():
        assert strategy(ChainScores(())).score == 0.0
    with pytest.raises(ValueError, match="probabilities"):
        ChainScores((1.2,))


def test_priority_values_stay_inside_their_manual_tier() -> None:
    assert priority_value(0.0) == 0 and priority_value(1.0) == SCALE - 1
    assert priority_value(0.999, tier=0) < priority_value(0.0, tier=1)
    assert priority_value(0.4, tier=3) == 3 * SCALE + 400
