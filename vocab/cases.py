"""Cases, their chains and steps: statuses, sources, kinds, and the flags a chain can carry.

Contract: the enums are the stored values; ``label`` (where people see one) and
:func:`flag_label` are how a person sees them. Chain flags are plain strings that the reasoner's
parser and the store set (``reasoner.parsing``, ``review_db.store.cases.add_chain``); an unknown
flag shows as its words.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class CaseStatus(enum.StrEnum):
    open = "open"  # waiting for (more) reviews
    verified = "verified"  # has its required number of submitted reviews
    archived = "archived"  # withdrawn from the worklist

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ChainSource(enum.StrEnum):
    model = "model"  # in-process transformers backend
    endpoint = "endpoint"  # OpenAI-compatible server
    report = "report"  # mined from the study's report
    imported = "imported"  # predictions file
    demo = "demo"  # written for the offline demo


class ChainStatus(enum.StrEnum):
    complete = "complete"
    incomplete = "incomplete"  # generation stopped early (cancelled, dropped, truncated)
    malformed = "malformed"  # output did not follow the <think>/<answer> format


class StepKind(enum.StrEnum):
    model = "model"  # produced by the reasoner
    added = "added"  # inserted by a reviewer


# What the parser's and the store's flags on a chain mean, for people.
FLAG_LABELS: Mapping[str, str] = {
    "answer_outside_options": "answer is not one of the options",
    "chat_template_stripped": "chat template removed from the output",
    "empty": "empty output",
    "extra_text": "text after the answer",
    "incomplete": "generation stopped early",
    "malformed": "not in the <think>/<answer> format",
    "multiple_answer_tags": "several <answer> tags",
    "multiple_answers": "several answers",
    "no_answer": "no final answer",
    "no_reasoning": "no reasoning",
    "no_steps": "no reasoning steps",
    "no_think_tag": "no <think> tag",
    "text_before_think": "text before <think>",
    "truncated": "cut off at the length limit",
    "unclosed_think": "<think> never closed",
}


def flag_label(flag: str) -> str:
    """A chain flag for people: its label, or its words when it has none."""
    return FLAG_LABELS.get(flag, flag.replace("_", " "))
