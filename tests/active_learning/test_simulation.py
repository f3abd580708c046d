"""The simulated review on a tiny synthetic dataset: a PRM that sees the errors lets the strategies
find more wrong steps than fifo; reviews fed back are counted round by round."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.active_learning.judged import judged_cases
from training.active_learning.simulation import (
    SimCase,
    ceiling_order,
    random_orders,
    replay,
    simulate,
    wrong_per,
)
from training.active_learning.strategies import STRATEGIES
from vocab.priority import PriorityStrategy


def _cases(rng: np.random.Generator, n: int, *, bad_share: float) -> list[SimCase]:
    """Cases of 4-8 steps; a wrong step's first feature is shifted (a signal a head can learn),
    and a case is mostly wrong with probability ``bad_share``."""
    out = []
    for _ in range(n):
        k = int(rng.integers(4, 9))
        rate = 0.8 if rng.random() < bad_share else 0.1
        wrong = rng.random(k) < rate
        x = rng.normal(size=(k, 3)).astype(np.float32)
        x[:, 0] += np.where(wrong, -2.0, 0.0)
        out.append(SimCase(x, wrong, answer_correct=bool(wrong.mean() < 0.5)))
    return out


def _rows(cases: list[SimCase]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([c.x for c in cases]), np.concatenate([c.wrong for c in cases])


@pytest.fixture(scope="module")
def data() -> dict:
    rng = np.random.default_rng(0)
    return {
        "seed": _rows(_cases(rng, 40, bad_share=0.5)),
        "worklist": _cases(rng, 120, bad_share=0.3),
        "evaluation": _rows(_cases(rng, 40, bad_share=0.3)),
    }


def test_strategies_find_more_wrong_steps_than_fifo_and_the_prm_is_refitted_each_round(data) -> None:  # noqa: ANN001
    runs = {s: simulate(**data, strategy=STRATEGIES[s], round_steps=50, rounds=3) for s in PriorityStrategy}
    found = {s: sum(wrong_per(r.wrong, block=50, limit=150)) for s, r in runs.items()}
    assert found[PriorityStrategy.lowest] > 1.5 * found[PriorityStrategy.fifo], found
    for run in runs.values():
        assert len(run.auroc) == 4  # the seed PRM, then after each of 3 rounds
        assert all(a is not None and a > 0.8 for a in run.auroc)
        assert len(run.wrong) >= 150
    # fifo reviews in age order: the first case's steps come first
    assert (
        runs[PriorityStrategy.fifo].wrong[: len(data["worklist"][0].wrong)]
        == data["worklist"][0].wrong.tolist()
    )


def test_reference_orders_and_counting(data) -> None:  # noqa: ANN001
    worklist = data["worklist"]
    ceiling = wrong_per(replay(ceiling_order(worklist), worklist, limit=150), block=50, limit=150)
    fifo = wrong_per(replay(range(len(worklist)), worklist, limit=150), block=50, limit=150)
    assert sum(ceiling) > sum(fifo) and len(ceiling) == 3
    orders = random_orders(len(worklist), repeats=3, seed=1)
    assert orders == random_orders(len(worklist), repeats=3, seed=1)  # seeded
    assert all(sorted(o) == list(range(len(worklist))) for o in orders)
    assert wrong_per([True, False, True, True], block=2, limit=3) == [1, 1]


def _item(steps: list[str], effective: list[str], correct: str, report: str) -> dict:
    think = "\n\n".join(steps)
    return {
        "question": "Which finding is present? Options:\nA) Effusion\nB) Normal",
        "answer": "<answer> B </answer>",
        "pred": f"system\nuser\nWhich?\nassistant\n<think>{think}</think><answer> B </answer>",
        "original_report": report,
        "correct": correct,
        "efficiency": {
            "effective_steps": effective,
            "effective_count": len(effective),
            "ineffective_count": 1,
        },
    }


def test_judged_cases_label_steps_gpt4o_did_not_count_as_wrong(tmp_path) -> None:  # noqa: ANN001
    steps = ["The heart size is normal.", "There is a large left pleural effusion.", "So the answer is B."]
    items = [
        _item(steps, [steps[0], steps[2]], "yes", "Findings: normal heart. No effusion."),
        {"question": "q", "pred": "<think>a.</think>", "efficiency": "malformed"},
    ]
    path = tmp_path / "judged.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    cases, skipped = judged_cases(path)
    assert skipped == 1 and len(cases) == 1
    case = cases[0]
    assert case.wrong == (False, True, False) and case.answer_correct is True
    assert case.context.startswith("Findings") and len(case.group) == 64 and case.source == "judged.json"
