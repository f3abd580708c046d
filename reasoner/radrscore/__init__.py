"""RadRScore: how complete, factual and effective a chest X-ray reasoning chain is.

As the ChestX-Reasoner paper's released evaluator computes it, per sample with reference steps R
and model steps M (see docs/RADRSCORE.md):

- completeness = |findings of R recalled by M| / |findings of R|
- factuality = |findings of M supported by the report or reference| / |findings of M|
- effectiveness = |steps of M that advance toward the answer| / |steps of M|

A :class:`Judge` extracts findings with a status and decides recall, support and effectiveness:
:class:`OfflineJudge` (the default: rule extraction, all-MiniLM-L6-v2 similarities under hard
laterality and polarity constraints, decisions learned from GPT-4o's per-finding verdicts),
:class:`RuleJudge` (issue 7's hand-tuned thresholds) or :class:`LLMJudge` (the paper's prompts to
an OpenAI-compatible endpoint). Undefined components (no findings, no steps, a failed endpoint)
are None with a flag, never a division by zero. This package knows nothing of the database or the UI.
"""

from reasoner.radrscore.evalfile import model_answer, paper_scores, read_items, sample_from_item
from reasoner.radrscore.judge import Judge
from reasoner.radrscore.llm import LLMJudge, LLMJudgeConfig
from reasoner.radrscore.offline import OfflineJudge
from reasoner.radrscore.rules import RuleJudge, RuleJudgeConfig
from reasoner.radrscore.runner import score_items, summarise
from reasoner.radrscore.score import (
    aggregate,
    answer_correct,
    answer_letters,
    finding_f1,
    sample_score,
)
from reasoner.radrscore.types import Finding, Flag, Judgement, Sample, SampleScore, Status

__all__ = [
    "Finding",
    "Flag",
    "Judge",
    "Judgement",
    "LLMJudge",
    "LLMJudgeConfig",
    "OfflineJudge",
    "RuleJudge",
    "RuleJudgeConfig",
    "Sample",
    "SampleScore",
    "Status",
    "aggregate",
    "answer_correct",
    "answer_letters",
    "finding_f1",
    "model_answer",
    "paper_scores",
    "read_items",
    "sample_from_item",
    "sample_score",
    "score_items",
    "summarise",
]
