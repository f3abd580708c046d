"""Pure row builders: a verified chain -> TRL's dataset rows (SFT, stepwise supervision, preference).

Contract: no I/O, no database, no randomness. :class:`VerifiedChain` is a plain, consolidated view
of one reviewed chain (one verdict per model step, however many reviewers there were; see
:mod:`exports.consolidate`). The builders return plain dicts in the formats TRL's
trainers take, each docstring showing a row:

- :func:`sft_row`: vision conversational language modelling (``images`` + ``messages``), the
  verified chain inside ``<think>`` and the verified answer inside ``<answer>``;
- :func:`prm_rows`: stepwise supervision (``prompt``, ``completions``, ``labels``), for
  ``trl.experimental.prm.PRMTrainer``;
- :func:`pair_row`: preference (``prompt``, ``chosen``, ``rejected``), conversational, for DPO.

Extra columns (``id``, ``case_id``, ``chain_id``, ``patient``...) come from ``chain.meta``; TRL's
trainers drop columns they do not use. The training loop imports these builders to make rows from
the same dataclasses without going through files. What each verdict does to its step (kept,
replaced by the correction, dropped) is the verdict's own fact (:class:`vocab.StepEffect`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vocab.verdicts import StepEffect, Verdict

VERDICTS = tuple(v.value for v in Verdict)
_EFFECTS = {v.value: v.facts.effect for v in Verdict}  # a dict: read once per step of every export
_REPLACING = ", ".join(repr(v.value) for v in Verdict if v.facts.needs_text)


@dataclass(frozen=True, slots=True)
class AddedStep:
    """A step a reviewer inserted: after model step ``after`` (-1: before the first)."""

    after: int
    text: str


@dataclass(frozen=True, slots=True)
class VerifiedChain:
    """One chain after review, consolidated: what the row builders need, nothing more.

    ``model_steps`` are the model's original steps in order; ``verdicts[i]`` is the consolidated
    verdict on ``model_steps[i]`` (a :class:`~vocab.Verdict` value) and ``corrections[i]`` the
    corrected text where the verdict carries one ("correct"). ``images`` are paths (prior study
    first for a temporal question); empty for text-only rows. ``corrected_answer`` is set when the
    reviewers disagreed with the model's ``final_answer``.
    """

    prompt: str
    model_steps: tuple[str, ...]
    verdicts: tuple[str, ...]
    corrections: tuple[str | None, ...] = ()
    added_steps: tuple[AddedStep, ...] = ()
    final_answer: str | None = None
    corrected_answer: str | None = None
    images: tuple[str, ...] = ()
    question: str = ""
    options: tuple[str, ...] = ()
    task_type: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.corrections:
            object.__setattr__(self, "corrections", (None,) * len(self.model_steps))
        if not len(self.model_steps) == len(self.verdicts) == len(self.corrections):
            raise ValueError("model_steps, verdicts and corrections must have the same length")
        for verdict, text in zip(self.verdicts, self.corrections, strict=True):
            if verdict not in VERDICTS:
                raise ValueError(f"unknown verdict {verdict!r}; one of {', '.join(VERDICTS)}")
            if (_EFFECTS[verdict] is StepEffect.replace) != bool(text and text.strip()):
                raise ValueError(f"a corrected text goes with, and only with, a {_REPLACING} verdict")

    @property
    def labels(self) -> tuple[bool, ...]:
        """One label per model step: True where the reviewers accepted it as it was."""
        return tuple(_EFFECTS[v] is StepEffect.keep for v in self.verdicts)

    @property
    def verified_steps(self) -> tuple[str, ...]:
        """Accepted steps, corrected texts, added steps in place; rejected steps dropped."""
        out = [a.text for a in self.added_steps if a.after == -1]
        for position, (text, verdict, fixed) in enumerate(
            zip(self.model_steps, self.verdicts, self.corrections, strict=True)
        ):
            effect = _EFFECTS[verdict]
            if effect is StepEffect.keep:
                out.append(text)
            elif effect is StepEffect.replace:
                out.append(fixed or text)
            out.extend(a.text for a in self.added_steps if a.after == position)
        return tuple(out)

    @property
    def verified_answer(self) -> str | None:
        return self.corrected_answer or self.final_answer

    @property
    def changed(self) -> bool:
        """Whether review changed anything (steps or answer)."""
        return self.verified_steps != self.model_steps or self.verified_answer != self.final_answer


def completion_text(steps: Sequence[str], answer: str | None) -> str:
    """ChestX-Reasoner's output format: ``<think> s1 s2 </think><answer> A </answer>``."""
    think = " ".join(s.strip() for s in steps if s.strip())
    return f"<think> {think} </think><answer> {answer or ''} </answer>"


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _prompt_messages(chain: VerifiedChain, *, with_images: bool, system_prompt: str | None) -> list[dict]:
    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": [_text(system_prompt)]})
    parts: list[dict[str, Any]] = [{"type": "image"} for _ in chain.images] if with_images else []
    messages.append({"role": "user", "content": [*parts, _text(chain.prompt)]})
    return messages


