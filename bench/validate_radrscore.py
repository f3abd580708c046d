"""Validation of the offline RadRScore judge against the paper's judge (GPT-4o), issue 7.

Run: ``python bench/validate_radrscore.py [--file F] [--json OUT] [--write]`` (``--write``
updates the "## RadRScore validation (issue 7)" section of bench/RESULTS.md).

The 102 real items in ../shared/data carry GPT-4o's stored verdicts. For each of the three
scores, the paper's value is computed from those verdicts exactly as the released evaluator
divides (completeness = recalled_count / len(gt findings), factuality = correct_count /
len(pred findings), effectiveness = effective_count / (effective + ineffective)); the offline
judge scores the same items from ``pred``, ``reason_steps``, ``original_report`` and ``question``
only (the same path as ``chestx eval radrscore``). Reported per score: Spearman's rho, its p-value
and the mean absolute difference over the items where both are defined. Target: rho >= 0.6 each.

For context it also reports how much of each paper score answer correctness alone explains
(Spearman of the score against the 0/1 answer match), a baseline any judge should beat.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from scipy.stats import spearmanr  # noqa: E402

from reasoner.radrscore import OfflineJudge, answer_correct, model_answer, paper_scores  # noqa: E402
from reasoner.radrscore.score import COMPONENTS  # noqa: E402
from reasoner.radrscore.validation import (  # noqa: E402
    compare,
    format_table,
    judge_items,
    matcher_on_gpt_findings,
)

SECTION = "## RadRScore validation (issue 7)"
DEFAULT = ROOT.parent / "shared" / "data" / "chestx_reasoner_openi_multi.json"
TARGET = 0.6


def correctness_baseline(items: list[dict]) -> dict[str, float]:
    """Spearman of each paper score against answer correctness (0/1) alone."""
    out = {}
    for name in COMPONENTS:
        pairs = [
            (paper_scores(item)[name], float(bool(answer_correct(model_answer(item), item.get("answer")))))
            for item in items
            if paper_scores(item)[name] is not None
        ]
        out[name] = float(spearmanr(*zip(*pairs, strict=True))[0])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file", type=Path, default=DEFAULT, help="items with GPT-4o verdicts")
    ap.add_argument("--json", type=Path, help="also write the table as JSON here")
    ap.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = ap.parse_args()
    if not args.file.exists():
        print(f"{args.file} not found: the real data lives in ../shared/data (not in the repository)")
        return 2
    items = json.loads(args.file.read_text())
    judge = OfflineJudge()
    started = time.perf_counter()
    scores = judge_items(items, judge)
    elapsed = time.perf_counter() - started
    ceiling = matcher_on_gpt_findings(items, judge)
    table = compare(items, scores)
    baseline = correctness_baseline(items)
    verdict = {name: table[name].get("spearman", 0.0) >= TARGET for name in COMPONENTS}
    lines = [
        SECTION,
        "",
        f"Command: `python bench/validate_radrscore.py --write` ({len(items)} real items of "
        f"`../shared/data/{args.file.name}`; offline judge, {elapsed:.0f} s). Measured "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        format_table(table),
        "",
        "| score | target rho >= 0.6 | rho of answer correctness alone (context) |",
        "|---|---|---:|",
    ]
    for name in COMPONENTS:
        lines.append(f"| {name} | **{'met' if verdict[name] else 'not met'}** | {baseline[name]:.3f} |")
    lines += [
        "",
        "Diagnostic: GPT-4o's own extracted findings (`gt_key_finding`, `pred_key_finding`) fed to the "
        f"offline matcher give completeness rho = {ceiling['status_aware']:.3f} status-aware and "
        f"{ceiling['status_blind_at_conflict_threshold']:.3f} status-blind: with perfect (GPT-4o's) "
        "extraction the matcher itself agrees with GPT-4o's recall verdicts only this far. Of the "
        "findings GPT-4o counted as recalled that have a counterpart in its own model findings, "
        f"{100 * ceiling['recalled_with_opposite_status']:.0f}% have the opposite status there "
        '("not present" recalled by "present"), which the hard status constraint refuses.',
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.json:
        payload = {"table": table, "correctness_baseline": baseline, "matcher_on_gpt_findings": ceiling}
        args.json.write_text(json.dumps(payload, indent=2))
    if args.write:
        write_section(text)
    return 0


def write_section(text: str) -> None:
    """Replace this script's section of bench/RESULTS.md (or append it), keeping notes below it.

    Lines after the generated table that start with "Notes:" are kept across refreshes.
    """
    path = ROOT / "bench" / "RESULTS.md"
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    notes = ""
    if SECTION in old:
        head, rest = old.split(SECTION, 1)
        nxt = rest.find("\n## ")
        body, tail = (rest[:nxt], rest[nxt + 1 :]) if nxt != -1 else (rest, "")
        if "\nNotes:" in body:
            notes = "\n" + body[body.index("\nNotes:") + 1 :].rstrip() + "\n"
        old = head + tail
    path.write_text(old.rstrip() + "\n\n" + text + notes)


if __name__ == "__main__":
    raise SystemExit(main())
