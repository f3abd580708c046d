"""De-identification of one DICOM dataset (PS3.15 Annex E, Basic Application Confidentiality Profile).

Contract: :func:`deidentify` builds a NEW dataset from the original and returns it with its file
meta; the original is not changed. Pseudonyms, UIDs and date offsets are keyed HMAC-SHA256 values:
stable for one key, unlinkable across keys. Nothing here reads the environment or writes files.

Why an allowlist and not the profile's table of ~500 attributes: the profile's actions reduce to
keep (K), blank (Z), replace UIDs (U), shift dates (D) and remove (X); an attribute this module does
not list is removed, which is what X asks and is stricter than K. A chest radiograph needs only the
image pixel, modality LUT, VOI LUT and a few acquisition attributes, listed below, so the table
stays short and readable, and a new or private attribute can never slip through because it was
missing from a blocklist (the failure mode of blocklist anonymizers). Applied profile actions:

- Z (present, empty): PatientBirthDate, PatientSex, AccessionNumber, ReferringPhysicianName,
  StudyID, StudyTime.
- D with the "Retain Longitudinal Temporal Information with Modified Dates" option (113107): the
  kept dates are shifted back by a per-patient keyed offset; times other than StudyTime removed.
- U: every UID that is not a registered DICOM UID (SOP Class and transfer syntaxes stay) becomes
  ``2.25.<int>`` from a keyed HMAC of the original, also in the file meta.
- PatientName and PatientID become the patient pseudonym.
- X: everything else, including all private tags, overlays (60xx), curves (50xx), institution,
  physician, operator, station and device identity, descriptions and comments. A kept free-text
  value that contains any identifying value of the original (a patient name typed into the model
  name...) is removed too.
- Compressed pixel data loses its JPEG COM/APPn and JPEG 2000 COM segments (encoder names, EXIF,
  any text a modality wrote there); the pixels decode the same (see :mod:`.codestream`).
- The 128-byte preamble is written as zeros (it may carry another format's header).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.sequence import Sequence
from pydicom.uid import UID

from imaging.codestream import strip_metadata_segments

METHOD = "ChestX Review: PS3.15 basic profile; HMAC IDs; dates shifted"  # LO: <= 64 chars
# Copied unchanged (after the free-text check below): image, LUT and acquisition description.
KEEP = frozenset(
    (
        "SpecificCharacterSet",
        "ImageType",
        "SOPClassUID",
        "Modality",
        "Manufacturer",
        "ManufacturerModelName",
        "BodyPartExamined",
        "ViewPosition",
        "PatientOrientation",
        "Laterality",
        "ImageLaterality",
        "PatientPosition",
        "SeriesNumber",
        "InstanceNumber",
        "KVP",
        "ExposureTime",
        "XRayTubeCurrent",
        "Exposure",
        "ExposureInuAs",
        "DistanceSourceToDetector",
        "DistanceSourceToPatient",
        "EstimatedRadiographicMagnificationFactor",
        "ImagerPixelSpacing",
        "PixelSpacing",
        "PixelSpacingCalibrationType",
        "Grid",
        "FilterType",
        "FocalSpots",
        "Sensitivity",
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "Rows",
        "Columns",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "PlanarConfiguration",
        "PixelAspectRatio",
        "SmallestImagePixelValue",
        "LargestImagePixelValue",
        "PixelPaddingValue",
        "PixelPaddingRangeLimit",
        "RescaleIntercept",
        "RescaleSlope",
        "RescaleType",
        "WindowCenter",
        "WindowWidth",
        "VOILUTFunction",
        "PresentationLUTShape",
        "PixelIntensityRelationship",
        "PixelIntensityRelationshipSign",
        "LossyImageCompression",
        "LossyImageCompressionRatio",
        "LossyImageCompressionMethod",
        "BurnedInAnnotation",
        "RecognizableVisualFeatures",
        "PixelData",
    )
)
# LUT sequences are kept, with only these attributes in their items (LUTExplanation is free text).
KEEP_SEQUENCES = {
    "ModalityLUTSequence": ("LUTDescriptor", "ModalityLUTType", "LUTData"),
    "VOILUTSequence": ("LUTDescriptor", "LUTData"),
}
BLANK = (
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyID",
    "StudyTime",
)
SHIFTED_DATES = ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")
REPLACED_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")
_TEXT_VRS = frozenset({"AE", "CS", "DS", "IS", "LO", "LT", "PN", "SH", "ST", "UC", "UT"})
_IDENTIFYING_VRS = frozenset({"AE", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "UC", "UI", "UT"})


def keyed_hex(key: bytes, purpose: str, value: str) -> str:
    """Hex HMAC-SHA256 of ``value`` under ``key``, separated by ``purpose`` (one key, many uses)."""
    message = purpose.encode() + b"\x00" + value.encode("utf-8", "surrogateescape")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """``P-``/``S-`` + 16 hex: a stable pseudonym of a patient or study identifier."""
    return f"{kind[0].upper()}-{keyed_hex(key, kind, value)[:16]}"


def pseudo_uid(key: bytes, uid: str) -> str:
    """A ``2.25.<int>`` UID derived from a keyed HMAC of ``uid`` (a name-based UUID, PS3.5 B.2)."""
    digest = bytes.fromhex(keyed_hex(key, "uid", uid))[:16]
    return f"2.25.{uuid.UUID(bytes=digest, version=5).int}"


def date_offset_days(key: bytes, patient_pseudonym: str, max_days: int) -> int:
    """Days in ``[1, max_days]`` to shift this patient's dates back by (the same for all studies)."""
    if max_days < 1:
        raise ValueError("date_shift_max_days must be at least 1")
    return 1 + int(keyed_hex(key, "date-shift", patient_pseudonym)[:16], 16) % max_days


