"""Scoring a whole evaluation file: items in, one result row per item out, in order.

A row is a plain dict (JSON-ready): ``index``, ``task_type``, the three RadRScore components
(None where undefined), ``correct`` (answer letter-set match; None when either side names no
letter), ``answer_f1`` (finding-set F1 of the answers, for open questions), and ``flags``. A judge
that raises on a batch does not stop the run: that batch's rows get the ``judge_error`` flag and
undefined scores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from reasoner.radrscore.evalfile import sample_from_item
from reasoner.radrscore.judge import Judge
from reasoner.radrscore.score import (
    aggregate,
    answer_correct,
    answer_findings,
    answer_letters,
    finding_f1,
    sample_score,
)
from reasoner.radrscore.types import Flag, Judgement, SampleScore


def _failed(message: str) -> Judgement:
    return Judgement(None, None, None, None, None, None, flags=(Flag.JUDGE_ERROR,), detail={"error": message})


def _batches(items: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def score_items(
    items: Iterable[Mapping[str, Any]],
    *,
    judge: Judge,
    batch_size: int = 64,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Result rows for ``items`` in order; ``on_batch(n)`` is told after each n items."""
    index = 0
    for batch in _batches(items, batch_size):
        parsed = [sample_from_item(item) for item in batch]
        try:
            judgements = judge.judge([sample for sample, _, _ in parsed])
        except Exception as exc:  # a judge must not take the whole run down; the rows say why
            judgements = [_failed(f"{type(exc).__name__}: {exc}")] * len(batch)
        for item, (sample, answer, parse_flags), judgement in zip(batch, parsed, judgements, strict=True):
            yield result_row(
                index=index,
                item=item,
                task_type=sample.task_type,
                answer=answer,
                parse_flags=parse_flags,
                judgement=judgement,
            )
            index += 1
        if on_batch is not None:
            on_batch(len(batch))


def result_row(
    *,
    index: int,
    item: Mapping[str, Any],
    task_type: str,
    answer: str | None,
    parse_flags: Sequence[str],
    judgement: Judgement,
) -> dict[str, Any]:
    """One item's output row (see the module docstring)."""
    score = sample_score(judgement)
    flags = list(parse_flags) + list(score.flags)
    reference = item.get("answer")
    reference = str(reference) if reference is not None else None
    correct = answer_correct(answer, reference)
    if correct is None:
        if not answer_letters(answer):
            flags.append(Flag.NO_ANSWER)
        if not answer_letters(reference):
            flags.append(Flag.NO_REFERENCE_ANSWER)
    row: dict[str, Any] = {
        "index": index,
        "task_type": task_type,
        "completeness": score.completeness,
        "factuality": score.factuality,
        "effectiveness": score.effectiveness,
        "correct": correct,
    }
    if task_type == "open":
        row["answer_f1"] = finding_f1(answer_findings(answer), answer_findings(reference))
    row["flags"] = list(dict.fromkeys(str(f) for f in flags))
    return row


def mean_interval(
    values: Sequence[float], *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float] | None:
    """A percentile bootstrap interval of the mean of ``values`` (None for fewer than two)."""
    if len(values) < 2:
        return None
    import numpy as np

    data = np.asarray(values, dtype=float)
    picks = np.random.default_rng(seed).integers(0, len(data), (resamples, len(data)))
    means = data[picks].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (round(float(low), 4), round(float(high), 4))


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per task type and overall: RadRScore averages (see :func:`aggregate`) with a 95%
    bootstrap interval of each mean (``ci95``), and accuracy."""
    scores = [
        SampleScore(r["completeness"], r["factuality"], r["effectiveness"], tuple(r.get("flags", ())))
        for r in rows
    ]
    tasks = [str(r.get("task_type", "unknown")) for r in rows]
    out = aggregate(scores, tasks)
    for group, row in out.items():
        members = [r for r, t in zip(rows, tasks, strict=True) if group in ("overall", t)]
        for name in ("completeness", "factuality", "effectiveness"):
            values = [r[name] for r in members if r.get(name) is not None]
            row[name]["ci95"] = mean_interval(values)
        judged = [r["correct"] for r in members if r.get("correct") is not None]
        row["accuracy"] = sum(judged) / len(judged) if judged else None
        row["n_answer_judged"] = len(judged)
    return out
