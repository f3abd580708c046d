"""The analysis: Wilson intervals, McNemar's exact test, the two-way bootstrap, and a simulated
study whose known effect (p1 - p0) falls inside the interval the analysis reports."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.reader_study.analysis import (
    ReadRecord,
    analyse,
    bootstrap_interval,
    mcnemar_p,
    tables,
    wilson,
)
from services.reader_study.design import STANDARD_ARMS
from tests.reader_study.simulate import simulated_reads

NO_AI, ANSWER, REASONING = (a.key for a in STANDARD_ARMS)
ARMS = (STANDARD_ARMS[0], STANDARD_ARMS[2])
P0, P1 = 0.6, 0.8


def test_wilson_interval_matches_the_formula() -> None:
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert all(math.isnan(x) for x in wilson(0, 0))


def test_mcnemar_exact_on_the_discordant_pairs() -> None:
    assert mcnemar_p(1, 9) == pytest.approx(2 * 11 / 1024)  # two-sided binomial, n = 10
    assert mcnemar_p(0, 0) == 1.0


def test_bootstrap_is_seeded_and_skips_missing_pairs() -> None:
    diffs = np.array([[1.0, 0.0, np.nan], [0.0, 1.0, 1.0]])
    assert bootstrap_interval(diffs, reps=300, seed=1) == bootstrap_interval(diffs, reps=300, seed=1)
    low, high = bootstrap_interval(diffs, reps=300, seed=1)
    assert 0.0 <= low <= high <= 1.0
    assert all(math.isnan(x) for x in bootstrap_interval(np.full((2, 2), np.nan)))


def test_a_simulated_study_recovers_its_known_effect_within_the_interval() -> None:
    reads = simulated_reads(ARMS, {NO_AI: P0, REASONING: P1}, readers=8, cases=60, seed=7)
    result = analyse(reads, ARMS, seed=7)
    by_arm = {a.arm: a for a in result.by_arm}
    assert by_arm[NO_AI].n == by_arm[REASONING].n == 8 * 60
    assert by_arm[NO_AI].low <= P0 <= by_arm[NO_AI].high
    assert by_arm[REASONING].low <= P1 <= by_arm[REASONING].high
    (paired,) = result.paired
    assert (paired.arm_a, paired.arm_b, paired.pairs) == (NO_AI, REASONING, 8 * 60)
    assert paired.low <= P1 - P0 <= paired.high  # the effect, recovered
    assert paired.low > 0 and paired.mcnemar_p < 0.001  # and found: this study has the power
    assert abs(paired.difference - (P1 - P0)) < 0.08


def test_the_interval_covers_the_effect_in_most_simulated_studies() -> None:
    """A 95% interval should miss about one study in twenty; the two-way bootstrap, if anything, less."""
    covered = 0
    for seed in range(20):
        reads = simulated_reads(ARMS, {NO_AI: P0, REASONING: P1}, readers=6, cases=30, seed=100 + seed)
        (paired,) = analyse(reads, ARMS, seed=seed, reps=400).paired
        covered += paired.low <= P1 - P0 <= paired.high
    assert covered >= 17


def test_no_effect_gives_an_interval_around_zero() -> None:
    reads = simulated_reads(ARMS, {NO_AI: 0.7, REASONING: 0.7}, readers=8, cases=60, seed=3)
    (paired,) = analyse(reads, ARMS, seed=3).paired
    assert paired.low < 0 < paired.high and paired.mcnemar_p > 0.05


def test_every_pair_of_arms_time_confidence_and_marks() -> None:
    reads = [
        ReadRecord("R1", 1, 0, NO_AI, "A", "A", 2, 40.0),
        ReadRecord("R1", 1, 1, ANSWER, "B", "A", 4, 20.0),
        ReadRecord("R1", 1, 2, REASONING, "A", "A", 5, 30.0, helpful=2, wrong=1),
        ReadRecord("R2", 1, 0, REASONING, "A", "A", 5, 10.0, helpful=1),
    ]
    result = analyse(reads, STANDARD_ARMS, seed=0, reps=50)
    assert [(p.arm_a, p.arm_b) for p in result.paired] == [
        (NO_AI, ANSWER),
        (NO_AI, REASONING),
        (ANSWER, REASONING),
    ]
    assert [p.pairs for p in result.paired] == [1, 1, 1]
    assert result.paired[0].only_a == 1 and result.paired[0].difference == -1.0
    time = {s.arm: s for s in result.time}
    assert time[REASONING].n == 2 and time[REASONING].median == 20.0
    confidence = {s.arm: s for s in result.confidence}
    assert confidence[REASONING].counts == (0, 0, 0, 0, 2) and confidence[NO_AI].mean == 2.0
    assert [(m.arm, m.reads, m.helpful, m.wrong) for m in result.marks] == [(REASONING, 2, 3, 1)]
    assert [(a.reader, a.arm, a.n) for a in result.by_reader][:3] == [
        ("R1", NO_AI, 1),
        ("R1", ANSWER, 1),
        ("R1", REASONING, 1),
    ]
    for name, (headers, rows) in tables(result).items():
        assert rows and all(len(row) == len(headers) for row in rows), name
