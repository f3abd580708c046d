"""Agreement of a judge with the paper's judge (GPT-4o) on items that carry its stored verdicts.

For each component, pairs (paper score, judge score) over the items where both are defined give
the Spearman rank correlation and the mean absolute difference. Pure functions over items; the
judge is passed in. :func:`matcher_on_gpt_findings` is a diagnostic that feeds GPT-4o's own
extracted findings to the offline matcher.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from scipy.stats import spearmanr

from reasoner.radrscore.evalfile import paper_scores, sample_from_item
from reasoner.radrscore.extract import core_phrase, laterality
from reasoner.radrscore.judge import Judge
from reasoner.radrscore.llm import status_from_text
from reasoner.radrscore.offline import OfflineJudge
from reasoner.radrscore.score import COMPONENTS, sample_score
from reasoner.radrscore.types import Finding, SampleScore, Status

_LEADING_NO = re.compile(r"\s*(?:no|absence of|normal)\b", re.IGNORECASE)


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


def gpt_findings(item: Mapping[str, Any], key: str) -> list[Finding]:
    """GPT-4o's stored findings (``gt_key_finding`` / ``pred_key_finding``) as Findings."""
    rows = (item.get(key) or {}).get("key_conclusion") or []
    out = []
    for row in rows:
        if isinstance(row, Mapping) and str(row.get("observation", "")).strip():
            text, status = str(row["observation"]), str(row.get("status", ""))
            negated = status_from_text(status) if status else Status.PRESENT
            if _LEADING_NO.match(text):
                negated = Status.ABSENT
            out.append(Finding(text, negated, core_phrase(text) or text.lower(), laterality(text)))
    return out


def matcher_on_gpt_findings(items: Sequence[Mapping[str, Any]], judge: OfflineJudge) -> dict[str, float]:
    """Diagnostic: completeness from GPT-4o's own extracted findings, recalled by this matcher.

    Separates the matcher from the extraction: the Spearman of these completeness values against
    GPT-4o's is the best this matcher can do with perfect (GPT-4o's) extraction, status-aware and
    status-blind.
    """
    paper, aware, blind = [], [], []
    opposite = same = 0
    for item in items:
        reference, model = gpt_findings(item, "gt_key_finding"), gpt_findings(item, "pred_key_finding")
        target = paper_scores(item)["completeness"]
        if not reference or not model or target is None:
            continue
        match, conflict = judge.match(reference, model)
        paper.append(target)
        aware.append(float(match.any(axis=1).mean()))
        blind.append(float((match | conflict).any(axis=1).mean()))
        recalled = {
            str(r.get("observation"))
            for r in (item.get("recall_res") or {}).get("recalled_findings") or []
            if isinstance(r, Mapping)
        }
        for i, finding in enumerate(reference):  # GPT-4o's recalled findings: counterpart's status?
            if finding.observation in recalled and (match[i].any() or conflict[i].any()):
                same += bool(match[i].any())
                opposite += not match[i].any()
    return {
        "status_aware": float(spearmanr(paper, aware)[0]),
        "status_blind_at_conflict_threshold": float(spearmanr(paper, blind)[0]),
        "recalled_with_opposite_status": opposite / max(1, opposite + same),
    }


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
