"""GPT-4o-judged model chains as cases to simulate reviewing (ChestX-Reasoner's evaluation files).

Contract: :func:`judged_cases` reads one evaluation file (``../shared/data``, see its README) and
returns one :class:`JudgedCase` per item GPT-4o judged: the model's steps as the project's step
parser splits ``pred``'s ``<think>`` block (:func:`reasoner.radrscore.evalfile.sample_from_item`),
each step's simulated verdict (wrong unless it lies inside a step GPT-4o quoted as effective,
:func:`reasoner.radrscore.labels.effective_labels`), the report the text PRM reads as evidence,
whether the answer was right (the file's ``correct``), and the report's hash as the group that
keeps one report on one side of a split. Items whose judge field is malformed or whose output
has no steps are left out and counted. No text leaves this process: the cases live in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoner.radrscore.evalfile import read_items, sample_from_item
from reasoner.radrscore.labels import effective_labels


@dataclass(frozen=True)
class JudgedCase:
    """One judged item as a case of the simulated worklist."""

    source: str  # the file's name
    index: int  # its place in the file: its age, the order fifo reviews it in
    context: str  # the report: what the text PRM reads the steps against
    steps: tuple[str, ...]
    wrong: tuple[bool, ...]  # GPT-4o did not count the step as effective
    answer_correct: bool | None
    group: str  # sha256 of the report: every case of one report stays on one side of a split


def judged_case(item: Mapping[str, Any], *, source: str, index: int) -> JudgedCase | None:
    """The case of one item, or None when GPT-4o's verdicts are malformed or there are no steps."""
    sample, _answer, _flags = sample_from_item(item)
    steps = list(sample.model_steps)
    effective = effective_labels(item, steps) if steps else None
    if effective is None:
        return None
    correct = str(item.get("correct", "")).strip().lower()
    return JudgedCase(
        source=source,
        index=index,
        context=sample.report or sample.question,
        steps=tuple(steps),
        wrong=tuple(not e for e in effective),
        answer_correct={"yes": True, "no": False}.get(correct),
        group=hashlib.sha256(sample.report.encode("utf-8")).hexdigest(),
    )


def judged_cases(path: str | Path) -> tuple[list[JudgedCase], int]:
    """(the judged cases of the file at ``path`` in file order, how many items were left out)."""
    name = Path(path).name
    cases, skipped = [], 0
    for i, item in enumerate(read_items(path)):
        case = judged_case(item, source=name, index=i)
        if case is None:
            skipped += 1
        else:
            cases.append(case)
    return cases, skipped
