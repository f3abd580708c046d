"""GRPO reward functions: answer correctness, output format, and process reward from a PRM.

Contract: each reward is a callable in TRL's reward-function form,
``reward(prompts, completions, **columns) -> list[float]`` with one value in [0, 1] per
completion (completions are TRL's conversational ``[{"role": "assistant", "content": ...}]`` or
plain strings). The dataset columns they read: ``answer`` (the verified answer, normalised like
"B" or "A,C") and, for the process reward, ``report`` (evidence the PRM compares steps with).
Completions are parsed by :func:`reasoner.parsing.parse_output`, the same parser the review app
uses, so "a step" means the same thing to the reward as to a reviewer.

The weights of the three live in the GRPO config (``correctness_weight``, ``format_weight``,
``process_weight``) and become TRL's ``reward_weights``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reasoner.parsing import parse_output
from training.data import prompt_text
from training.prm import StepScorer


def completion_text(completion: Any) -> str:
    """The text of one completion (a string, or TRL's list of assistant messages)."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion or []:
        content = message.get("content", "")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(p.get("text", "") for p in content if p.get("type") == "text")
    return "".join(parts)


def _letters(answer: str | None) -> frozenset[str]:
    return frozenset(a.strip().upper() for a in (answer or "").split(",") if a.strip())


def correctness_reward(
    prompts: Sequence[Any], completions: Sequence[Any], answer: Sequence[str | None], **_: Any
) -> list[float]:
    """1 for the verified answer; for several letters the Jaccard overlap; 0 when unparsable."""
    out = []
    for completion, reference in zip(completions, answer, strict=True):
        got, want = _letters(parse_output(completion_text(completion)).answer), _letters(reference)
        out.append(len(got & want) / len(got | want) if got and want else 0.0)
    return out


def format_reward(prompts: Sequence[Any], completions: Sequence[Any], **_: Any) -> list[float]:
    """1 for ``<think> steps </think><answer> X </answer>``; 0.5 when readable but flagged; else 0."""
    out = []
    for completion in completions:
        parsed = parse_output(completion_text(completion))
        if parsed.malformed:
            out.append(0.0)
        elif parsed.flags - {"multiple_answers"}:
            out.append(0.5)
        else:
            out.append(1.0)
    return out


class ProcessReward:
    """The PRM's judgement of the generated steps: their mean (or minimum) probability of being correct.

    A completion with no steps gets 0: a chain that shows no reasoning earns no process credit.
    """

    __name__ = "process_reward"  # TRL names reward columns after the callable

    def __init__(self, scorer: StepScorer, *, aggregation: str = "mean") -> None:
        if aggregation not in ("mean", "min"):
            raise ValueError("aggregation must be 'mean' or 'min'")
        self.scorer = scorer
        self.aggregation = aggregation

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        report: Sequence[str | None] | None = None,
        **_: Any,
    ) -> list[float]:
        reports = list(report) if report is not None else [None] * len(completions)
        out = []
        for prompt, completion, rep in zip(prompts, completions, reports, strict=True):
            steps = list(parse_output(completion_text(completion)).steps)
            if not steps:
                out.append(0.0)
                continue
            context = rep or (prompt_text(prompt) if not isinstance(prompt, str) else prompt)
            scores = self.scorer.score(context, steps)
            out.append(float(min(scores) if self.aggregation == "min" else sum(scores) / len(scores)))
        return out


def reward_functions(
    *, scorer: StepScorer | None, aggregation: str = "mean"
) -> list[Callable[..., list[float]]]:
    """[correctness, format, process] (process only with a PRM), in the order of the weights."""
    funcs: list[Callable[..., list[float]]] = [correctness_reward, format_reward]
    if scorer is not None:
        funcs.append(ProcessReward(scorer, aggregation=aggregation))
    return funcs
