"""The shared vocabularies: every kind, label, key and limit that more than one layer names.

Contract: the bottom package. It imports nothing of the project, so every layer may import it
(the reasoner included). Each vocabulary is defined once, with its presentation facts (label,
keyboard key, CSS kind, chart colour) and, for verdicts, what it does to the training data;
everything else derives from it: the database's CHECK constraints, the store's validation, the
pages, the dashboards, the exports, and the browser's copy (rendered into the page by the server,
:mod:`vocab.browser`).

- :mod:`vocab.verdicts`: step verdicts and answer verdicts;
- :mod:`vocab.tasks`: task types; :mod:`vocab.cases`: case, chain and step states, chain flags;
- :mod:`vocab.roles`: user roles; :mod:`vocab.training`: model and training-run states;
- :mod:`vocab.keys`: the review page's keyboard; :mod:`vocab.limits`: text limits;
- :mod:`vocab.errors`: :class:`ChestXError`, the base of every error meant for a person.
"""

from __future__ import annotations

from vocab.cases import FLAG_LABELS, CaseStatus, ChainSource, ChainStatus, StepKind, flag_label
from vocab.errors import ChestXError
from vocab.limits import MAX_TEXT
from vocab.roles import Role
from vocab.tasks import TASK_LABELS, TaskType, task_label
from vocab.training import ModelStatus, RunKind, RunStatus
from vocab.verdicts import AnswerFacts, AnswerVerdict, StepEffect, Verdict, VerdictFacts

__all__ = [
    "FLAG_LABELS",
    "MAX_TEXT",
    "TASK_LABELS",
    "AnswerFacts",
    "AnswerVerdict",
    "CaseStatus",
    "ChainSource",
    "ChainStatus",
    "ChestXError",
    "ModelStatus",
    "Role",
    "RunKind",
    "RunStatus",
    "StepEffect",
    "StepKind",
    "TaskType",
    "Verdict",
    "VerdictFacts",
    "flag_label",
    "task_label",
]
