"""GPT-4o's per-finding verdicts in the paper's evaluation files, as training labels.

An item the released evaluator judged carries GPT-4o's findings of the reference chain
(``gt_key_finding``) and of the model chain (``pred_key_finding``), which reference findings it
counted as recalled (``recall_res.recalled_findings``), which model findings as correct
(``precision_res.correct_steps``), and which model steps as effective
(``efficiency.effective_steps``, quoted; the ineffective ones are only counted). This module turns
them into labelled units:

- :func:`gpt_units`: GPT-4o's findings as :class:`Finding` s with their verdicts, each placed in
  the step of its chain whose words cover it best;
- :func:`effective_labels`: per model step, whether it lies inside a step GPT-4o quoted as
  effective.

A malformed judge field (not the expected JSON shape) gives no units, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from reasoner.radrscore.extract import core_phrase, laterality
from reasoner.radrscore.features import words
from reasoner.radrscore.llm import status_from_text
from reasoner.radrscore.types import Finding, Status

_LEADING_NO = re.compile(r"\s*(?:no|absence of|normal)\b", re.IGNORECASE)
_NOT_MENTIONED = re.compile(r"not mentioned|unavailable|not (?:addressed|assessed|discussed)", re.IGNORECASE)
# component -> (findings field, verdict field, list inside it)
FIELDS = {
    "completeness": ("gt_key_finding", "recall_res", "recalled_findings"),
    "factuality": ("pred_key_finding", "precision_res", "correct_steps"),
}


def plain(text: str) -> str:
    """Lower-case words joined by single spaces (how verdict lists are matched to findings)."""
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def gpt_status(observation: str, status: str) -> Status:
    """A status for GPT-4o's free-text one; "No X: confirmed" is X absent."""
    found = status_from_text(status) if status else Status.PRESENT
    if _LEADING_NO.match(observation) and found.positive:
        return Status.ABSENT
    return found


def _rows(item: Mapping[str, Any], key: str) -> list[Mapping[str, Any]] | None:
    value = item.get(key)
    rows = value.get("key_conclusion") if isinstance(value, Mapping) else None
    if not isinstance(rows, list):
        return None
    return [r for r in rows if isinstance(r, Mapping) and str(r.get("observation", "")).strip()]


def _step_of(text: str, steps: Sequence[set[str]]) -> int:
    """The step whose words cover ``text`` best (the first on ties; 0 without steps)."""
    mine = words(text)
    if not mine or not steps:
        return 0
    scores = [len(mine & s) for s in steps]
    return max(range(len(steps)), key=lambda i: (scores[i], -i))


def gpt_units(
    item: Mapping[str, Any], component: str, steps: Sequence[str]
) -> tuple[list[Finding], list[bool]] | None:
    """GPT-4o's findings behind one score and its verdict on each, or None when malformed.

    ``steps`` are the chain the findings were extracted from (the reference chain for
    completeness, the model chain for factuality); each finding's ``step`` is where its words
    occur. A finding GPT-4o marked "not mentioned" keeps status uncertain.
    """
    findings_key, verdict_key, field = FIELDS[component]
    rows = _rows(item, findings_key)
    if rows is None:
        return None
    verdict = item.get(verdict_key)
    listed = verdict.get(field) if isinstance(verdict, Mapping) else None
    judged = {plain(str(r.get("observation", ""))) for r in listed or [] if isinstance(r, Mapping)}
    step_words = [words(s) for s in steps]
    units, labels = [], []
    for row in rows:
        observation, status = str(row["observation"]), str(row.get("status", ""))
        found = Status.UNCERTAIN if _NOT_MENTIONED.search(status) else gpt_status(observation, status)
        core = core_phrase(observation) or plain(observation)
        units.append(
            Finding(observation, found, core, laterality(observation), step=_step_of(observation, step_words))
        )
        labels.append(plain(observation) in judged)
    return units, labels


def effective_labels(
    item: Mapping[str, Any], steps: Sequence[str], *, cover: float = 0.8
) -> list[bool] | None:
    """Per step: inside a step GPT-4o quoted as effective (``cover`` of its words); None if malformed."""
    efficiency = item.get("efficiency")
    quoted = efficiency.get("effective_steps") if isinstance(efficiency, Mapping) else None
    if not isinstance(quoted, list) or efficiency.get("effective_count") is None:
        return None
    pools = [words(str(q)) for q in quoted]
    out = []
    for step in steps:
        mine = words(step)
        share = max((len(mine & p) / len(mine) for p in pools), default=0.0) if mine else 0.0
        out.append(share >= cover)
    return out


def effective_counts(item: Mapping[str, Any], labels: Sequence[float]) -> list[float]:
    """Per model unit, how many of GPT-4o's steps it stands for (the weight target of effectiveness).

    GPT-4o splits the output into steps of its own and counts the effective and the ineffective
    ones: the effective count is shared among the units inside a quoted effective step, the
    ineffective count among the others. NaN where the counts or the unit's label are missing.
    """
    efficiency = item.get("efficiency")
    counts = (
        (efficiency.get("effective_count"), efficiency.get("ineffective_count"))
        if isinstance(efficiency, Mapping)
        else (None, None)
    )
    if not all(isinstance(c, int | float) for c in counts):
        return [float("nan")] * len(labels)
    known = [label for label in labels if label == label]  # NaN != NaN
    n_effective, n_other = sum(1 for v in known if v), sum(1 for v in known if not v)
    out = []
    for label in labels:
        if label != label:
            out.append(float("nan"))
        elif label:
            out.append(counts[0] / n_effective)
        else:
            out.append(counts[1] / n_other)
    return out
