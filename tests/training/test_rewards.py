"""GRPO rewards: correctness, format and process reward, as pure functions of completions."""

from __future__ import annotations

from collections.abc import Sequence

from training.rewards import ProcessReward, correctness_reward, format_reward, reward_functions

GOOD = [
    {"role": "assistant", "content": "<think> The lungs are clear. No effusion. </think><answer> B </answer>"}
]
WRONG = [{"role": "assistant", "content": "<think> A large effusion. </think><answer> A </answer>"}]
GARBAGE = [{"role": "assistant", "content": "cons <) B4os"}]


class KeywordPRM:
    """A stand-in PRM: a step is correct unless it says "large"."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def score(self, context: str, steps: Sequence[str]) -> list[float]:
        self.calls.append((context, list(steps)))
        return [0.0 if "large" in s else 1.0 for s in steps]


def test_correctness_rewards_the_verified_answer_only() -> None:
    rewards = correctness_reward([None] * 3, [GOOD, WRONG, GARBAGE], answer=["B", "B", "B"])
    assert rewards == [1.0, 0.0, 0.0]
    assert correctness_reward([None], ["<think> x. </think><answer> A, C </answer>"], answer=["A,B"]) == [
        1 / 3
    ]


def test_format_rewards_the_think_answer_shape() -> None:
    assert format_reward([None] * 3, [GOOD, WRONG, GARBAGE]) == [1.0, 1.0, 0.0]


def test_process_reward_scores_the_parsed_steps_against_the_report() -> None:
    prm = KeywordPRM()
    reward = ProcessReward(prm, aggregation="mean")
    empty = [{"role": "assistant", "content": ""}]
    values = reward(
        [[{"role": "user", "content": "Q?"}]] * 3, [GOOD, WRONG, empty], report=["Clear lungs.", "", ""]
    )
    assert values[0] == 1.0 and values[1] == 0.0
    assert values[2] == 0.0  # no steps, no process credit
    assert prm.calls[0] == ("Clear lungs.", ["The lungs are clear.", "No effusion."])
    assert prm.calls[1][0] == "Q?"  # no report: the prompt's text is the context
    assert ProcessReward(prm, aggregation="min")(
        [None], ["<think> Clear. A large mass. </think><answer> A </answer>"], report=["r"]
    ) == [0.0]


def test_reward_functions_follow_the_weights_order() -> None:
    assert [getattr(f, "__name__", "") for f in reward_functions(scorer=None)] == [
        "correctness_reward",
        "format_reward",
    ]
    assert len(reward_functions(scorer=KeywordPRM())) == 3
