"""The LLM judge's four prompts, after the paper's released evaluator (``eval/reasoning_eval.py``).

The paper's judge makes four kinds of call per item, each answered with a JSON object:

1. key findings: a chain -> ``{"key_conclusion": [{"observation", "status"}, ...]}`` (once for
   the reference steps, once for the model's output);
2. recall: reference findings vs model findings -> ``{"recalled_findings": [...],
   "recalled_count": n}``;
3. precision: the report vs the model's findings -> ``{"correct_steps": [...],
   "correct_count": n}``, with the rule that what the report does not mention is normal;
4. efficiency: the reference steps vs the model's output -> ``{"effective_steps": [...],
   "effective_count": n, "ineffective_count": m}``.

The task statements, criteria and output keys below follow the released prompts; the wording is
this project's own (the evaluator's repository carries no licence to copy it). Each builder
returns OpenAI chat messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

SYSTEM = "You are a medical AI assistant."


def _messages(user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user.strip()}]


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def key_findings(chain: str | Sequence[str]) -> list[dict[str, str]]:
    """Prompt 1: the key observations of a reasoning chain, each with its status."""
    return _messages(
        f"""
# Context
Reasoning steps: {_as_text(chain)}

# Goal
1. Read the reasoning steps carefully.
2. List each key medical observation they make (for example widening of the mediastinum, size of
   the cardiac silhouette) and the status the reasoning gives it (for example "confirmed as ...",
   "not present", "unlikely").
3. Keep each observation short and tied to the steps; where the steps are ambiguous or
   contradict themselves, report what they say and infer nothing beyond the text.

# Output
Answer with one JSON object and nothing else:
{{"key_conclusion": [{{"observation": "<the finding>", "status": "<its status in the reasoning>"}}]}}
"""
    )


def recall(reference_findings: Any, model_findings: Any) -> list[dict[str, str]]:
    """Prompt 2: which reference findings the model's findings recall."""
    return _messages(
        f"""
# Context
Count how many key findings of the ground truth the model's output recalls.
1. Ground truth: {_as_text(reference_findings)}
2. Model output: {_as_text(model_findings)}

# Goal
Compare each ground-truth observation with the model's observations. An observation is recalled
when its meaning is substantially present in the model output, even if worded differently: judge
semantic equivalence, not wording. List the recalled ground-truth observations and count them.

# Output
Answer with one JSON object and nothing else:
{{"recalled_findings": [{{"observation": "...", "status": "..."}}], "recalled_count": <integer>}}
"""
    )


def precision(report: str, model_findings: Any) -> list[dict[str, str]]:
    """Prompt 3: which of the model's findings the report supports."""
    return _messages(
        f"""
# Context
1. Ground-truth report: {report}
2. Reasoning steps: {_as_text(model_findings)}

# Goal
Decide which reasoning steps are correct according to the chest X-ray report.
- A step is correct when it agrees with, or does not contradict, the report's findings; or when
  it concerns something the report does not mention (the report then implies it is normal) and
  the step calls it normal.
- A step is incorrect when it contradicts the report; or when it concerns something the report
  does not mention and the step calls it abnormal.
- General statements (definitions, intentions) are correct unless they misstate the report.
Count the correct steps.

# Output
Answer with one JSON object and nothing else:
{{"correct_steps": [<the correct steps>], "correct_count": <integer>}}
"""
    )


def efficiency(reference_steps: Any, model_output: str) -> list[dict[str, str]]:
    """Prompt 4: which of the model's reasoning steps the reference supports."""
    return _messages(
        f"""
# Context
1. Reasoning steps (ground truth analysis of a chest X-ray): {_as_text(reference_steps)}
2. Model prediction: {model_output}

# Goal
Identify the distinct reasoning steps of the model prediction. For each, decide whether the
ground-truth reasoning steps support it, contradict it, or do not address it. The efficiency is
the number of supported steps divided by the number of steps in the prediction.

# Output
Answer with one JSON object and nothing else:
{{"effective_steps": [<text of each supported step>], "effective_count": <integer>,
 "ineffective_count": <integer>}}
"""
    )
