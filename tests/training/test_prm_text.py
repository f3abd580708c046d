"""The small text PRM (frozen all-MiniLM-L6-v2 evidence features + logistic head) on the step-error
task: steps with laterality, negation or finding swapped are the incorrect ones."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.training.fixture_chains import fixture_items, real_items
from training.arguments import DataArguments
from training.step_errors import step_error_rows

# The target, held-out AUROC on the step-error task built from the 102 real chains, judged
# on the protocol docs/TRAINING.md reports (5-fold by item, held-out scores pooled): 0.804 measured.
# A single 70/30 item split varies with the split (0.74-0.79 over five seeds; docs/TRAINING.md).
TARGET = 0.8


def _split(items: list[dict], held_out: float, seed: int, variants: int = 2) -> dict[str, list[dict]]:
    items = [dict(x, group=f"item-{i}") for i, x in enumerate(items)]
    random.Random(seed).shuffle(items)
    cut = int(len(items) * (1 - held_out))
    return {
        "train": step_error_rows(items[:cut], seed=1, variants=variants),
        "test": step_error_rows(items[cut:], seed=2),
    }


def _train(rows: dict[str, list[dict]], out: Path) -> dict:
    from training.prm_text import TextPRMConfig, main

    return main(DataArguments(eval_split=None), TextPRMConfig(output_dir=str(out), use_cpu=True), rows=rows)


def test_text_prm_tells_swapped_steps_on_the_fixture_chains(tmp_path: Path) -> None:
    from training.prm import step_auroc
    from training.prm_loader import load_scorer

    rows = _split(fixture_items(), held_out=0.35, seed=0)
    metrics = _train(rows, tmp_path)

    assert metrics["held_out"]["test"]["n_incorrect"] >= 10
    assert metrics["auroc_test"] >= 0.8, metrics
    reloaded = load_scorer(metrics["prm_dir"])  # what GRPO's process reward loads
    assert abs(step_auroc(reloaded, rows["test"])["auroc"] - metrics["auroc_test"]) < 1e-6
    report = "Findings: Small right pleural effusion. No pneumothorax."
    right, left = reloaded.score(
        report, ["There is a small right pleural effusion.", "There is a small left pleural effusion."]
    )
    assert right > left


@pytest.mark.slow
def test_text_prm_held_out_auroc_on_the_real_chains() -> None:
    from training.prm_text import cross_validated_auroc

    result = cross_validated_auroc(real_items(), folds=5, seed=0)
    print(f"text PRM 5-fold pooled held-out AUROC on the real chains: {result}")
    assert result["n_incorrect"] >= 300, result
    assert set(result["per_kind"]) == {"laterality", "negation", "finding"}
    assert result["auroc"] >= TARGET, result
