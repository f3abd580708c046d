"""``chestx eval radrscore``: one line per item, in file order, flags for bad items."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from chestx.cli import app

from .judge_server import Script, judge_server
from .test_llm_judge import GOOD


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_writes_one_line_per_item_in_order(tmp_path: Path, fixture_path: Path, fixture_items) -> None:
    out = tmp_path / "scores.jsonl"
    result = CliRunner().invoke(
        app, ["eval", "radrscore", str(fixture_path), "--out", str(out), "--batch-size", "3"]
    )
    assert result.exit_code == 0, result.output
    rows = read_rows(out)
    assert [r["index"] for r in rows] == list(range(len(fixture_items)))
    for row in rows:
        assert {"index", "completeness", "factuality", "effectiveness", "correct", "flags"} <= set(row)
        for key in ("completeness", "factuality", "effectiveness"):
            assert row[key] is None or 0.0 <= row[key] <= 1.0
    assert [r["correct"] for r in rows[:3]] == [True, False, True]
    assert rows[3]["task_type"] == "open" and rows[3]["correct"] is None
    assert 0.0 < rows[3]["answer_f1"] < 1.0  # two of three predicted findings are right
    assert "no_model_steps" in rows[4]["flags"] and rows[4]["effectiveness"] is None
    assert "no_reference" in rows[5]["flags"] and rows[5]["completeness"] is None
    assert "malformed_output" in rows[6]["flags"] and "no_answer" in rows[6]["flags"]
    assert "overall" in result.output and not (tmp_path / "scores.jsonl.partial").exists()


def test_jsonl_input_gives_the_same_rows(tmp_path: Path, fixture_path: Path, fixture_items) -> None:
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text("\n".join(json.dumps(item) for item in fixture_items) + "\n")
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    runner = CliRunner()
    assert runner.invoke(app, ["eval", "radrscore", str(fixture_path), "--out", str(a)]).exit_code == 0
    summary = tmp_path / "summary.json"
    result = runner.invoke(app, ["eval", "radrscore", str(jsonl), "--out", str(b), "--summary", str(summary)])
    assert result.exit_code == 0, result.output
    assert read_rows(a) == read_rows(b)
    assert json.loads(summary.read_text())["overall"]["n"] == len(fixture_items)


def test_llm_judge_through_the_cli(tmp_path: Path, fixture_path: Path, fixture_items) -> None:
    out = tmp_path / "llm.jsonl"
    with judge_server(Script(GOOD)) as url:
        result = CliRunner().invoke(
            app,
            ["eval", "radrscore", str(fixture_path), "--out", str(out), "--judge", "llm"]
            + ["--judge-url", url, "--judge-model", "judge"],
        )
    assert result.exit_code == 0, result.output
    rows = read_rows(out)
    assert len(rows) == len(fixture_items)
    assert rows[0]["completeness"] == 0.75


def test_failing_llm_endpoint_still_writes_every_row(
    tmp_path: Path, fixture_path: Path, fixture_items
) -> None:
    out = tmp_path / "llm.jsonl"
    with judge_server(Script({"findings": [500], "efficiency": [500]})) as url:
        result = CliRunner().invoke(
            app,
            ["eval", "radrscore", str(fixture_path), "--out", str(out), "--judge", "llm"]
            + ["--judge-url", url, "--judge-model", "judge"],
        )
    assert result.exit_code == 0, result.output
    rows = read_rows(out)
    assert len(rows) == len(fixture_items)
    assert all(r["completeness"] is None for r in rows)
    assert "judge_error" in rows[0]["flags"]


def test_bad_input_file_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"pred": "x"}\nnot json\n')
    result = CliRunner().invoke(app, ["eval", "radrscore", str(bad), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1
    assert "bad.jsonl:2" in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_llm_judge_without_endpoint_is_refused(tmp_path: Path, fixture_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "radrscore", str(fixture_path), "--out", str(tmp_path / "o.jsonl"), "--judge", "llm"]
    )
    assert result.exit_code == 1 and "judge" in result.output
