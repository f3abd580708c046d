"""The export use case's one request model: the command line and the export page share it.

``services.exporting.ExportRequest`` holds the options; ``OPTIONS`` gives each its flag; the CLI
declares its options from it, the page's form builds the same request, and both run it through
``export_to_folder`` / ``export_to_zip``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import fields

import pytest
import typer

from chestx.cli import app
from chestx.web.export.form import ExportForm
from exports import EmptySelection, ExportKind, formats
from services.exporting import (
    OPTIONS,
    ExportRequest,
    export_to_folder,
    export_to_zip,
    snapshot_index,
)
from tests.export.helpers import KEY


def test_every_request_field_is_a_command_line_option_and_nothing_else() -> None:
    command = typer.main.get_command(app).commands["export"]
    declared = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    own = {"kind", "--out", "--key-file", "--overwrite", "--help"}
    flags = {part for option in OPTIONS.values() for part in option.flag.split("/")}
    assert declared - own == flags
    assert set(OPTIONS) == {f.name for f in fields(ExportRequest)} - {"kind"}
    kind = next(p for p in command.params if p.name == "kind")
    assert kind.help == " | ".join(ExportKind)


def test_the_command_line_for_the_card_hides_usernames_and_folders() -> None:
    request = ExportRequest(
        kind="sft",
        fmt="parquet",
        reviewed_from=dt.datetime(2026, 1, 1),
        reviewed_to=dt.datetime(2026, 2, 1, 12, 30, tzinfo=dt.UTC),
        task_types=("binary", "temporal"),
        reviewers=("ann", "bob"),
        min_reviews=0,
        include_demo=True,
        since="/home/someone/exports/first",
    )
    line = request.command(out="sft-jan", extra=["--key-file", "<key>"], note="somewhere")
    assert line == (
        "chestx export sft --out sft-jan --format parquet --policy adjudicator --from 2026-01-01 "
        "--to 2026-02-01T12:30:00 --task-type binary --task-type temporal --reviewer <2 named> "
        "--min-reviews 0 --include-demo --since first --seed 0 --validation-share 0.1 "
        "--test-share 0.1 --key-file <key> (somewhere)"
    )


def test_the_page_makes_the_request_the_command_line_makes() -> None:
    form = ExportForm.parse(
        {"kind": "prm", "fmt": "parquet", "date_to": "2026-01-31", "reviewers": ["ann"], "seed": "3"}
    )
    cli = ExportRequest(
        kind="prm",
        fmt="parquet",
        reviewed_to=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),  # the page's "to" day is inclusive
        reviewers=("ann",),
        seed=3,
    )
    assert form.request() == cli and form.request().filters() == cli.filters()
    assert ExportForm().request().fmt == formats.DEFAULT_FORMAT


def test_folder_then_zip_since_its_snapshot(sqlite_db, seeded_sqlite, tmp_path) -> None:  # noqa: ANN001
    index = snapshot_index(tmp_path / "exports")
    run = dict(session_factory=sqlite_db.factory, key=KEY, image_root=None, index_dir=index)
    first = export_to_folder(ExportRequest(kind="prm"), out_dir=tmp_path / "exports" / "prm", **run)
    entry = json.loads((index / f"{first.snapshot_hash}.json").read_text())
    assert entry["kind"] == "prm" and entry["snapshot_hash"] == first.snapshot_hash
    card = (first.out_dir / "README.md").read_text()
    assert "chestx export prm --out prm --format jsonl" in card
    zipped = export_to_zip(ExportRequest(kind="prm", seed=5), zip_dir=tmp_path / "zips", **run)
    assert zipped.path.is_file() and zipped.result.manifest["splits"]["seed"] == 5
    with pytest.raises(EmptySelection, match="nothing changed since that export"):
        again = ExportRequest(kind="prm", since=first.snapshot_hash[:12])
        export_to_zip(again, zip_dir=tmp_path / "z", **run)
