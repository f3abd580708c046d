"""Agreement of a judge with the paper's judge (GPT-4o) on items that carry its stored verdicts.

For each component, pairs (paper score, judge score) over the items where both are defined give
the Spearman rank correlation and the mean absolute difference. Pure functions over items; the
judge is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scipy.stats import spearmanr

from reasoner.radrscore.evalfile import paper_scores, sample_from_item
from reasoner.radrscore.judge import Judge
from reasoner.radrscore.score import COMPONENTS, sample_score
from reasoner.radrscore.types import SampleScore


def judge_items(items: Sequence[Mapping[str, Any]], judge: Judge) -> list[SampleScore]:
    """The judge's scores for each item (its ``pred`` against ``reason_steps`` and the report)."""
    samples = [sample_from_item(item)[0] for item in items]
    return [sample_score(j) for j in judge.judge(samples)]


def compare(items: Sequence[Mapping[str, Any]], scores: Sequence[SampleScore]) -> dict[str, dict]:
    """Per component: ``n`` pairs, ``spearman``, ``p_value``, ``mad`` and both means.

    Only items where both the paper's and the judge's score are defined enter a component.
    """
    table = {}
    for name in COMPONENTS:
        pairs = [
            (paper_scores(item)[name], getattr(score, name))
            for item, score in zip(items, scores, strict=True)
            if paper_scores(item)[name] is not None and getattr(score, name) is not None
        ]
        row: dict[str, Any] = {"n": len(pairs)}
        if len(pairs) >= 3:
            paper, ours = zip(*pairs, strict=True)
            rho, p_value = spearmanr(paper, ours)
            row.update(
                spearman=float(rho),
                p_value=float(p_value),
                mad=sum(abs(a - b) for a, b in pairs) / len(pairs),
                paper_mean=sum(paper) / len(paper),
                judge_mean=sum(ours) / len(ours),
            )
        table[name] = row
    return table


def format_table(table: Mapping[str, Mapping[str, Any]]) -> str:
    """A Markdown table of :func:`compare`'s result."""
    lines = [
        "| score | n | Spearman | p | mean abs diff | GPT-4o mean | offline mean |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in table.items():
        if "spearman" not in row:
            lines.append(f"| {name} | {row['n']} | - | - | - | - | - |")
            continue
        lines.append(
            f"| {name} | {row['n']} | {row['spearman']:.3f} | {row['p_value']:.1e} | {row['mad']:.3f} | "
            f"{row['paper_mean']:.3f} | {row['judge_mean']:.3f} |"
        )
    return "\n".join(lines)
