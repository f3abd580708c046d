"""``chestx export``: the command line over build_export, with its messages and exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.export.conftest import seed


@pytest.fixture
def cli(settings):  # noqa: ANN001, ANN201
    from chestx.cli import app
    from chestx.cli.common import database

    seed(database())
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["export", *args])


def test_export_then_incremental_by_snapshot_hash(cli, settings, tmp_path) -> None:  # noqa: ANN001
    first = cli(
        "sft", "--out", str(tmp_path / "a"), "--images", "none", "--reviewer", "alice", "--reviewer", "bob"
    )
    assert first.exit_code == 0, first.output
    assert "exported sft" in first.output and "train" in first.output
    snapshot = first.output.strip().splitlines()[-1].split()[-1]
    card = (tmp_path / "a" / "README.md").read_text()
    assert "chestx export sft --out a" in card and "--reviewer <2 named>" in card
    assert "alice" not in card and str(tmp_path) not in card
    assert (settings.exports_dir / ".index" / f"{snapshot}.json").exists()
    again = cli("sft", "--out", str(tmp_path / "b"), "--images", "none", "--since", snapshot[:12])
    assert again.exit_code == 1 and "nothing changed since that export" in again.output
    assert not (tmp_path / "b").exists()


def test_refusals_are_one_line_messages(cli, tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("mine")
    exists = cli("records", "--out", str(tmp_path / "a"), "--images", "none")
    assert exists.exit_code == 1 and "already exists" in exists.output and "Traceback" not in exists.output
    overwrite = cli("records", "--out", str(tmp_path / "a"), "--images", "none", "--overwrite")
    assert overwrite.exit_code == 1 and "not an earlier export" in overwrite.output
    kind = cli("tables", "--out", str(tmp_path / "c"))
    assert kind.exit_code == 1 and "unknown export kind" in kind.output
    empty = cli("sft", "--out", str(tmp_path / "d"), "--images", "none", "--task-type", "temporal")
    assert empty.exit_code == 1 and "nothing to export" in empty.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "home"]  # home: CHESTX_HOME


def test_parquet_prm_with_policy_and_shares(cli, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "prm"
    result = cli(
        "prm",
        "--out",
        str(out),
        "--format",
        "parquet",
        "--policy",
        "majority",
        "--seed",
        "3",
        "--validation-share",
        "0.2",
        "--test-share",
        "0.2",
        "--min-reviews",
        "2",
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["policy"] == "majority" and manifest["splits"]["seed"] == 3
    assert manifest["filters"]["min_reviews"] == 2
    assert sum(manifest["counts"]["rows"].values()) >= 2