def _assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [_text(text)]}


def sft_row(
    chain: VerifiedChain, *, with_images: bool = True, system_prompt: str | None = None
) -> dict[str, Any]:
    """A vision conversational SFT row (``SFTTrainer``), the verified chain as the answer.

    ```python
    >>> sft_row(chain)
    {"id": "chain-12", "case_id": 7, "chain_id": 12, ...,
     "images": ["train/images/3f9c...png"],
     "messages": [
        {"role": "user", "content": [{"type": "image"},
                                     {"type": "text", "text": "Is there a pneumothorax? ..."}]},
        {"role": "assistant", "content": [{"type": "text",
            "text": "<think> The lungs are clear. No pleural line. </think><answer> B </answer>"}]}]}
    ```
    Without images (``with_images=False`` or a chain without images) there is no ``images``
    column and no image part: a text-only conversational row.
    """
    with_images = with_images and bool(chain.images)
    row: dict[str, Any] = dict(chain.meta)
    if with_images:
        row["images"] = list(chain.images)
    row["messages"] = [
        *_prompt_messages(chain, with_images=with_images, system_prompt=system_prompt),
        _assistant(completion_text(chain.verified_steps, chain.verified_answer)),
    ]
    return row


def prm_rows(chain: VerifiedChain, *, include_verified: bool = True) -> list[dict[str, Any]]:
    """Stepwise-supervision rows (``PRMTrainer``): the model's steps with the reviewers' labels,
    then the verified chain as an all-true row when review changed the steps.

    ```python
    >>> prm_rows(chain)
    [{"id": "chain-12/model", ..., "source": "model",
      "prompt": "Is there a pneumothorax? Options:\\nA) Yes\\nB) No\\nLet's think step by step. ...",
      "completions": ["The lungs are clear.", "A pleural line is seen.", "So the answer is A."],
      "labels": [True, False, False]},
     {"id": "chain-12/verified", ..., "source": "verified",
      "prompt": "...", "completions": ["The lungs are clear.", "No pleural line is seen."],
      "labels": [True, True]}]
    ```
    A chain without model steps gives no model row; an all-rejected chain gives no verified row.
    """
    rows = []
    base = dict(chain.meta)
    base_id = str(base.pop("id", f"chain-{base.get('chain_id', '')}"))
    if chain.model_steps:
        rows.append(
            {
                "id": f"{base_id}/model",
                **base,
                "source": "model",
                "prompt": chain.prompt,
                "completions": list(chain.model_steps),
                "labels": list(chain.labels),
            }
        )
    verified = chain.verified_steps
    if include_verified and verified and verified != chain.model_steps:
        rows.append(
            {
                "id": f"{base_id}/verified",
                **base,
                "source": "verified",
                "prompt": chain.prompt,
                "completions": list(verified),
                "labels": [True] * len(verified),
            }
        )
    return rows


def pair_row(
    chain: VerifiedChain, *, with_images: bool = True, system_prompt: str | None = None
) -> dict[str, Any] | None:
    """A conversational preference row (DPO): the verified chain over the model's original.

    ```python
    >>> pair_row(chain)
    {"id": "chain-12", ..., "images": ["train/images/3f9c...png"],
     "prompt": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "..."}]}],
     "chosen": [{"role": "assistant", "content": [{"type": "text", "text":
                 "<think> The lungs are clear. No pleural line is seen. </think><answer> B </answer>"}]}],
     "rejected": [{"role": "assistant", "content": [{"type": "text", "text":
                 "<think> The lungs are clear. A pleural line is seen. </think><answer> A </answer>"}]}]}
    ```
    None when review changed nothing (no preference to learn) or left no verified step.
    """
    if not chain.changed or not chain.verified_steps:
        return None
    with_images = with_images and bool(chain.images)
    row: dict[str, Any] = dict(chain.meta)
    if with_images:
        row["images"] = list(chain.images)
    row["prompt"] = _prompt_messages(chain, with_images=with_images, system_prompt=system_prompt)
    row["chosen"] = [_assistant(completion_text(chain.verified_steps, chain.verified_answer))]
    row["rejected"] = [_assistant(completion_text(chain.model_steps, chain.final_answer))]
    return row
