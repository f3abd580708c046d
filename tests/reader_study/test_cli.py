"""``chestx study create|list|report``: a study made from the command line, read by simulated
readers through the real use cases, reported, and exported for re-analysis elsewhere."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from review_db.engine import session_scope
from services.reader_study import reading
from tests.reader_study.helpers import world

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
P = {"no_ai": 0.5, "answer_reasoning": 0.9}


def _cli(*args: str):  # noqa: ANN202
    from chestx.cli import app

    result = CliRunner().invoke(app, ["study", *args], catch_exceptions=False)
    return result


def _read_everything(factory, readers: list[int]) -> int:  # noqa: ANN001
    """Every reader reads every read; right with P[arm]; marks step 1 helpful when shown."""
    rng, n = random.Random(4), 0
    for reader in readers:
        now = T0
        with session_scope(factory, actor=f"user:{reader}") as s:
            while (view := reading.next_read(session=s, reader_id=reader, now=now)) is not None:
                arm = "answer_reasoning" if view.steps else "no_ai"
                answer = "A" if rng.random() < P[arm] else "B"
                marks = {1: "helpful"} if view.steps else {}
                now += dt.timedelta(seconds=20 if view.steps else 40)
                reading.submit_read(
                    session=s, reader_id=reader, assignment_id=view.assignment_id, answer=answer,
                    confidence=4 if view.steps else 2, marks=marks, now=now,
                )  # fmt: skip
                n += 1
    return n


def test_create_list_and_report_a_study(settings, tmp_path: Path) -> None:  # noqa: ANN001
    from chestx.cli.common import database

    factory = database()
    with session_scope(factory, actor="test") as s:
        _admin, cases, readers = world(s, n_cases=12, n_readers=4)
    refused = _cli("create", "Bad", "--readers", "reader1", "--cases", str(cases[0]), "--arms", "no_ai")
    assert refused.exit_code == 1 and "2 to 6 arms" in refused.output
    made = _cli(
        "create", "Pilot", "--readers", "reader1,reader2,reader3,reader4", "--arms", "no_ai,answer_reasoning",
        "--washout-days", "0", "--seed", "3",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert 'study 1 "Pilot": 4 readers, 12 cases, 2 periods (No AI, Answer + reasoning)' in made.output
    assert _read_everything(factory, readers) == 4 * 12 * 2
    listed = _cli("list")
    assert "Pilot" in listed.output and "96/96" in listed.output

    out = tmp_path / "report"
    reported = _cli("report", "1", "--out", str(out), "--reps", "300")
    assert reported.exit_code == 0, reported.output
    assert "accuracy by arm" in reported.output and "paired differences" in reported.output
    assert "Answer + reasoning" in reported.output and f"zip: {out.with_suffix('.zip')}" in reported.output
    names = {p.name for p in out.iterdir()}
    assert {"design.json", "assignments.csv", "reads.csv", "results.csv", "figures.html"} <= names
    assert {
        "accuracy_by_arm.csv",
        "paired_differences.csv",
        "time_by_arm.csv",
        "confidence_by_arm.csv",
    } <= names
    with zipfile.ZipFile(out.with_suffix(".zip")) as z:
        assert {n.split("/", 1)[1] for n in z.namelist()} == names

    design = json.loads((out / "design.json").read_text())
    assert design["readers"] == ["R1", "R2", "R3", "R4"] and design["seed"] == 3 and design["periods"] == 2
    assert "reader1" not in (out / "design.json").read_text() + (out / "reads.csv").read_text()
    assignments = list(csv.DictReader((out / "assignments.csv").open()))
    reads = list(csv.DictReader((out / "reads.csv").open()))
    assert len(assignments) == len(reads) == 96
    assert {(r["reader"], r["case_id"], r["arm"]) for r in reads} == {
        (a["reader"], a["case_id"], a["arm"]) for a in assignments
    }
    shown = [r for r in reads if r["arm"] == "answer_reasoning"]
    assert all(r["steps_helpful"] == "1" and r["time_s"] == "20.0" for r in shown)
    results = list(csv.DictReader((out / "results.csv").open()))
    diff = next(
        r for r in results if r["table"] == "paired_differences" and r["statistic"] == "difference_b_minus_a"
    )
    accuracy = {r["arm"]: r["accuracy"] for r in csv.DictReader((out / "accuracy_by_arm.csv").open())}
    assert float(diff["value"]) == pytest.approx(
        float(accuracy["answer_reasoning"]) - float(accuracy["no_ai"]), abs=1e-3
    )
    assert "plotly" in (out / "figures.html").read_text()[:5_000_000]
