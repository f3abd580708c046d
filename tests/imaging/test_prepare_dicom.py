"""prepare_image on the real chest radiograph RG1 in four transfer syntaxes, and on RG3."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest

from imaging import prepare_image
from imaging.dicom import codestream_dims
from tests.imaging.helpers import LIMITS, pydicom_file, shifted_back


@pytest.fixture(scope="module")
def prepared(rg1_paths):
    return {name: prepare_image(path, **LIMITS) for name, path in rg1_paths.items()}


def test_rg1_facts(prepared):
    image = prepared["UNCR"]
    assert (image.modality, image.view, image.body_part) == ("CR", "PA", "CHEST")
    assert (image.width, image.height, image.bits_stored) == (1841, 1955, 15)
    assert image.photometric == "MONOCHROME1"
    assert (image.source_format, image.suffix) == ("dicom", ".dcm")
    assert image.window_presets["file"] == (15000.0, 30000.0)
    assert {"full", "lung", "mediastinum", "bone"} <= image.window_presets.keys()
    assert image.warnings == ()
    # ContentDate 19950926 moved back by 1..365 days.
    assert shifted_back(image.acquisition_date, "19950926", LIMITS["date_shift_max_days"])


def test_lossless_syntaxes_share_the_pixel_hash(prepared):
    assert prepared["UNCR"].sha256 == prepared["J2KR"].sha256
    # UNCI is the decompressed J2KI: the same pixels again, but not those of the lossless pair.
    assert prepared["UNCI"].sha256 == prepared["J2KI"].sha256
    assert prepared["UNCI"].sha256 != prepared["UNCR"].sha256
    assert "the pixels were lossy compressed before import" in prepared["J2KI"].warnings


def test_payload_keeps_transfer_syntax_and_pixels(prepared, rg1_paths):
    for name, image in prepared.items():
        original = pydicom.dcmread(rg1_paths[name])
        stored = pydicom.dcmread(io.BytesIO(image.payload))
        assert stored.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID, name
        if name.startswith("UNC"):
            assert stored.PixelData == original.PixelData, name
    # The JPEG 2000 codestream lost its COM segment; the pixels are the same.
    stored = pydicom.dcmread(io.BytesIO(prepared["J2KR"].payload))
    assert stored.PixelData != pydicom.dcmread(rg1_paths["J2KR"]).PixelData
    assert np.array_equal(stored.pixel_array, pydicom.dcmread(rg1_paths["UNCR"]).pixel_array)


def test_one_patient_and_study_across_syntaxes(prepared):
    assert len({image.patient_pseudonym for image in prepared.values()}) == 1
    assert len({image.study_pseudonym for image in prepared.values()}) == 1
    image = prepared["UNCR"]
    assert image.patient_pseudonym.startswith("P-") and len(image.patient_pseudonym) == 18
    assert image.study_pseudonym.startswith("S-")


def test_pseudonyms_are_keyed(rg1_paths, prepared):
    other = prepare_image(rg1_paths["UNCR"], **{**LIMITS, "key": b"another key"})
    assert other.sha256 == prepared["UNCR"].sha256
    assert other.patient_pseudonym != prepared["UNCR"].patient_pseudonym
    assert other.study_pseudonym != prepared["UNCR"].study_pseudonym
    again = prepare_image(rg1_paths["UNCR"], **LIMITS)
    assert again == prepared["UNCR"]  # deterministic: same payload bytes, same pseudonyms


def test_date_shift_respects_the_maximum(rg1_paths):
    one_day = prepare_image(rg1_paths["UNCR"], **{**LIMITS, "date_shift_max_days": 1})
    assert str(one_day.acquisition_date) == "1995-09-25"
    stored = pydicom.dcmread(io.BytesIO(one_day.payload), stop_before_pixels=True)
    assert (stored.StudyDate, stored.SeriesDate, stored.ContentDate) == ("20040825", "19950925", "19950925")


def test_non_chest_body_part_imports_with_a_warning():
    image = prepare_image(pydicom_file("RG3_UNCR.dcm"), **LIMITS)
    assert image.body_part == "EXTREMITY"
    assert "body part 'EXTREMITY' is not chest: imported with a warning" in image.warnings


def test_other_modality_imports_with_a_warning():
    image = prepare_image(pydicom_file("MR_small.dcm"), **LIMITS)
    assert any("modality 'MR' is not a radiograph" in warning for warning in image.warnings)


def test_rle_and_jpeg2000_decode_to_the_same_pixels():
    """MR_small in explicit VR, RLE and JPEG 2000 lossless: signed 16-bit, one pixel hash."""
    names = ("MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm")
    images = [prepare_image(pydicom_file(name), **LIMITS) for name in names]
    assert len({image.sha256 for image in images}) == 1
    assert [image.suffix for image in images] == [".dcm"] * 3


def test_jpeg_lossless_decodes_and_its_frame_header_is_read():
    path = pydicom_file("JPGLosslessP14SV1_1s_1f_8b.dcm")
    image = prepare_image(path, **LIMITS)
    assert (image.width, image.height, image.bits_stored) == (1024, 768, 8)
    assert codestream_dims(pydicom.dcmread(path).PixelData) == (1024, 768)
