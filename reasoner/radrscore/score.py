"""RadRScore from judgements, averages per task type, and outcome accuracy.

- :func:`sample_score`: completeness = recalled / reference findings, factuality = supported /
  model findings, effectiveness = effective / counted steps; a zero or missing denominator gives
  None with a flag, never a division by zero.
- :func:`aggregate`: per task type and overall, the mean over the items where a component is
  defined (``mean``) and the paper's own average (``paper_mean``: the released evaluator adds 0
  for an undefined item and divides by all items), with the count of items behind each.
- :func:`answer_letters`, :func:`answer_correct`: answer letter match (a set for multiple
  answers); :func:`finding_f1`: set F1 of findings for open questions.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from reasoner.radrscore.extract import core_phrase, laterality
from reasoner.radrscore.types import Flag, Judgement, SampleScore

COMPONENTS = ("completeness", "factuality", "effectiveness")

_TAGGED = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL | re.IGNORECASE)
_LETTER = re.compile(r"(?<![A-Za-z])([A-H])(?![A-Za-z])")


def _ratio(num: int | None, den: int | None) -> float | None:
    if num is None or not den:
        return None
    return min(1.0, max(0.0, num / den))


def sample_score(judgement: Judgement) -> SampleScore:
    """Scores of one judged sample; each component in [0, 1] or None (undefined, flagged)."""
    flags = list(judgement.flags)
    completeness = _ratio(judgement.n_recalled, judgement.n_reference_findings)
    factuality = _ratio(judgement.n_supported, judgement.n_model_findings)
    effectiveness = _ratio(judgement.n_effective, judgement.n_steps)
    if judgement.n_reference_findings == 0 and Flag.NO_REFERENCE_FINDINGS not in flags:
        flags.append(Flag.NO_REFERENCE_FINDINGS)
    if judgement.n_model_findings == 0 and Flag.NO_MODEL_FINDINGS not in flags:
        flags.append(Flag.NO_MODEL_FINDINGS)
    if judgement.n_steps == 0 and Flag.NO_MODEL_STEPS not in flags:
        flags.append(Flag.NO_MODEL_STEPS)
    return SampleScore(completeness, factuality, effectiveness, tuple(dict.fromkeys(flags)))


def aggregate(scores: Sequence[SampleScore], task_types: Sequence[str] | None = None) -> dict[str, dict]:
    """Averages per task type and ``overall``.

    Returns ``{group: {"n": items, component: {"mean", "paper_mean", "n_defined"}}}``; ``mean``
    is None when no item of the group defines the component.
    """
    task_types = list(task_types) if task_types is not None else ["unknown"] * len(scores)
    if len(task_types) != len(scores):
        raise ValueError("task_types and scores differ in length")
    groups: dict[str, list[SampleScore]] = defaultdict(list)
    for score, task in zip(scores, task_types, strict=True):
        groups[task].append(score)
        groups["overall"].append(score)
    out = {}
    for group, members in sorted(groups.items(), key=lambda kv: (kv[0] == "overall", kv[0])):
        row: dict = {"n": len(members)}
        for name in COMPONENTS:
            values = [getattr(s, name) for s in members if getattr(s, name) is not None]
            row[name] = {
                "mean": sum(values) / len(values) if values else None,
                "paper_mean": sum(values) / len(members) if members else None,
                "n_defined": len(values),
            }
        out[group] = row
    return out


def answer_letters(text: str | None) -> frozenset[str]:
    """Option letters in an answer (``<answer> A, C </answer>``, ``B``, ``(D)``), upper-cased.

    Text inside ``<answer>`` tags wins; an answer naming no letter gives the empty set.
    """
    if not text:
        return frozenset()
    tagged = _TAGGED.search(text)
    body = tagged.group(1) if tagged else text
    return frozenset(m.group(1).upper() for m in _LETTER.finditer(body.strip()))


def answer_correct(predicted: str | None, reference: str | None) -> bool | None:
    """Letter-set match of a predicted and a reference answer; None when either names no letter."""
    pred, ref = answer_letters(predicted), answer_letters(reference)
    if not pred or not ref:
        return None
    return pred == ref


def answer_findings(text: str | None) -> list[str]:
    """Finding phrases of a free-text answer ("cardiomegaly, small left effusion and edema")."""
    tagged = _TAGGED.search(text or "")
    body = tagged.group(1) if tagged else (text or "")
    return [p.strip() for p in re.split(r",|;|\band\b|\n", body) if p.strip()]


def finding_f1(predicted: Iterable[str], reference: Iterable[str]) -> float | None:
    """Set F1 of finding phrases (open questions); None when both sets are empty.

    Phrases are compared by their normalised core with the side kept ("enlarged cardiac
    silhouette" and "cardiomegaly" are one finding; "left effusion" and "right effusion" two).
    """

    def norm(items: Iterable[str]) -> set[str]:
        out = set()
        for item in items:
            core = core_phrase(item)
            if core:
                out.add(f"{laterality(item) or ''} {core}".strip())
        return out

    pred, ref = norm(predicted), norm(reference)
    if not pred and not ref:
        return None
    hits = len(pred & ref)
    if not hits:
        return 0.0
    precision, recall = hits / len(pred), hits / len(ref)
    return 2 * precision * recall / (precision + recall)
