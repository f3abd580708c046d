"""ChestX-Reasoner evaluation files: reading them, and turning an item into a judge's Sample.

An item carries ``question``, ``answer`` (``<answer> C </answer>``), ``pred`` (the model's full
decoded output, chat template included), ``reason_steps`` (the reference chain: a list of steps
or one string) and ``original_report``; temporal items may carry ``original_report_1`` and
``original_report_2`` instead. Files are a JSON list or JSON Lines. Items the paper's evaluator
already judged also carry GPT-4o's verdicts; :func:`paper_scores` turns those into the three
scores exactly as the released evaluator does, so an offline judge can be checked against them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from reasoner.parsing import parse_output
from reasoner.radrscore.extract import split_sentences
from reasoner.radrscore.score import answer_letters
from reasoner.radrscore.types import Flag, Sample

_OPTION_LINE = re.compile(r"^\s*\(?([A-H])[).:]\s*(.+?)\s*$", re.MULTILINE)
_NUMBERED_STEP = re.compile(r"(?:^|\n)\s*(?:step\s*)?\d{1,2}[.):]\s+", re.IGNORECASE)
# An option named in untagged prose: "option B", "the answer is: **C)", "(D)", "**A**".
_NAMED_OPTION = re.compile(
    r"\b(?:option|answer(?:\s+is)?|choice)\s*[:\-]?\s*\**\s*\(?([A-H])\b(?![a-z'])|"
    r"(?:^|[\s*:(\"'])([A-H])\)|\*\*([A-H])\*\*|\(([A-H])\)",
    re.IGNORECASE,
)


def read_items(path: str | Path) -> list[dict[str, Any]]:
    """Items of a JSON list or JSON Lines file, in file order.

    Raises ValueError naming the line when a JSON Lines row is not a JSON object.
    """
    text = Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = json.loads(stripped)
        if not all(isinstance(item, dict) for item in data):
            raise ValueError(f"{path}: every element of the JSON list must be an object")
        return data
    items = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise ValueError(f"{path}:{lineno}: not a JSON object")
        items.append(item)
    return items


def iter_items(path: str | Path) -> Iterator[dict[str, Any]]:
    """The items of :func:`read_items`, one at a time."""
    yield from read_items(path)


def _assistant_part(raw: str) -> str:
    """The model's own output: the text after the last ``<think>`` or ``assistant`` turn marker.

    ChestX-Reasoner's ``pred`` holds the whole decoded conversation, whose user prompt itself
    mentions ``<think></think>``; only the last occurrence opens the model's reasoning.
    """
    last_think = raw.lower().rfind("<think>")
    if last_think >= 0:
        return raw[last_think:]
    marker = raw.rfind("assistant\n")
    return raw[marker + len("assistant\n") :] if marker >= 0 else raw


def model_chain(raw: str) -> tuple[list[str], str | None, list[str]]:
    """Steps, answer and flags of one model output, by the project's step parser.

    The answer is the parser's normal form ("C", "A,C"), or its raw text when it names no
    letter (open questions); an output the parser calls malformed is flagged
    ``malformed_output`` and its steps are still scored.
    """
    parsed = parse_output(raw or "")
    flags = [Flag.MALFORMED_OUTPUT] if "malformed" in parsed.flags else []
    return list(parsed.steps), parsed.answer or parsed.answer_text or None, flags


def model_answer(item: Mapping[str, Any]) -> str | None:
    """The model's answer in an item (its ``pred`` parsed, else named in its closing prose), or None."""
    return sample_from_item(item)[1]


def named_option(text: str, letters: frozenset[str] | set[str]) -> str | None:
    """The option an untagged output settles on: the last of ``letters`` named in its closing
    600 characters ("Therefore, the answer is **C) ...**", "**Option B** appears to be the best
    fit"), or None. On GPT-4o's 439 untagged outputs with options in ../shared/data this agrees
    with the evaluator's own ``correct`` on 434 and names nothing on 2."""
    hits = [next(g for g in m.groups() if g).upper() for m in _NAMED_OPTION.finditer(text[-600:])]
    hits = [h for h in hits if h in letters]
    return hits[-1] if hits else None


def _numbered_steps(body: str) -> list[str]:
    parts = [p.strip() for p in _NUMBERED_STEP.split(body) if p.strip()]
    return parts if len(parts) > 1 else []


