"""Every registered export format, end to end (exports.formats.FORMATS drives the parameters).

A format added to the registry is checked here with no further test: its rows and tables load
with ``datasets.load_dataset`` and equal the JSON lines export's, its images are where its
``png_rows`` says, the zip stores it as its ``compressed`` says, and the command line and the
export page offer it. Format-specific checks (the bytes of a file) go in the format's own test.
"""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

import datasets
import datasets.packaged_modules
import pytest
from PIL import Image
from typer.testing import CliRunner

from chestx.cli import app
from chestx.web.export.form import FORMATS as PAGE_FORMATS
from exports import build_export, build_export_zip, formats
from exports.formats import FORMATS, RowImages
from review_db.errors import ValidationError
from tests.export.helpers import KEY

os.environ.setdefault("HF_HUB_OFFLINE", "1")
NAMES = list(FORMATS)


def export(image_db, out: Path, kind: str, fmt: str, images: str):  # noqa: ANN001, ANN201
    return build_export(
        session_factory=image_db.factory, kind=kind, out_dir=out, key=KEY,
        image_root=image_db.settings.image_dir, fmt=fmt, images=images,
    )  # fmt: skip


def load(result, tmp_path: Path, config: str | None = None) -> dict[str, list[dict]]:  # noqa: ANN001
    """Each split (or the table ``config``) as rows sorted by id; a fresh cache per load."""
    cache = tmp_path / "hf" / result.out_dir.name
    loaded = datasets.load_dataset(str(result.out_dir), config, cache_dir=str(cache))
    return {split: sorted(data, key=lambda row: str(row["id"])) for split, data in loaded.items()}


def test_the_registry_is_consistent() -> None:
    assert formats.DEFAULT_FORMAT in FORMATS and len({f.suffix for f in FORMATS.values()}) == len(FORMATS)
    for name, fmt in FORMATS.items():
        assert fmt.name == name and fmt.suffix.startswith(".") and fmt.label[0].isupper()
        # datasets picks the format's builder from the suffix: an export loads with no arguments
        assert datasets.packaged_modules._EXTENSION_TO_MODULE[fmt.suffix][0] == fmt.loader
    with pytest.raises(ValidationError) as refused:
        formats.get("xlsx")
    assert all(name in str(refused.value) for name in FORMATS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["prm", "sft"])
def test_text_rows_load_as_the_json_lines_rows(image_db, tmp_path, name, kind) -> None:  # noqa: ANN001
    result = export(image_db, tmp_path / f"{kind}-{name}", kind, name, "none")
    assert result.format == name and result.manifest["format"] == name
    data = [p for p in result.manifest["files"] if p.startswith("data/")]
    assert data and all(p.endswith(FORMATS[name].suffix) for p in data)
    baseline = export(image_db, tmp_path / f"{kind}-baseline-{name}", kind, "jsonl", "none")
    assert load(result, tmp_path) == load(baseline, tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_rows_with_png_images_hold_them_as_the_format_says(image_db, tmp_path, name) -> None:  # noqa: ANN001
    result = export(image_db, tmp_path / f"sft-{name}", "sft", name, "png")
    rows = [row for split in load(result, tmp_path).values() for row in split]
    assert len(rows) == result.total_rows == 4
    images = [image for row in rows for image in row["images"]]
    assert len(images) == 5  # one per single-image case, two for the temporal case
    if FORMATS[name].png_rows is RowImages.paths:
        assert all((result.out_dir / image).is_file() for image in images)
    else:  # ImageFolder or embedded bytes: datasets hands back PIL images
        assert all(isinstance(image, Image.Image) and image.size[0] > 0 for image in images)


@pytest.mark.parametrize("name", NAMES)
def test_records_load_table_by_table_as_the_json_lines_tables(image_db, tmp_path, name) -> None:  # noqa: ANN001
    result = export(image_db, tmp_path / f"records-{name}", "records", name, "none")
    baseline = export(image_db, tmp_path / f"records-baseline-{name}", "records", "jsonl", "none")
    assert set(result.manifest["tables"]) == set(baseline.manifest["tables"])
    assert all(path.endswith(FORMATS[name].suffix) for path in result.manifest["tables"].values())
    for table in ("steps", "reviews", "studies"):
        got, want = load(result, tmp_path, table)["records"], load(baseline, tmp_path, table)["records"]
        assert len(got) == result.rows[table] and plain(got) == plain(want)


def plain(rows: list[dict]) -> list[dict]:
    """Dates as text: datasets' JSON reader types ``1995-07-19`` as a timestamp, Parquet keeps text."""
    day = lambda v: v.date().isoformat() if isinstance(v, dt.datetime) else v  # noqa: E731
    return [{k: day(v) for k, v in row.items()} for row in rows]


@pytest.mark.parametrize("name", NAMES)
def test_the_zip_stores_compressed_formats_and_deflates_the_others(image_db, tmp_path, name) -> None:  # noqa: ANN001
    zipped = build_export_zip(
        session_factory=image_db.factory, kind="prm", key=KEY, fmt=name, images="none", zip_dir=tmp_path
    )
    with zipfile.ZipFile(zipped.path) as archive:
        data = [i for i in archive.infolist() if i.filename.endswith(FORMATS[name].suffix)]
    expected = zipfile.ZIP_STORED if FORMATS[name].compressed else zipfile.ZIP_DEFLATED
    assert data and all(i.compress_type == expected for i in data)


def test_the_command_line_and_the_export_page_offer_every_format() -> None:
    help_text = CliRunner().invoke(app, ["export", "--help"], env={"COLUMNS": "200"}).output
    assert " | ".join(FORMATS) in help_text
    assert dict(PAGE_FORMATS) == {f.label: f.name for f in FORMATS.values()}
