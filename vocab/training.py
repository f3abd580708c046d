"""Model versions and training runs: their statuses and kinds.

Contract: the enums are the stored values; ``ModelStatus.label`` says what a status means for a
person (the dashboards' model chart).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class ModelStatus(enum.StrEnum):
    candidate = "candidate"
    promoted = "promoted"  # the current model; at most one at a time
    retired = "retired"  # was promoted once
    rejected = "rejected"  # lost its evaluation

    @property
    def label(self) -> str:
        return MODEL_STATUS_LABELS[self]


MODEL_STATUS_LABELS: Mapping[ModelStatus, str] = {
    ModelStatus.candidate: "candidate, not evaluated",
    ModelStatus.promoted: "promoted (current)",
    ModelStatus.retired: "promoted, since replaced",
    ModelStatus.rejected: "rejected at evaluation",
}


class RunKind(enum.StrEnum):
    sft = "sft"
    prm = "prm"
    rl = "rl"
    eval = "eval"
    loop = "loop"


class RunStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
