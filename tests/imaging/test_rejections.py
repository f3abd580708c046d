"""Bad input ends as ImageRejected naming the file and the reason; prepare_image writes nothing."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import JPEG2000Lossless

from imaging import ImageRejected, prepare_image
from tests.imaging.helpers import LIMITS, small_dataset


def rejected(path, *, match: str, **overrides) -> ImageRejected:
    files_before = sorted(path.parent.rglob("*"))
    with pytest.raises(ImageRejected, match=match) as caught:
        prepare_image(path, **{**LIMITS, **overrides})
    assert str(path) in str(caught.value) and caught.value.path == path
    assert isinstance(caught.value, ValueError)
    assert sorted(path.parent.rglob("*")) == files_before  # nothing written
    return caught.value


@pytest.mark.parametrize("fraction", [0.5, 0.01, 0.1, 0.3, 0.9, 0.999])
def test_truncated_rg1(rg1_paths, tmp_path, fraction):
    data = rg1_paths["UNCI"].read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[: int(len(data) * fraction)])
    rejected(path, match="no pixel data|cannot be decoded|not a readable DICOM|corrupt")


@pytest.mark.parametrize("cut", [10, 131, 140, 300, 1000, 1500])
def test_truncated_header(rg1_paths, tmp_path, cut):
    path = tmp_path / "head.dcm"
    path.write_bytes(rg1_paths["J2KR"].read_bytes()[:cut])
    rejected(path, match=".")


def test_truncated_jpeg2000(rg1_paths, tmp_path):
    data = rg1_paths["J2KR"].read_bytes()
    path = tmp_path / "cut_j2k.dcm"
    path.write_bytes(data[: len(data) // 2])
    rejected(path, match="no pixel data|cannot be decoded")


def test_random_bytes_with_dicom_suffix(tmp_path):
    path = tmp_path / "random.dcm"
    path.write_bytes(np.random.default_rng(1).bytes(5000))
    rejected(path, match="is not a DICOM, PNG or JPEG file")


def test_random_bytes_after_a_dicom_preamble(tmp_path):
    path = tmp_path / "noise.dcm"
    path.write_bytes(b"\x00" * 128 + b"DICM" + np.random.default_rng(2).bytes(5000))
    rejected(path, match=".")


def test_dicom_without_pixel_data(write_dicom):
    ds = small_dataset()
    del ds.PixelData
    rejected(write_dicom(ds), match="contains no pixel data")


def test_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Patient: Jane Doe\nFindings: none\n")
    rejected(path, match="is not a DICOM, PNG or JPEG file")


def test_empty_file_and_directory(tmp_path):
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    rejected(empty, match="is empty")
    folder = tmp_path / "folder.dcm"
    folder.mkdir()
    rejected(folder, match="not a regular file")
    rejected(tmp_path / "absent.dcm", match="cannot be read")


def test_file_over_max_bytes(write_dicom):
    path = write_dicom()
    rejected(path, match="over the limit of 100", max_bytes=100)


def test_dicom_over_max_pixels(write_dicom):
    rejected(write_dicom(small_dataset(rows=48, cols=40)), match="over the limit of 1000", max_pixels=1000)


def test_jpeg2000_codestream_larger_than_header(rg1_paths, tmp_path):
    """A decoder allocates what the codestream declares: that is checked before decoding."""
    ds = pydicom.dcmread(rg1_paths["J2KR"])
    ds.Rows, ds.Columns = 20, 20
    path = tmp_path / "liar.dcm"
    ds.save_as(path)
    rejected(path, match="over the limit of 1000", max_pixels=1000)
    assert ds.file_meta.TransferSyntaxUID == JPEG2000Lossless


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_png_bomb(tmp_path):
    """A 200 kB PNG that declares 20000 x 20000 1-bit pixels (400 megapixels of zeros)."""
    width = height = 20000
    row = b"\x00" + b"\x00" * (width // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    assert len(data) < 1_000_000
    rejected(path, match="decompression bomb")


def test_jpeg_over_max_pixels(tmp_path):
    path = tmp_path / "large.jpg"
    Image.new("L", (200, 100), 128).save(path)
    rejected(path, match="over the limit of 5000", max_pixels=5000)


def test_sixteen_bit_png(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).save(path)
    error = rejected(path, match="16-bit PNG is not supported")
    assert "export as 8-bit or DICOM" in error.reason


def test_path_escaping_its_folder(tmp_path, write_dicom):
    inside = tmp_path / "batch"
    inside.mkdir()
    outside = write_dicom()
    rejected(inside / ".." / outside.name, match="escapes its folder", base_dir=inside)
    link = inside / "link.dcm"
    link.symlink_to(outside)
    rejected(link, match="escapes its folder", base_dir=inside)
    assert prepare_image(outside, **LIMITS, base_dir=tmp_path).width == 40  # inside is fine


def test_multi_frame(write_dicom):
    ds = small_dataset()
    ds.NumberOfFrames = 2
    ds.PixelData = ds.PixelData * 2
    rejected(write_dicom(ds), match="multi-frame DICOM")


def test_colour_dicom(write_dicom):
    ds = small_dataset()
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = bytes(48 * 40 * 3)
    rejected(write_dicom(ds), match="colour DICOM")


def test_burned_in_annotation(write_dicom):
    ds = small_dataset()
    ds.BurnedInAnnotation = "YES"
    rejected(write_dicom(ds), match="burned-in annotation")


def test_pixel_data_shorter_than_declared(write_dicom):
    ds = small_dataset()
    ds.PixelData = ds.PixelData[:100]
    rejected(write_dicom(ds), match="cannot be decoded")


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns while this test writes the file
def test_rejection_never_quotes_file_values(write_dicom):
    ds = small_dataset()
    ds.PatientName = "Leaky^Secret"
    ds.add_new(0x00100030, "DA", "Leaky-Secret-Date")  # an invalid date: pydicom complains
    del ds.PixelData
    error = rejected(write_dicom(ds), match=".")
    assert "Leaky" not in str(error)


def test_truncated_png(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (64, 64), dtype=np.uint8)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[:200])
    rejected(path, match="PNG")