def reference_steps(value: Any) -> list[str]:
    """The reference chain as a list of steps: a list is kept, a string is split into sentences."""
    if value is None:
        return []
    if isinstance(value, str):
        return _numbered_steps(value) or split_sentences(value)
    if isinstance(value, Mapping):  # the paper's generator sometimes wrapped steps in an object
        return reference_steps(value.get("reason_steps") or value.get("reason_step"))
    return [str(step).strip() for step in value if str(step).strip()]


def options(question: str) -> tuple[tuple[str, str], ...]:
    """``(letter, text)`` pairs of the options listed after ``Options:`` in a question."""
    _, _, tail = (question or "").partition("Options:")
    tail = tail.split("Let's think")[0]
    return tuple((m.group(1), m.group(2).rstrip(" .")) for m in _OPTION_LINE.finditer(tail))


def task_type(item: Mapping[str, Any]) -> str:
    """``binary``, ``single``, ``multiple``, ``temporal`` or ``open`` (a ``task_type`` field wins)."""
    if item.get("task_type"):
        return str(item["task_type"])
    question = str(item.get("question", "")).lower()
    opts = options(str(item.get("question", "")))
    if "original_report_1" in item or re.search(r"\b(?:compar\w*|prior|previous|progress\w*)\b", question):
        return "temporal"
    if not opts:
        return "open"
    texts = {text.strip().lower() for _, text in opts}
    if texts <= {"yes", "no"} or re.match(r"^\s*(?:is|are|does|do) there\b", question):
        return "binary"
    if "which findings" in question or "select all" in question or "multiple" in question:
        return "multiple"
    return "single"


def report_text(item: Mapping[str, Any]) -> str:
    """The report(s) the reference was built from; a temporal pair is joined prior first."""
    if item.get("original_report"):
        return str(item["original_report"])
    parts = [str(item[k]) for k in ("original_report_1", "original_report_2") if item.get(k)]
    return " ".join(parts)


def sample_from_item(item: Mapping[str, Any]) -> tuple[Sample, str | None, list[str]]:
    """The judge's view of an item, the model's answer text, and flags from parsing its output."""
    steps, answer, flags = model_chain(str(item.get("pred") or ""))
    letters = {letter for letter, _ in options(str(item.get("question") or ""))}
    if letters and not answer_letters(answer) and steps:  # untagged prose (GPT-4o's outputs)
        answer = named_option(_assistant_part(str(item.get("pred") or "")), letters) or answer
    sample = Sample(
        model_steps=tuple(steps),
        reference_steps=tuple(reference_steps(item.get("reason_steps"))),
        report=report_text(item),
        question=str(item.get("question") or ""),
        options=options(str(item.get("question") or "")),
        model_text=_assistant_part(str(item.get("pred") or "")),
        model_answer=answer or "",
        task_type=task_type(item),
        reference_answer=str(item.get("answer") or ""),
    )
    return sample, answer, flags


def paper_scores(item: Mapping[str, Any]) -> dict[str, float | None]:
    """The three scores from GPT-4o's stored verdicts, as the paper's released evaluator divides.

    completeness = recalled_count / len(gt findings); factuality = correct_count /
    len(pred findings); effectiveness = effective_count / (effective + ineffective). A zero or
    missing denominator gives None (the released evaluator then adds nothing for the item).
    """

    def count(key: str, field: str) -> int | None:
        value = item.get(key)
        return value.get(field) if isinstance(value, Mapping) else None

    def findings(key: str) -> int | None:
        value = item.get(key)
        if isinstance(value, Mapping) and isinstance(value.get("key_conclusion"), list):
            return len(value["key_conclusion"])
        return None

    def ratio(num: int | None, den: int | None) -> float | None:
        if num is None or not den:
            return None
        return num / den

    effective = count("efficiency", "effective_count")
    ineffective = count("efficiency", "ineffective_count")
    total = effective + ineffective if effective is not None and ineffective is not None else None
    return {
        "completeness": ratio(count("recall_res", "recalled_count"), findings("gt_key_finding")),
        "factuality": ratio(count("precision_res", "correct_count"), findings("pred_key_finding")),
        "effectiveness": ratio(effective, total),
    }
