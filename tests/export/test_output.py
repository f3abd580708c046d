"""Bad input and atomicity: empty selections, existing folders, interruptions, the manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from exports import EmptySelection, ExportFilter, OutputExists, Progress, build_export
from review_db.errors import ValidationError
from tests.export.helpers import KEY


def export(factory, out: Path, **kw):  # noqa: ANN001, ANN201
    kw.setdefault("images", "none")
    return build_export(session_factory=factory, kind=kw.pop("kind", "sft"), out_dir=out, key=KEY, **kw)


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir()) if out.parent.exists() else []


def test_empty_selection_writes_nothing(sqlite_db, seeded_sqlite, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "exports" / "out"
    with pytest.raises(EmptySelection, match="nothing to export.*nothing was written"):
        export(sqlite_db.factory, out, filters=ExportFilter(task_types=("temporal",)))
    assert siblings(out) == []


def test_empty_after_consolidation_says_why(sqlite_db, seeded_sqlite, tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(EmptySelection, match="no unanimous verdict"):
        export(
            sqlite_db.factory,
            tmp_path / "exports" / "out",
            policy="unanimous",
            filters=ExportFilter(min_reviews=3),
        )


def test_existing_output_is_refused_unless_overwrite(sqlite_db, seeded_sqlite, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "exports" / "out"
    first = export(sqlite_db.factory, out)
    with pytest.raises(OutputExists, match="--overwrite"):
        export(sqlite_db.factory, out)
    second = export(sqlite_db.factory, out, overwrite=True, kind="prm")
    assert second.kind == "prm" and json.loads((out / "manifest.json").read_text())["kind"] == "prm"
    assert first.out_dir == second.out_dir and siblings(out) == ["out"]


def test_overwrite_never_deletes_a_folder_that_is_not_an_export(sqlite_db, seeded_sqlite, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious")
    with pytest.raises(OutputExists, match="not an earlier export"):
        export(sqlite_db.factory, out, overwrite=True)
    assert (out / "chapter1.tex").read_text() == "precious"


class Interrupt(Progress):
    def __init__(self) -> None:
        self.seen = 0

    def update(self, n: int) -> None:
        self.seen += n
        raise KeyboardInterrupt


@pytest.mark.parametrize("kind", ["sft", "records"])
def test_an_interrupted_export_leaves_no_partial_dataset(sqlite_db, seeded_sqlite, tmp_path, kind) -> None:  # noqa: ANN001
    out = tmp_path / "exports" / "out"
    progress = Interrupt()
    with pytest.raises(KeyboardInterrupt):
        export(sqlite_db.factory, out, kind=kind, progress=progress, batch_size=2)
    assert progress.seen > 0  # it was interrupted while writing
    assert siblings(out) == []


def test_manifest_hashes_every_file_and_snapshot_is_reproducible(sqlite_db, seeded_sqlite, tmp_path) -> None:  # noqa: ANN001
    a = export(sqlite_db.factory, tmp_path / "a", fmt="parquet")
    b = export(sqlite_db.factory, tmp_path / "b", fmt="parquet")
    manifest = json.loads(a.manifest_path.read_text())
    files = {p.relative_to(a.out_dir).as_posix() for p in a.out_dir.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == files - {"manifest.json"}
    for rel, info in manifest["files"].items():
        data = (a.out_dir / rel).read_bytes()
        assert info == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert a.snapshot_hash == b.snapshot_hash == manifest["snapshot_hash"]
    assert export(sqlite_db.factory, tmp_path / "c", split_seed=9).snapshot_hash != a.snapshot_hash


def test_dataset_card_says_what_the_issue_asks(sqlite_db, seeded_sqlite, tmp_path) -> None:  # noqa: ANN001
    result = export(sqlite_db.factory, tmp_path / "a", command="chestx export sft --out a")
    card = (result.out_dir / "README.md").read_text()
    for needle in (
        "## Counts",
        "## Sources",
        "chestx-v1",
        "## Reviewers",
        "## Agreement",
        "fleiss_kappa",
        "## Splits",
        "never train on it",
        "## Licence",
        "chestx export sft --out a",
        "configs:",
    ):
        assert needle in card, needle
    assert "alice" not in card and "bob" not in card


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"kind": "tables"}, "unknown export kind"),
        ({"kind": "prm", "images": "png"}, "text-only"),
        ({"images": "png"}, "image folder"),
        ({"fmt": "csv"}, "unknown format"),
        ({"policy": "loudest"}, "unknown policy"),
        ({"test_share": 0.95}, "shares"),
        ({"filters": ExportFilter(reviewers=("mallory",))}, "no user named 'mallory'"),
        ({"filters": ExportFilter(model_versions=("gpt-9",))}, "no model version"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(
    sqlite_db, seeded_sqlite, tmp_path, kw, message
) -> None:  # noqa: ANN001
    out = tmp_path / "exports" / "out"
    with pytest.raises(ValidationError, match=message):
        export(sqlite_db.factory, out, **kw)
    assert siblings(out) == []