def shift_date(value: object, offset_days: int) -> dt.date | None:
    """The DICOM DA ``value`` moved ``offset_days`` back, or None when it is not a valid date."""
    text = str(value or "").strip()
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date() - dt.timedelta(days=offset_days)
    except ValueError:
        return None


def deidentify(ds: Dataset, *, key: bytes, patient_pseudonym: str, date_offset: int, seed: str) -> Dataset:
    """A new dataset holding only the de-identified attributes of ``ds``, with its file meta.

    ``seed`` (the pixel hash) derives the Study, Series and SOP Instance UIDs a file lacks.
    """
    identifiers = identifying_values(ds)
    clean = Dataset()
    for elem in ds:
        if elem.keyword in KEEP and not elem.tag.is_private and not _mentions(elem, identifiers):
            value = elem.value
            if elem.VR == "UI" and value and not _registered(str(value)):
                value = pseudo_uid(key, str(value))
            clean.add(DataElement(elem.tag, elem.VR, value))
    for keyword, item_keys in KEEP_SEQUENCES.items():
        if ds.get(keyword):
            clean[keyword] = DataElement(ds[keyword].tag, "SQ", _filter_items(ds[keyword].value, item_keys))
    for keyword in BLANK:
        setattr(clean, keyword, "")
    for keyword in SHIFTED_DATES:
        shifted = shift_date(ds.get(keyword), date_offset)
        if shifted is not None:
            setattr(clean, keyword, shifted.strftime("%Y%m%d"))
    if "StudyDate" not in clean:
        clean.StudyDate = ""  # type 2 in the General Study module
    for keyword in REPLACED_UIDS:
        original = str(ds.get(keyword) or "").strip()
        if original:
            setattr(clean, keyword, pseudo_uid(key, original))
        elif keyword != "FrameOfReferenceUID":  # the three the SOP Common / study / series need
            setattr(clean, keyword, pseudo_uid(key, f"missing-{keyword}:{seed}"))
    clean.PatientName = patient_pseudonym
    clean.PatientID = patient_pseudonym
    if "PixelData" in clean and ds.file_meta.TransferSyntaxUID.is_compressed:
        clean.PixelData = _clean_codestream(clean.PixelData)
    _mark_deidentified(clean)
    clean.file_meta = _file_meta(ds, clean)
    clean.preamble = b"\x00" * 128
    return clean


def identifying_values(ds: Dataset) -> frozenset[str]:
    """Upper-cased identifying text of ``ds`` (names, IDs, dates, UIDs, private text), 3+ chars.

    Used to drop a kept free-text attribute that repeats one of them, and by tests.
    """
    found: set[str] = set()
    for elem in ds.iterall():
        if elem.VR not in _IDENTIFYING_VRS and not elem.tag.is_private:
            continue
        if elem.keyword in KEEP or elem.VR == "SQ":
            continue
        values = elem.value if elem.VM > 1 else [elem.value]
        if isinstance(elem.value, bytes):  # private or unknown VR read as bytes: decode leniently
            if len(elem.value) > 1024:
                continue
            values = [elem.value.decode("latin-1").strip("\x00 ")]
        for value in values:
            text = str(value or "").strip()
            found.add(text)
            if elem.VR == "PN":
                found.update(part for part in text.replace("=", "^").split("^"))
    return frozenset(v.upper() for v in found if len(v.strip()) >= 3)


def _registered(uid: str) -> bool:
    """True for a UID of the DICOM standard (SOP classes, transfer syntaxes, coding schemes)."""
    return UID(uid).name != uid


def _mentions(elem: DataElement, identifiers: frozenset[str]) -> bool:
    if elem.VR not in _TEXT_VRS or elem.value is None:
        return False
    values = elem.value if elem.VM > 1 else [elem.value]
    texts = [str(v).upper() for v in values]
    return any(ident in text for text in texts for ident in identifiers)


def _filter_items(items: Sequence, item_keys: tuple[str, ...]) -> Sequence:
    kept = []
    for item in items:
        new = Dataset()
        for keyword in item_keys:
            if keyword in item:
                new.add(DataElement(item[keyword].tag, item[keyword].VR, item[keyword].value))
        kept.append(new)
    return Sequence(kept)


def _clean_codestream(pixel_data: bytes) -> bytes:
    """Encapsulated single-frame pixel data without comment/application segments."""
    frame = next(generate_frames(pixel_data, number_of_frames=1))
    stripped = strip_metadata_segments(frame)
    return pixel_data if stripped == frame else encapsulate([stripped])


def _mark_deidentified(clean: Dataset) -> None:
    clean.PatientIdentityRemoved = "YES"
    clean.DeidentificationMethod = METHOD
    clean.LongitudinalTemporalInformationModified = "MODIFIED"
    codes = []
    for value, meaning in (
        ("113100", "Basic Application Confidentiality Profile"),
        ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ):
        code = Dataset()
        code.CodeValue = value
        code.CodingSchemeDesignator = "DCM"
        code.CodeMeaning = meaning
        codes.append(code)
    clean.DeidentificationMethodCodeSequence = Sequence(codes)


def _file_meta(ds: Dataset, clean: Dataset) -> FileMetaDataset:
    """Fresh file meta: no source application title, the new SOP Instance UID, same syntax."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = clean.get("SOPClassUID") or ds.file_meta.get("MediaStorageSOPClassUID")
    meta.MediaStorageSOPInstanceUID = clean.SOPInstanceUID
    meta.TransferSyntaxUID = ds.file_meta.TransferSyntaxUID
    return meta
