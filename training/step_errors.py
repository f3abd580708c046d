"""A step-error task for process reward models: correct steps and steps with one error swapped in.

Contract: pure functions, seeded, no I/O. :func:`corrupt_step` turns a correct reasoning step into
an incorrect one by one of three edits a radiologist would reject:

- ``laterality``: left and right swapped ("small right pleural effusion" -> "small left ...");
- ``negation``: one claim's polarity flipped ("no pneumothorax" -> "pneumothorax",
  "the absence of opacification" -> "the presence of opacification");
- ``finding``: one finding replaced by a different one ("cardiomegaly" -> "pneumothorax").

:func:`step_error_rows` builds TRL stepwise-supervision rows from chains (``reason_steps`` of
ChestX-Reasoner's evaluation files, or verified chains): every step is kept or, with probability
``p_error``, corrupted, and labelled accordingly::

    {"prompt": "Which findings ...", "completions": ["The heart is enlarged.", ...],
     "labels": [True, False, ...], "report": "Findings: ...", "group": "item-17",
     "error_kinds": ["", "laterality", ...]}

``report`` is the evidence a text-only PRM compares steps against (see :func:`prm_context`);
``group`` keeps all rows of one item (one patient) in the same split.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from typing import Any

ERROR_KINDS = ("laterality", "negation", "finding")

_SIDE = re.compile(r"\b(left|right)\b", re.IGNORECASE)
# Clause boundaries, and the cues that make a clause deny what it names.
_CLAUSE_BREAK = re.compile(
    r"[,;:.]\s*|\s+(?:which|that|while|whereas|but|therefore|thus|indicating|suggesting|supporting|"
    r"confirming|ruling|and (?:there|no|the))\b",
    re.IGNORECASE,
)
_NEGATED = re.compile(
    r"\b(?:no|not|without|absen(?:ce|t)|negative|free of|rul(?:e|es|ed|ing) out|exclud\w*|clear|normal|"
    r"unremarkable|intact|inapplicable|lack of|nor|neither)\b",
    re.IGNORECASE,
)

# (pattern, replacement) pairs, each flipping whether a finding is there; tried in order, first hit.
# Connectives ("confirming", "suggesting") are left alone: changing them changes the inference,
# not whether a finding is present, and a negation error is about the finding.
_NEGATION_FLIPS: tuple[tuple[str, str], ...] = (
    (r"\bno (?:evidence|signs?|indications?) of\b", "evidence of"),
    (r"\bthere (?:is|are) no\b", "there is"),
    (r"\bwithout (?:any )?(?:evidence of )?", "with "),
    (r"\babsence of\b", "presence of"),
    (r"\bpresence of\b", "absence of"),
    (r"\b(is|are|was|were) not\b", r"\1"),
    (r"\bdoes not (show|reveal|demonstrate)\b", r"\1s"),
    (r"\bno\s+", ""),
    (r"\bnormal\b", "abnormal"),
    (r"\bclear\b", "opacified"),
    (r"\b(?<!no )(?<!not )(is|are) (seen|noted|observed|present|visible|identified)\b", r"\1 not \2"),
    (r"\b(?:shows|reveals|demonstrates)\b(?!\s+(?:no|any|neither)\b)", "does not show"),
)
_NEGATION_RES = tuple((re.compile(p, re.IGNORECASE), r) for p, r in _NEGATION_FLIPS)

# Findings that can stand in for one another; multi-word terms first so they match whole.
FINDINGS = (
    "pleural effusion",
    "pneumothorax",
    "cardiomegaly",
    "consolidation",
    "atelectasis",
    "pulmonary edema",
    "pneumonia",
    "nodule",
    "mass",
    "emphysema",
    "rib fracture",
    "granuloma",
    "hiatal hernia",
    "scoliosis",
    "effusion",
    "opacity",
    "opacities",
    "infiltrate",
    "edema",
    "fracture",
    "hyperinflation",
    "hypoinflation",
    "calcification",
    "scarring",
    "fibrosis",
)
_FINDING_RE = re.compile(r"\b(" + "|".join(re.escape(f) for f in FINDINGS) + r")\b", re.IGNORECASE)
# Terms that name the same thing do not replace one another (that would be no error).
_SAME = {
    "effusion": "pleural effusion",
    "edema": "pulmonary edema",
    "opacities": "opacity",
    "fracture": "rib fracture",
}


def _match_case(template: str, word: str) -> str:
    return word.capitalize() if template[:1].isupper() else word


def affirmative_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the clauses of ``text`` that assert rather than deny.

    Swapping the side or the name of a finding that a clause denies ("no left effusion") often
    leaves a statement that is still true ("no right effusion"); only an asserted finding turns
    into an error when swapped.
    """
    spans, start = [], 0
    for match in _CLAUSE_BREAK.finditer(text + "."):
        end = match.start()
        if end > start and not _NEGATED.search(text[start:end]):
            spans.append((start, end))
        start = match.end()
    return spans


