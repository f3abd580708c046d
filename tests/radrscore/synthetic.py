"""Hand-made judged evaluation items for fitting tests: no real report text.

:func:`judged_items` writes items in ChestX-Reasoner's evaluation format with verdict fields in
the shape of the paper's GPT-4o judge (``gt_key_finding``, ``recall_res``, ``pred_key_finding``,
``precision_res``, ``efficiency``). The verdicts follow simple rules a judge can learn: a
reference finding is recalled when the model's chain names it; a model finding is correct when
the report agrees with its status; a model step is effective when the reference agrees with it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

FINDINGS = (
    "pleural effusion", "pneumothorax", "cardiomegaly", "consolidation", "atelectasis", "nodule",
    "pulmonary edema", "hiatal hernia", "rib fracture", "emphysema", "scoliosis", "granuloma",
)  # fmt: skip


def _state(finding: str, present: bool) -> str:
    return f"There is a {finding}." if present else f"There is no {finding}."


def judged_item(rng: random.Random) -> dict:
    """One item: four single-finding options, a reference chain, a model chain, GPT-like verdicts."""
    options = rng.sample(FINDINGS, 4)
    truth = rng.randrange(4)
    extra = [f for f in FINDINGS if f not in options]
    report_present = {options[truth]} | set(rng.sample(extra, 1))
    verb = {True: "supports", False: "rules out"}
    reference = [
        f"{_state(f, f in report_present)[:-1]}, which {verb[f in report_present]} option {'ABCD'[i]}."
        for i, f in enumerate(options)
    ]
    reference.append(f"In conclusion, the answer is {'ABCD'[truth]}) {options[truth]}.")
    chosen = truth if rng.random() < 0.6 else rng.randrange(4)
    mentioned = [f for f in options if rng.random() < 0.7] or [options[chosen]]
    claims = {f: (f == options[chosen]) if rng.random() < 0.8 else rng.random() < 0.5 for f in mentioned}
    think = [_state(f, claims[f]) for f in mentioned]
    report = " ".join(_state(f, f in report_present) for f in (*options, *report_present))
    gt = [{"observation": f, "status": "present" if f in report_present else "not present"} for f in options]
    pred = [{"observation": f, "status": "present" if claims[f] else "not present"} for f in mentioned]
    correct = [p for p in pred if (p["status"] == "present") == (p["observation"] in report_present)]
    effective = [t for t, f in zip(think, mentioned, strict=True) if claims[f] == (f in report_present)]
    return {
        "question": "Which finding is in this chest X-ray? Options:\n"
        + "\n".join(f"{'ABCD'[i]}) {o}" for i, o in enumerate(options))
        + "\nLet's think step by step.",
        "answer": f"<answer> {'ABCD'[truth]} </answer>",
        "pred": f"<think> {' '.join(think)} </think><answer> {'ABCD'[chosen]} </answer>",
        "reason_steps": reference,
        "original_report": report,
        "correct": "yes" if chosen == truth else "no",
        "gt_key_finding": {"key_conclusion": gt},
        "pred_key_finding": {"key_conclusion": pred},
        "recall_res": {
            "recalled_findings": [g for g in gt if g["observation"] in mentioned],
            "recalled_count": sum(g["observation"] in mentioned for g in gt),
        },
        "precision_res": {"correct_steps": correct, "correct_count": len(correct)},
        "efficiency": {
            "effective_steps": effective,
            "effective_count": len(effective),
            "ineffective_count": len(think) - len(effective),
        },
    }


def write_judged(directory: Path, names: dict[str, int], *, seed: int = 0) -> list[Path]:
    """Files ``{name: n_items}`` of judged items under ``directory``; their paths, in order."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, n in names.items():
        path = directory / name
        path.write_text(json.dumps([judged_item(rng) for _ in range(n)]))
        paths.append(path)
    return paths
