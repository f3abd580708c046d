"""``chestx reason``: streams steps to the terminal and stores the chain in a real database."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

REPORT = "Findings: Small right pleural effusion. Heart size is enlarged. No pneumothorax."


@pytest.fixture
def case_id(settings, tmp_path):
    from chestx.cli import app

    image = tmp_path / "cxr.png"
    Image.fromarray((np.random.RandomState(3).rand(160, 140) * 255).astype("uint8")).save(image)
    (tmp_path / "report.txt").write_text(REPORT)
    args = ["import", "images", str(image), "--question", "Which findings are in this chest X-ray?"]
    args += ["-o", "right pleural effusion, cardiomegaly", "-o", "left pneumothorax"]
    args += ["--task-type", "single_choice", "--report", str(tmp_path / "report.txt"), "--answer", "A"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return 1


def _chains(settings):
    from sqlalchemy import select

    from chestx.cli.common import database
    from review_db.models import Chain

    with database()() as session:
        return [(c.source.value, c.status.value, c.final_answer, [s.text for s in c.steps], c.flags,
                 c.generation_params) for c in session.scalars(select(Chain).order_by(Chain.id))]  # fmt: skip


def test_reason_with_the_report_miner_stores_the_chain(settings, case_id):
    from chestx.cli import app

    result = CliRunner().invoke(app, ["reason", str(case_id), "--backend", "report"])
    assert result.exit_code == 0, result.output
    assert "1. Lungs" not in result.output and "1. Pleura: the report describes" in result.output
    assert "Answer: A" in result.output and "stored chain 1 for case 1: complete" in result.output
    source, status, answer, steps, flags, params = _chains(settings)[0]
    assert (source, status, answer) == ("report", "complete", "A") and len(steps) >= 4
    assert params["backend"] == "report"


def test_reason_with_the_tiny_model_streams_and_stores(settings, case_id, tiny_model_dir):
    from chestx.cli import app

    args = ["reason", str(case_id), "--backend", "hf", "--model", str(tiny_model_dir), "--demo-text"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2. The right costophrenic angle is blunted" in result.output
    source, status, answer, steps, _, params = _chains(settings)[-1]
    assert (source, status, answer, len(steps)) == ("model", "complete", "A", 6)
    assert params["model"] == str(tiny_model_dir) and params["seed"] == 0
    # random weights without the script: garbage, stored visibly flagged, never as complete
    args = [
        "reason",
        str(case_id),
        "--backend",
        "hf",
        "--model",
        str(tiny_model_dir),
        "--max-new-tokens",
        "8",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    _, status, _, _, flags, _ = _chains(settings)[-1]
    assert status == "incomplete" and "malformed" in flags


def test_reason_errors_are_one_line_and_store_nothing(settings, case_id, tmp_path):
    from chestx.cli import app

    result = CliRunner().invoke(
        app, ["reason", str(case_id), "--backend", "hf", "--model", str(tmp_path / "nope")]
    )
    assert (
        result.exit_code == 1 and str(tmp_path / "nope") in result.output and "config.json" in result.output
    )
    result = CliRunner().invoke(app, ["reason", "99", "--backend", "report"])
    assert result.exit_code == 1 and "no case with id 99" in result.output
    assert _chains(settings) == []
