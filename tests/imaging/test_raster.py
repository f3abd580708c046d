"""PNG and JPEG sources: decoded to 8-bit gray, stored as a PNG without any metadata."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from imaging import prepare_image
from tests.imaging.helpers import LIMITS, small_dataset

PHI = "Rasterpatient Phibert 1950-01-02"


def png_chunk_types(data: bytes) -> list[bytes]:
    kinds, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kinds.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return kinds


@pytest.fixture
def gray() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, size=(60, 80), dtype=np.uint8)


def test_png_with_text_chunks(tmp_path, gray):
    info = PngImagePlugin.PngInfo()
    info.add_text("Patient", PHI)
    info.add_itxt("Comment", PHI)
    path = tmp_path / "xray.png"
    Image.fromarray(gray).save(path, pnginfo=info, dpi=(300, 300))
    assert PHI.encode() in path.read_bytes()
    image = prepare_image(path, **LIMITS)
    assert (image.source_format, image.suffix, image.photometric) == ("png", ".png", "MONOCHROME2")
    assert (image.width, image.height, image.bits_stored) == (80, 60, 8)
    assert PHI.encode() not in image.payload and b"Rasterpatient" not in image.payload
    assert png_chunk_types(image.payload) == [b"IHDR", b"IDAT", b"IEND"]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(image.payload))), gray)
    assert image.modality is None and image.acquisition_date is None
    assert image.window_presets["file"] == (128.0, 256.0)  # a raster is shown as stored by default


def test_jpeg_with_exif_and_comment(tmp_path, gray):
    exif = Image.Exif()
    exif[0x010E] = PHI  # ImageDescription
    exif[0x013B] = "Phibert the photographer"  # Artist
    path = tmp_path / "xray.jpg"
    Image.fromarray(gray).save(path, exif=exif, comment=PHI.encode(), quality=95)
    assert PHI.encode() in path.read_bytes()
    image = prepare_image(path, **LIMITS)
    assert image.source_format == "jpeg" and image.suffix == ".png"
    assert b"Phibert" not in image.payload
    assert png_chunk_types(image.payload) == [b"IHDR", b"IDAT", b"IEND"]
    decoded = np.asarray(Image.open(io.BytesIO(image.payload)))
    assert decoded.shape == gray.shape and np.abs(decoded.astype(int) - gray).mean() < 6


def test_same_pixels_same_hash_each_raster_its_own_patient(tmp_path, gray):
    png, bmp_like = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(gray).save(png)
    Image.fromarray(gray).convert("RGB").save(bmp_like)  # gray content stored as RGB
    first, second = prepare_image(png, **LIMITS), prepare_image(bmp_like, **LIMITS)
    assert first.sha256 == second.sha256
    other = tmp_path / "c.png"
    Image.fromarray(255 - gray).save(other)
    third = prepare_image(other, **LIMITS)
    assert third.patient_pseudonym != first.patient_pseudonym
    assert third.study_pseudonym != first.study_pseudonym
    joined = prepare_image(other, **LIMITS, patient_id="MRN-1")
    assert joined.patient_pseudonym == prepare_image(png, **LIMITS, patient_id="MRN-1").patient_pseudonym
    assert "MRN-1" not in repr(joined)


def test_colour_raster_is_converted_with_a_warning(tmp_path, gray):
    rgb = np.stack([gray, gray // 2, 255 - gray], axis=2)
    path = tmp_path / "colour.png"
    Image.fromarray(rgb).save(path)
    image = prepare_image(path, **LIMITS)
    assert any("converted to grayscale" in warning for warning in image.warnings)


def test_palette_and_bilevel_png(tmp_path, gray):
    for mode in ("P", "1", "LA"):
        path = tmp_path / f"{mode}.png"
        Image.fromarray(gray).convert(mode).save(path)
        assert prepare_image(path, **LIMITS).bits_stored == 8


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40), dtype=np.uint8)
    pixels[:, :20] = 255  # white on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    image = prepare_image(path, **LIMITS)
    assert (image.width, image.height) == (20, 40)


def test_no_library_warning_escapes_with_file_values(write_dicom):
    """pydicom warns with the offending value in the text: PHI must not reach the logs."""
    ds = small_dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.PatientBirthDate = "Leaky-Birth-Date"
    path = write_dicom(ds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepare_image(path, **LIMITS)
    assert not [w for w in caught if "Leaky" in str(w.message)]
