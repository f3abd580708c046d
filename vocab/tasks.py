"""Task types: the kinds of question a case asks, with their labels.

Contract: :class:`TaskType` is the stored value (the reasoner's prompts, the database, the exports
all use this one enum); ``label`` is how a person sees it (filters, headings, charts).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class TaskType(enum.StrEnum):
    binary = "binary"
    single_choice = "single_choice"
    multiple_choice = "multiple_choice"
    open_findings = "open_findings"
    temporal = "temporal"

    @property
    def label(self) -> str:
        return TASK_LABELS[self]


TASK_LABELS: Mapping[TaskType, str] = {
    TaskType.binary: "Yes / no",
    TaskType.single_choice: "Single choice",
    TaskType.multiple_choice: "Multiple choice",
    TaskType.open_findings: "Open findings",
    TaskType.temporal: "Comparison with prior",
}


def task_label(value: str) -> str:
    """The label of a task type given as its stored value; an unknown value shows as itself."""
    try:
        return TaskType(value).label
    except ValueError:
        return value
