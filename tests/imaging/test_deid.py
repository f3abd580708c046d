"""De-identification: no PHI of the source survives in the stored payload or in PreparedImage."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.sequence import Sequence

from imaging import prepare_image
from tests.imaging.helpers import KEY, LIMITS, pydicom_file

# The identifying values RG1_* carry (name, ID, birth date, other ID, institution, department,
# station, device serial, accession number, its three UIDs and their root).
RG1_PHI = [
    "CompressedSamples^RG1",
    "CompressedSamples",
    "9RG1",
    "19400305",
    "26210",
    "Philips Medical Systems Hamburg",
    "Our Department",
    "THORAVISION",
    "92.00.003",
    "exam Number",
    "1.3.6.1.4.1.5962.1.2.9.20040826185059.5457",
    "1.3.6.1.4.1.5962.1.3.9.1.20040826185059.5457",
    "1.3.6.1.4.1.5962.1.1.9.1",
    "1.3.6.1.4.1.5962",
]

PLANTED = {
    "PatientName": "Quorlax^Vendimir",
    "PatientID": "PHI-ID-48151623",
    "OtherPatientIDs": "PHI-OTHER-ID-42",
    "OtherPatientNames": "Zebulon^Quixote",
    "PatientBirthDate": "19010203",
    "PatientAddress": "42 Plantedstreet Phiville",
    "PatientTelephoneNumbers": "555-0199-PHI",
    "PatientAge": "077Y",
    "AccessionNumber": "ACC-PHI-77",
    "InstitutionName": "Planted General Hospital",
    "InstitutionAddress": "1 Hospital Road Phiville",
    "InstitutionalDepartmentName": "Dept of Radiophiology",
    "ReferringPhysicianName": "Refdoc^Phiona",
    "PerformingPhysicianName": "Perfdoc^Phineas",
    "OperatorsName": "Operator^Phillipa",
    "RequestingPhysician": "Reqdoc^Phileas",
    "StationName": "PHISTATION01",
    "DeviceSerialNumber": "SERIAL-PHI-998",
    "StudyDescription": "Chest film for Mr Vendimir",
    "SeriesDescription": "Series about PHI-ID-48151623",
    "ImageComments": "Wheelchair patient, room 1207 PHI",
    "StudyID": "STUDY-PHI-5",
    "FrameOfReferenceUID": "1.2.826.0.1.999.424242",
    "WindowCenterWidthExplanation": "Window chosen by Dr Phiwindow",
    # A kept attribute that repeats the patient's name must go too.
    "Manufacturer": "Vendimir Imaging",
}
PRIVATE_TEXT = "PRIVATE-PHI-VALUE-31337"
PRIVATE_BYTES = b"UNKNOWN-VR-PHI-2718"
NESTED_TEXT = "Requested for Quorlax nested"
OVERLAY_TEXT = b"OVERLAY-PHI-BITS"
PREAMBLE_TEXT = b"PREAMBLE-PHI-161803"


def planted_rg1(path, tmp_path):
    """RG1_UNCI with PHI planted in many public, private, nested, overlay and meta places."""
    ds = pydicom.dcmread(path)
    for keyword, value in PLANTED.items():
        setattr(ds, keyword, value)
    block = ds.private_block(0x0011, "PHI PRIVATE CREATOR", create=True)
    block.add_new(0x01, "LO", PRIVATE_TEXT)
    block.add_new(0x02, "UN", PRIVATE_BYTES)
    item = Dataset()
    item.RequestedProcedureDescription = NESTED_TEXT
    item.ScheduledProcedureStepID = "SPS-PHI-123"
    ds.RequestAttributesSequence = Sequence([item])
    ds.add_new(0x60000022, "LO", "Overlay PHI description")
    ds.add_new(0x60003000, "OW", OVERLAY_TEXT * 4)
    ds.add_new(0x50003000, "OW", b"CURVE-PHI-DATA!!")
    ds.file_meta.SourceApplicationEntityTitle = "PHI_AE_TITLE"
    ds.preamble = PREAMBLE_TEXT + b"\x00" * (128 - len(PREAMBLE_TEXT))
    target = tmp_path / "planted.dcm"
    ds.save_as(target)
    return target


def planted_strings() -> list[bytes]:
    texts = [value for value in PLANTED.values()]
    texts += [part for value in PLANTED.values() for part in value.split("^")]
    texts += [PRIVATE_TEXT, NESTED_TEXT, "SPS-PHI-123", "Overlay PHI description", "PHI_AE_TITLE"]
    found = [text.encode() for text in texts] + [PRIVATE_BYTES, OVERLAY_TEXT, b"CURVE-PHI", PREAMBLE_TEXT]
    return found + [b"Phiville", b"Quorlax", b"PHI-ID"]


@pytest.mark.parametrize("name", ["UNCI", "UNCR", "J2KI", "J2KR"])
def test_rg1_phi_absent_from_payload_and_repr(rg1_paths, name):
    image = prepare_image(rg1_paths[name], **LIMITS)
    original = pydicom.dcmread(rg1_paths[name], stop_before_pixels=True)
    assert str(original.PatientName) in RG1_PHI and original.PatientID in RG1_PHI  # the test is live
    for value in RG1_PHI:
        assert value.encode() not in image.payload, value
        assert value not in repr(image), value


def test_planted_phi_survives_nowhere(rg1_paths, tmp_path):
    source = planted_rg1(rg1_paths["UNCI"], tmp_path)
    raw = source.read_bytes()
    strings = planted_strings()
    assert all(text in raw for text in strings[:5])  # planted for real
    image = prepare_image(source, **LIMITS)
    for text in strings:
        assert text not in image.payload, text
        assert text.decode() not in repr(image), text
    assert image.payload[:128] == b"\x00" * 128


def test_payload_is_marked_and_reduced(rg1_paths, tmp_path):
    image = prepare_image(planted_rg1(rg1_paths["UNCI"], tmp_path), **LIMITS)
    ds = pydicom.dcmread(io.BytesIO(image.payload))
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    assert [item.CodeValue for item in ds.DeidentificationMethodCodeSequence] == ["113100", "113107"]
    assert {item.CodingSchemeDesignator for item in ds.DeidentificationMethodCodeSequence} == {"DCM"}
    assert ds.PatientName == image.patient_pseudonym and ds.PatientID == image.patient_pseudonym
    assert ds.PatientBirthDate == "" and ds.AccessionNumber == "" and ds.ReferringPhysicianName == ""
    tags = [elem.tag for elem in ds.iterall()]
    assert not any(tag.is_private for tag in tags)
    assert not any(tag.group & 0xFF00 in (0x5000, 0x6000) for tag in tags)
    for keyword in ("InstitutionName", "StationName", "OperatorsName", "RequestAttributesSequence"):
        assert keyword not in ds
    assert "Manufacturer" not in ds  # it repeated the patient's name
    assert "SourceApplicationEntityTitle" not in ds.file_meta
    assert ds.pixel_array.shape == (1955, 1841)


def test_uids_are_keyed_hmac_uids(rg1_paths):
    first = pydicom.dcmread(io.BytesIO(prepare_image(rg1_paths["UNCR"], **LIMITS).payload))
    again = pydicom.dcmread(io.BytesIO(prepare_image(rg1_paths["J2KR"], **LIMITS).payload))
    other_key = {**LIMITS, "key": KEY + b"-other"}
    other = pydicom.dcmread(io.BytesIO(prepare_image(rg1_paths["UNCR"], **other_key).payload))
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID"):
        value = str(first[keyword].value)
        assert value.startswith("2.25.") and len(value) <= 64 and value[5:].isdigit()
        assert value == str(again[keyword].value)  # stable for one key
        assert value != str(other[keyword].value)  # different under another key
    assert first.file_meta.MediaStorageSOPInstanceUID == first.SOPInstanceUID
    assert first.SOPInstanceUID.startswith("2.25.")
    assert first.SOPClassUID == "1.2.840.10008.5.1.4.1.1.1"  # a registered UID stays


def _with_planted_segment(path, tmp_path, segment: bytes, after: int):
    """A copy of ``path`` whose first frame gets ``segment`` inserted ``after`` bytes in."""
    ds = pydicom.dcmread(path)
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([frame[:after] + segment + frame[after:]])
    target = tmp_path / f"planted_{path.name}"
    ds.save_as(target)
    return target


@pytest.mark.parametrize(
    ("name", "segment", "after"),
    [
        # JPEG: an APP1 (EXIF-like) and a COM right after SOI.
        ("JPGLosslessP14SV1_1s_1f_8b.dcm", b"\xff\xe1\x00\x10Exif-PHI-NAME!", 2),
        ("JPGLosslessP14SV1_1s_1f_8b.dcm", b"\xff\xfe\x00\x10COM--PHI-NAME!", 2),
        # JPEG 2000: a COM after SIZ in the main header (SIZ of RG1 is 43 bytes long).
        ("RG1_J2KR.dcm", b"\xff\x64\x00\x11\x00\x01COM-PHI-NAME!", 45),
    ],
)
def test_codestream_text_segments_are_removed(tmp_path, name, segment, after):
    source = _with_planted_segment(pydicom_file(name), tmp_path, segment, after)
    assert b"PHI-NAME" in source.read_bytes()
    image = prepare_image(source, **LIMITS)
    assert b"PHI-NAME" not in image.payload
    assert b"Kakadu" not in image.payload  # the encoder's own COM goes too
    stored = pydicom.dcmread(io.BytesIO(image.payload))
    assert np.array_equal(stored.pixel_array, pydicom.dcmread(pydicom_file(name)).pixel_array)