def _in_spans(match: re.Match, spans: Sequence[tuple[int, int]]) -> bool:
    return any(a <= match.start() and match.end() <= b for a, b in spans)


def swap_laterality(text: str) -> str | None:
    """Every side swapped (left <-> right), when a clause that asserts a finding names one; else None.

    All sides move together, as in a real laterality error (the model sees the image mirrored),
    so the step stays consistent with itself and only the evidence can tell it is wrong.
    """
    if not any(_SIDE.search(text, a, b) for a, b in affirmative_spans(text)):
        return None
    return _SIDE.sub(
        lambda m: _match_case(m.group(0), "right" if m.group(0).lower() == "left" else "left"), text
    )


def flip_negation(text: str) -> str | None:
    """Flip the polarity of the step's first claim that a known cue marks; None when there is none.

    The leftmost cue wins: it belongs to the step's main claim, the observation that the rest of
    the step explains.
    """
    hits = [(m.start(), i, m) for i, (pattern, _) in enumerate(_NEGATION_RES) if (m := pattern.search(text))]
    if not hits:
        return None
    _, index, match = min(hits, key=lambda h: (h[0], h[1]))
    replacement = _NEGATION_RES[index][1]
    new = text[: match.start()] + _match_case(match.group(0), match.expand(replacement)) + text[match.end() :]
    return new[:1].upper() + new[1:] if match.start() == 0 else new


def swap_finding(text: str, rng: random.Random) -> str | None:
    """Replace one asserted finding (chosen by ``rng``) by a different one; None when there is none."""
    spans = affirmative_spans(text)
    matches = [m for m in _FINDING_RE.finditer(text) if _in_spans(m, spans)]
    if not matches:
        return None
    match = rng.choice(matches)
    found = match.group(0).lower()
    canon = _SAME.get(found, found)
    choices = [f for f in FINDINGS if _SAME.get(f, f) != canon and f not in _SAME]
    new = rng.choice(choices)
    return text[: match.start()] + _match_case(match.group(0), new) + text[match.end() :]


def corrupt_step(text: str, rng: random.Random, kinds: Sequence[str] = ERROR_KINDS) -> tuple[str, str] | None:
    """An incorrect version of ``text`` and the kind of error, or None when no edit applies.

    Kinds are tried in a random order (from ``rng``); the first that changes the text wins.
    """
    order = list(kinds)
    rng.shuffle(order)
    for kind in order:
        if kind == "laterality":
            new = swap_laterality(text)
        elif kind == "negation":
            new = flip_negation(text)
        elif kind == "finding":
            new = swap_finding(text, rng)
        else:
            raise ValueError(f"unknown error kind {kind!r}; one of {ERROR_KINDS}")
        if new is not None and new.strip().lower() != text.strip().lower():
            return new, kind
    return None


def step_error_rows(
    items: Iterable[dict[str, Any]], *, seed: int = 0, p_error: float = 0.5, variants: int = 1
) -> list[dict[str, Any]]:
    """Stepwise-supervision rows with some steps corrupted (see the module docstring).

    ``items``: dicts with ``reason_steps`` (list of str, or one str), and optionally ``question``,
    ``original_report`` (or ``report``) and ``group`` (default: the item's index). ``variants``
    rows are made per item, each with its own random corruptions.
    """
    rng = random.Random(seed)
    rows = []
    for index, item in enumerate(items):
        steps = item.get("reason_steps") or []
        steps = [steps] if isinstance(steps, str) else [s for s in steps if s and s.strip()]
        if not steps:
            continue
        for _ in range(variants):
            completions, labels, kinds = [], [], []
            for step in steps:
                bad = corrupt_step(step, rng) if rng.random() < p_error else None
                completions.append(bad[0] if bad else step)
                labels.append(bad is None)
                kinds.append(bad[1] if bad else "")
            rows.append(
                {
                    "prompt": item.get("question", ""),
                    "completions": completions,
                    "labels": labels,
                    "report": item.get("original_report") or item.get("report") or "",
                    "group": str(item.get("group", f"item-{index}")),
                    "error_kinds": kinds,
                }
            )
    return rows


def prm_context(row: dict[str, Any]) -> str:
    """The text a PRM reads before the steps: the report when the row has one, else the prompt.

    A text-only PRM cannot see the image; the report is what stands in for it. Without a report
    the PRM can only judge a step against the question, i.e. for plausibility.
    """
    report = (row.get("report") or "").strip()
    if report:
        return report
    prompt = row.get("prompt") or ""
    if isinstance(prompt, str):
        return prompt
    texts = []  # conversational: the user's text parts
    for message in prompt:
        content = message.get("content", "")
        parts = (
            [content]
            if isinstance(content, str)
            else [p.get("text", "") for p in content if p.get("type") == "text"]
        )
        if message.get("role") == "user":
            texts.extend(parts)
    return "\n".join(texts)
