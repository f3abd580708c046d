"""Validate, decode and de-identify one image file for import: :func:`prepare_image`.

Contract: a pure function. It reads one file (at most ``max_bytes``), writes nothing, keeps no
state, and returns a :class:`PreparedImage` holding the de-identified file to store and the facts
the database keeps about it; or it raises :class:`ImageRejected` naming the file and the reason.
Every failure of the DICOM and image libraries on bad input ends as that rejection.

The identity of an image is the SHA-256 of its DECODED pixels (shape, dtype, then the bytes), so
the same image re-imported in another lossless transfer syntax, or as a PNG of the same 8-bit
pixels, is recognised. Pseudonyms, UIDs and date offsets are keyed HMACs (see :mod:`.deid`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from imaging import deid
from imaging.dicom import content_warnings, is_dicom, normalise_view, read_dicom
from imaging.errors import ImageRejected, rejecting
from imaging.raster import encode_payload_png, read_raster
from imaging.windows import RASTER_PARAMS, DisplayParams, Window, window_presets

# The date an acquisition happened, in order of preference (all shifted by the same offset).
_DATE_KEYWORDS = ("AcquisitionDate", "ContentDate", "SeriesDate", "StudyDate")


@dataclass(frozen=True)
class PreparedImage:
    """A de-identified image ready to store. Holds no PHI; ``payload`` is left out of its repr."""

    sha256: str
    payload: bytes = field(repr=False)
    suffix: str
    source_format: str  # "dicom" | "png" | "jpeg"
    modality: str | None
    view: str | None
    body_part: str | None
    width: int
    height: int
    bits_stored: int
    photometric: str
    patient_pseudonym: str
    study_pseudonym: str
    acquisition_date: dt.date | None
    window_presets: dict[str, Window] = field(hash=False)
    warnings: tuple[str, ...] = ()


def prepare_image(
    path: Path,
    *,
    key: bytes,
    date_shift_max_days: int,
    max_pixels: int,
    max_bytes: int,
    base_dir: Path | None = None,
    patient_id: str | None = None,
    max_decode_bytes: int | None = None,
) -> PreparedImage:
    """Validate, decode and de-identify the DICOM, PNG or JPEG at ``path``.

    ``key`` keys every pseudonym (keep it secret and stable). Dates move back by a per-patient
    offset in ``[1, date_shift_max_days]``. ``max_pixels`` and ``max_bytes`` bound the image and
    the file, ``max_decode_bytes`` the memory of the decoded frame, checked before decoding
    (default 2 bytes x ``max_pixels``: :func:`imaging.dicom.decode_budget`); ``base_dir``, when
    given, is the folder ``path`` must resolve inside. ``patient_id``
    is the patient's identifier when the file carries none (always for PNG/JPEG); without one
    each such image is its own patient. Raises :class:`ImageRejected`; writes nothing.
    """
    if not key:
        raise ValueError("the pseudonym key must not be empty")
    path = Path(path)
    data = read_bounded(path, max_bytes=max_bytes, base_dir=base_dir)
    if is_dicom(data):
        return _prepare_dicom(
            data,
            path=path,
            key=key,
            max_days=date_shift_max_days,
            max_pixels=max_pixels,
            max_decode_bytes=max_decode_bytes,
            patient_id=patient_id,
        )
    pixels, fmt, found = read_raster(
        data, path=path, max_pixels=max_pixels, max_decode_bytes=max_decode_bytes
    )
    return _prepare_raster(pixels, fmt=fmt, found=found, key=key, patient_id=patient_id)


def read_bounded(path: Path, *, max_bytes: int, base_dir: Path | None) -> bytes:
    """The bytes of the regular file ``path``, refusing paths outside ``base_dir`` and big files."""
    resolved = path.resolve()
    if base_dir is not None and not resolved.is_relative_to(Path(base_dir).resolve()):
        raise ImageRejected(path, f"escapes its folder {base_dir}")
    try:
        info = os.stat(resolved)
    except OSError as exc:
        raise ImageRejected(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ImageRejected(path, "is not a regular file")
    if info.st_size > max_bytes:
        raise ImageRejected(path, f"is {info.st_size} bytes, over the limit of {max_bytes}")
    if info.st_size == 0:
        raise ImageRejected(path, "is empty")
    try:
        with open(resolved, "rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise ImageRejected(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > max_bytes:
        raise ImageRejected(path, f"is over the limit of {max_bytes} bytes")
    return data


def pixel_sha256(pixels: np.ndarray) -> str:
    """SHA-256 hex of the decoded pixels: shape and dtype, then the C-ordered bytes."""
    digest = hashlib.sha256(f"{pixels.shape}|{pixels.dtype.str}|".encode())
    digest.update(np.ascontiguousarray(pixels).data)
    return digest.hexdigest()


def _prepare_dicom(
    data: bytes,
    *,
    path: Path,
    key: bytes,
    max_days: int,
    max_pixels: int,
    max_decode_bytes: int | None,
    patient_id: str | None,
) -> PreparedImage:
    ds, pixels = read_dicom(data, path=path, max_pixels=max_pixels, max_decode_bytes=max_decode_bytes)
    # A corrupt element surfaces only when it is first read, here or while writing the payload.
    with rejecting(path, "cannot be de-identified"):
        return _describe_dicom(ds, pixels, key=key, max_days=max_days, patient_id=patient_id)


def _describe_dicom(
    ds: Dataset, pixels: np.ndarray, *, key: bytes, max_days: int, patient_id: str | None
) -> PreparedImage:
    sha = pixel_sha256(pixels)
    source_id = str(ds.get("PatientID") or "").strip() or patient_id
    patient = deid.pseudonym(key, "patient", source_id or f"sha:{sha}")
    study = deid.pseudonym(key, "study", str(ds.get("StudyInstanceUID") or "").strip() or f"sha:{sha}")
    offset = deid.date_offset_days(key, patient, max_days)
    clean = deid.deidentify(ds, key=key, patient_pseudonym=patient, date_offset=offset, seed=sha)
    buffer = io.BytesIO()
    clean.save_as(buffer, enforce_file_format=True)
    dates = (deid.shift_date(ds.get(keyword), offset) for keyword in _DATE_KEYWORDS)
    found = content_warnings(ds)
    if str(ds.get("LossyImageCompression", "")).strip() == "01":
        found.append("the pixels were lossy compressed before import")
    return PreparedImage(
        sha256=sha,
        payload=buffer.getvalue(),
        suffix=".dcm",
        source_format="dicom",
        modality=str(ds.get("Modality", "") or "").strip().upper() or None,
        view=normalise_view(ds.get("ViewPosition")),
        body_part=str(ds.get("BodyPartExamined", "") or "").strip().upper() or None,
        width=int(ds.Columns),
        height=int(ds.Rows),
        bits_stored=int(ds.BitsStored),
        photometric=str(ds.PhotometricInterpretation).strip().upper(),
        patient_pseudonym=patient,
        study_pseudonym=study,
        acquisition_date=next((d for d in dates if d is not None), None),
        window_presets=window_presets(pixels, DisplayParams.from_dataset(ds)),
        warnings=tuple(found),
    )


def _prepare_raster(
    pixels: np.ndarray, *, fmt: str, found: list[str], key: bytes, patient_id: str | None
) -> PreparedImage:
    sha = pixel_sha256(pixels)
    patient = deid.pseudonym(key, "patient", patient_id or f"sha:{sha}")
    return PreparedImage(
        sha256=sha,
        payload=encode_payload_png(pixels),
        suffix=".png",
        source_format=fmt,
        modality=None,
        view=None,
        body_part=None,
        width=int(pixels.shape[1]),
        height=int(pixels.shape[0]),
        bits_stored=8,
        photometric="MONOCHROME2",
        patient_pseudonym=patient,
        study_pseudonym=deid.pseudonym(key, "study", f"sha:{sha}"),
        acquisition_date=None,
        window_presets=window_presets(pixels, RASTER_PARAMS),
        warnings=(*found, "no DICOM header: body part and view are unknown"),
    )
