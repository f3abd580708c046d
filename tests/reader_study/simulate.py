"""Simulated readers: each read is right with the probability of its arm (p0 without AI, p1 with)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from services.reader_study.analysis import ReadRecord
from services.reader_study.design import Arm, randomize


def simulated_reads(
    arms: Sequence[Arm], p: Mapping[str, float], *, readers: int, cases: int, seed: int
) -> list[ReadRecord]:
    """Every read of a randomized study, answered by readers who are right with ``p[arm]``."""
    rng = random.Random(seed)
    slots = randomize(readers=range(1, readers + 1), cases=range(1, cases + 1), arms=arms, seed=seed)
    return [
        ReadRecord(
            reader=f"R{s.reader_id}",
            case_id=s.case_id,
            period=s.period,
            arm=s.arm,
            answer="A" if rng.random() < p[s.arm] else "B",
            truth="A",
            confidence=rng.randint(1, 5),
            time_s=rng.uniform(20, 60),
        )  # fmt: skip
        for s in slots
    ]
