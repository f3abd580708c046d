"""The randomization: every reader reads every case once per period, arms balanced per reader,
per case and per period, a full crossover, carry-over balanced, seeded and reproducible."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest

from services.reader_study.design import (
    STANDARD_ARMS,
    Arm,
    DesignError,
    Shows,
    parse_arms,
    randomize,
    williams,
)

TWO = (STANDARD_ARMS[0], STANDARD_ARMS[2])


def _spread(counter: Counter, keys) -> int:  # noqa: ANN001
    values = [counter.get(k, 0) for k in keys]
    return max(values) - min(values)


@pytest.mark.parametrize(
    ("arms", "n_readers", "n_cases"),
    [(STANDARD_ARMS, 3, 12), (STANDARD_ARMS, 6, 18), (TWO, 4, 10), (STANDARD_ARMS, 4, 11), (TWO, 3, 7)],
)
def test_each_reader_reads_each_case_once_per_period_with_arms_balanced(arms, n_readers, n_cases) -> None:  # noqa: ANN001
    readers, cases = range(1, n_readers + 1), range(100, 100 + n_cases)
    slots = randomize(readers=readers, cases=cases, arms=arms, seed=11)
    keys = [a.key for a in arms]
    assert len(slots) == n_readers * n_cases * len(arms)
    for reader in readers:
        for period in range(len(arms)):
            mine = [s for s in slots if s.reader_id == reader and s.period == period]
            assert sorted(s.case_id for s in mine) == list(cases)  # each case once per period
            assert sorted(s.sequence for s in mine) == list(range(n_cases))
            per_arm = Counter(s.arm for s in mine)
            assert _spread(per_arm, keys) <= (0 if n_cases % len(arms) == 0 else 1)
        for case in cases:  # a full crossover: every arm once per (reader, case)
            assert sorted(s.arm for s in slots if s.reader_id == reader and s.case_id == case) == sorted(keys)
    for case in cases:
        for period in range(len(arms)):
            per_arm = Counter(s.arm for s in slots if s.case_id == case and s.period == period)
            assert _spread(per_arm, keys) <= (0 if n_readers % len(arms) == 0 else 1)


def test_the_order_of_cases_changes_from_period_to_period() -> None:
    slots = randomize(readers=[1], cases=range(20), arms=STANDARD_ARMS, seed=3)
    orders = [tuple(s.case_id for s in slots if s.period == p) for p in range(3)]
    assert len(set(orders)) == 3


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_williams_rows_are_permutations_and_every_arm_follows_every_other_equally(n: int) -> None:
    rows = [row for square in williams(n) for row in square]
    assert all(sorted(row) == list(range(n)) for row in rows)
    follows = Counter(pair for row in rows for pair in pairwise(row))
    assert len(follows) == n * (n - 1) and len(set(follows.values())) == 1
    for square in williams(n):  # each column of a square is a permutation too (Latin)
        assert all(sorted(col) == list(range(n)) for col in zip(*square, strict=True))


def test_carry_over_is_balanced_when_readers_fill_the_williams_design() -> None:
    slots = randomize(readers=range(6), cases=range(30), arms=STANDARD_ARMS, seed=5)  # 3 arms: 6 sequences
    follows: Counter = Counter()
    for reader in range(6):
        for case in range(30):
            seq = [s.arm for s in sorted((s for s in slots if s.reader_id == reader and s.case_id == case),
                                         key=lambda s: s.period)]  # fmt: skip
            follows.update(pairwise(seq))
    assert len(follows) == 6 and len(set(follows.values())) == 1


def test_the_same_inputs_and_seed_give_the_same_assignments_whatever_their_order() -> None:
    a = randomize(readers=[3, 1, 2], cases=[9, 7, 8, 6], arms=TWO, seed=42)
    b = randomize(readers=[1, 2, 3], cases=[6, 7, 8, 9], arms=TWO, seed=42)
    c = randomize(readers=[1, 2, 3], cases=[6, 7, 8, 9], arms=TWO, seed=43)
    assert a == b
    assert a != c


def test_arms_from_text() -> None:
    arms = parse_arms("no_ai, Answer + reasoning=reasoning")
    assert arms == (STANDARD_ARMS[0], Arm("answer_reasoning", "Answer + reasoning", Shows.reasoning))
    with pytest.raises(DesignError, match="2 to 6 arms"):
        parse_arms("no_ai")
    with pytest.raises(DesignError, match="own name"):
        parse_arms("no_ai, No AI=none")
    with pytest.raises(DesignError, match="shows 'everything'"):
        parse_arms("no_ai, All=everything")
    with pytest.raises(DesignError, match="unknown arm"):
        parse_arms("no_ai, placebo")
