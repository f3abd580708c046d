"""No PHI in any exported byte: studies imported from DICOM headers full of marker strings."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pydicom
import pytest

from exports import build_export, build_export_zip
from exports.images import png_chunk_types
from tests.export.helpers import KEY, phi_strings

EXPORTS = [
    ("sft", "jsonl", "png"),
    ("sft", "parquet", "png"),
    ("pairs", "jsonl", "dicom"),
    ("prm", "parquet", "none"),
    ("records", "jsonl", "dicom"),
    ("records", "parquet", "png"),
]


def _texts(name: str, data: bytes) -> list[bytes]:
    """The bytes of a file and, for containers, of what they hold (decompressed)."""
    out = [data]
    if name.endswith(".parquet"):
        table = pq.read_table(io.BytesIO(data))
        out.append(repr(table.to_pylist()).encode())
        out += [str(table.schema.metadata).encode()]
    elif name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for entry in archive.namelist():
                out += _texts(entry, archive.read(entry))
    return out


def assert_no_phi(paths: list[Path], forbidden: list[bytes]) -> int:
    scanned = 0
    for path in paths:
        for blob in _texts(path.name, path.read_bytes()):
            scanned += len(blob)
            found = [f for f in forbidden if f in blob]
            assert not found, f"{path}: {found[0]!r}"
    return scanned


def test_the_scanner_finds_the_markers_in_the_source_files(image_db) -> None:  # noqa: ANN001
    # A scanner that finds nothing proves nothing: the planted values are where they should be.
    with pytest.raises(AssertionError):
        assert_no_phi([image_db.sources[0]], phi_strings())


@pytest.mark.parametrize(("kind", "fmt", "images"), EXPORTS)
def test_no_phi_in_any_exported_byte(image_db, tmp_path, kind, fmt, images) -> None:  # noqa: ANN001
    result = build_export(
        session_factory=image_db.factory,
        kind=kind,
        out_dir=tmp_path / "out",
        key=KEY,
        image_root=image_db.settings.image_dir,
        fmt=fmt,
        images=images,
    )
    files = [p for p in result.out_dir.rglob("*") if p.is_file()]
    assert len(files) == len(result.files) + 1  # every file is in the manifest (and the manifest)
    forbidden = phi_strings() + [image_db.reviewer_name.encode(), b"phi-second-reviewer"]
    assert assert_no_phi(files, forbidden) > 0
    if images == "png":
        pngs = [p for p in files if p.suffix == ".png"]
        if fmt == "parquet" and kind != "records":
            pngs = []
            table = pq.read_table(next(p for p in files if p.suffix == ".parquet"))
            blobs = [img["bytes"] for row in table.column("images").to_pylist() for img in row]
            assert blobs and all(set(png_chunk_types(b)) == {b"IHDR", b"IDAT", b"IEND"} for b in blobs)
        for png in pngs:
            assert set(png_chunk_types(png.read_bytes())) == {b"IHDR", b"IDAT", b"IEND"}
    if images == "dicom":
        dicoms = [p for p in files if p.suffix == ".dcm"]
        assert len(dicoms) == 2  # the PNG-imported study has no DICOM to give
        for path in dicoms:
            ds = pydicom.dcmread(path)
            assert ds.PatientIdentityRemoved == "YES"
            codes = {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}
            assert "113100" in codes
            assert not any(elem.tag.is_private for elem in ds.iterall())
            assert str(ds.PatientName).startswith("P-") and ds.PatientName == ds.PatientID


def test_dicom_uids_and_pseudonyms_follow_the_export_key(image_db, tmp_path) -> None:  # noqa: ANN001
    def export(key: bytes, name: str) -> list[pydicom.Dataset]:
        result = build_export(
            session_factory=image_db.factory,
            kind="records",
            out_dir=tmp_path / name,
            key=key,
            image_root=image_db.settings.image_dir,
            images="dicom",
        )
        return [pydicom.dcmread(p) for p in sorted(result.out_dir.rglob("*.dcm"))]

    a, again, other = export(KEY, "a"), export(KEY, "again"), export(b"another-export-key-000", "other")
    assert [d.SOPInstanceUID for d in a] == [d.SOPInstanceUID for d in again]
    assert {d.SOPInstanceUID for d in a}.isdisjoint(d.SOPInstanceUID for d in other)
    assert {str(d.PatientID) for d in a}.isdisjoint(str(d.PatientID) for d in other)
    stored = [pydicom.dcmread(p) for p in sorted(image_db.settings.image_dir.rglob("*.dcm"))]
    assert {d.StudyInstanceUID for d in stored}.isdisjoint(d.StudyInstanceUID for d in a)


def test_no_phi_in_the_zip(image_db, tmp_path) -> None:  # noqa: ANN001
    zipped = build_export_zip(
        session_factory=image_db.factory,
        kind="sft",
        key=KEY,
        image_root=image_db.settings.image_dir,
        zip_dir=tmp_path,
    )
    assert zipped.path.exists() and list(tmp_path.iterdir()) == [zipped.path]  # no folder left behind
    with zipfile.ZipFile(zipped.path) as archive:
        names = archive.namelist()
    assert "manifest.json" in names and "README.md" in names and any(n.endswith(".png") for n in names)
    assert_no_phi([zipped.path], phi_strings() + [image_db.reviewer_name.encode()])
