"""Read, validate and decode one DICOM file held in memory.

Contract: :func:`read_dicom` takes the file's bytes and returns the parsed dataset and its decoded
single-frame grayscale pixel array, or raises :class:`ImageRejected`. pydicom and its decoder
plugins raise many exception types on corrupt input (``InvalidDicomError``, ``EOFError``,
``struct.error``, ``KeyError``, ``ValueError``, ``MemoryError``, even pyo3's ``PanicException``,
which is not an ``Exception``); every one becomes a rejection here. Library messages are not
quoted, because they may echo tag values (PHI): the rejection names the stage that failed and the
exception type.

The pixel limit is checked before anything is decoded, against the header's Rows x Columns and,
for compressed transfer syntaxes, against the dimensions in the JPEG / JPEG 2000 codestream itself,
since a decoder allocates what the codestream declares, whatever the header says; so is the
memory the decoded frame needs (:func:`check_decode_bytes`).
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments

from imaging.errors import ImageRejected, rejecting

GRAYSCALE = ("MONOCHROME1", "MONOCHROME2")
# Body parts accepted as chest without a warning (BodyPartExamined is free-ish CS text).
CHEST_BODY_PARTS = frozenset({"CHEST", "THORAX", "LUNG", "LUNGS", "CHEST_TO_ABDOMEN", "HEART"})
RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR", "RG", "RF"})
_LATERAL_VIEWS = frozenset({"LL", "RL", "LAT", "LATERAL", "LLD", "RLD"})


def is_dicom(data: bytes) -> bool:
    """True when ``data`` starts with a DICOM Part 10 preamble and the ``DICM`` prefix."""
    return len(data) >= 132 and data[128:132] == b"DICM"


def read_dicom(
    data: bytes, *, path: Path, max_pixels: int, max_decode_bytes: int | None = None
) -> tuple[Dataset, np.ndarray]:
    """Parse and decode ``data`` (a DICOM Part 10 file).

    Returns ``(dataset, pixels)`` where ``pixels`` is a 2-D integer array of the stored values.
    Raises :class:`ImageRejected` for anything that is not one readable single-frame grayscale
    image within ``max_pixels`` and ``max_decode_bytes`` (default :func:`decode_budget`).
    """
    budget = max_decode_bytes or decode_budget(max_pixels)
    with rejecting(path, "is not a readable DICOM file"):
        ds = pydicom.dcmread(io.BytesIO(data))
    with rejecting(path, "has a corrupt DICOM header"):  # elements are parsed on first access
        _check_header(ds, path=path, max_pixels=max_pixels, max_decode_bytes=budget)
    with rejecting(path, "has pixel data that cannot be decoded"):
        pixels = ds.pixel_array
    if pixels.ndim != 2 or pixels.shape != (ds.Rows, ds.Columns):
        raise ImageRejected(path, f"decodes to an array of shape {pixels.shape}, not one grayscale frame")
    return ds, pixels


def _check_header(ds: Dataset, *, path: Path, max_pixels: int, max_decode_bytes: int) -> None:
    """Refuse what cannot or must not be decoded, before decoding."""
    if "PixelData" not in ds:
        raise ImageRejected(path, "contains no pixel data (not an image, or the file is truncated)")
    if "TransferSyntaxUID" not in ds.file_meta:
        raise ImageRejected(path, "has no transfer syntax in its file meta information")
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if int(ds.get("SamplesPerPixel", 1)) != 1 or photometric not in GRAYSCALE:
        raise ImageRejected(
            path,
            f"is a colour DICOM ({photometric or 'no photometric interpretation'}); "
            "chest radiographs must be MONOCHROME1 or MONOCHROME2",
        )
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames != 1:
        raise ImageRejected(path, f"is a multi-frame DICOM ({frames} frames); one frame is expected")
    if int(ds.BitsAllocated) not in (8, 16):
        raise ImageRejected(path, f"has {int(ds.BitsAllocated)}-bit pixels; 8 or 16 bits are supported")
    if str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES":
        raise ImageRejected(
            path, "declares burned-in annotation: identifying text in the pixels cannot be removed"
        )
    rows, cols = int(ds.Rows), int(ds.Columns)
    if rows < 1 or cols < 1:
        raise ImageRejected(path, f"declares an empty image ({cols} x {rows})")
    check_pixel_limit(path=path, width=cols, height=rows, max_pixels=max_pixels)
    bytes_per_pixel = int(ds.BitsAllocated) // 8
    check_decode_bytes(
        path=path,
        width=cols,
        height=rows,
        bytes_per_pixel=bytes_per_pixel,
        what=f"{8 * bytes_per_pixel}-bit",
        limit=max_decode_bytes,
    )
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        dims = codestream_dims(ds.PixelData)
        if dims is not None:
            check_pixel_limit(path=path, width=dims[0], height=dims[1], max_pixels=max_pixels)
            if dims != (cols, rows):
                raise ImageRejected(
                    path, f"has a codestream of {dims[0]} x {dims[1]} in a {cols} x {rows} image"
                )


def check_pixel_limit(*, path: Path, width: int, height: int, max_pixels: int) -> None:
    """Raise :class:`ImageRejected` when ``width * height`` exceeds ``max_pixels``."""
    if width * height > max_pixels:
        raise ImageRejected(
            path,
            f"is {width} x {height} = {width * height} pixels, over the limit of {max_pixels} "
            "(a decompression bomb or an unusually large image)",
        )


def decode_budget(max_pixels: int) -> int:
    """The default limit on the bytes a decoded image may take: a 16-bit grayscale image at the
    pixel limit (the largest radiograph accepted), i.e. 2 bytes x ``max_pixels``. A colour
    raster, held by Pillow at 4 bytes a pixel, may then have half the pixel limit."""
    return 2 * max_pixels


def check_decode_bytes(
    *, path: Path, width: int, height: int, bytes_per_pixel: int, what: str, limit: int
) -> None:
    """Raise :class:`ImageRejected` when decoding ``width x height`` pixels of ``bytes_per_pixel``
    bytes would take more than ``limit`` bytes (checked before decoding: the decoder allocates
    the whole frame at once)."""
    needed = width * height * bytes_per_pixel
    if needed > limit:
        raise ImageRejected(
            path,
            f"would need {needed / 1e6:.0f} MB to decode ({width} x {height} {what}, {bytes_per_pixel} "
            f"bytes a pixel), over the limit of {limit / 1e6:.0f} MB",
        )


def codestream_dims(pixel_data: bytes) -> tuple[int, int] | None:
    """(width, height) declared by the first JPEG / JPEG-LS / JPEG 2000 codestream, or None.

    Reads only marker headers. None means no dimensions were found (RLE, or an unknown stream):
    the header's Rows x Columns then bounds the decoder's output.
    """
    try:
        fragments = generate_fragments(pixel_data)
        next(fragments)  # the Basic Offset Table item
        head = bytes(next(fragments)[:65536])
    except (StopIteration, ValueError, struct.error):
        return None
    if head[:4] == b"\xff\x4f\xff\x51" and len(head) >= 24:  # J2K SOC + SIZ: Xsiz, Ysiz
        xsiz, ysiz, xo, yo = struct.unpack(">IIII", head[8:24])
        return xsiz - xo, ysiz - yo
    if head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n":  # a JP2 file wrapping a codestream
        start = head.find(b"\xff\x4f\xff\x51")
        if start >= 0 and len(head) >= start + 24:
            xsiz, ysiz, xo, yo = struct.unpack(">IIII", head[start + 8 : start + 24])
            return xsiz - xo, ysiz - yo
        return None
    if head[:2] == b"\xff\xd8":
        return _jpeg_sof_dims(head)
    return None


# Start-of-frame markers of JPEG (baseline, extended, lossless, progressive...) and JPEG-LS (F7).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}


def _jpeg_sof_dims(head: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        (length,) = struct.unpack(">H", head[pos + 2 : pos + 4])
        if marker in _SOF_MARKERS and pos + 9 <= len(head):
            height, width = struct.unpack(">HH", head[pos + 5 : pos + 9])
            return width, height
        if marker == 0xDA:  # start of scan without a frame header: give up
            return None
        pos += 2 + length
    return None


def normalise_view(value: object) -> str | None:
    """ViewPosition as PA / AP / LATERAL / another upper-case code, or None when absent."""
    text = str(value or "").strip().upper()
    if not text:
        return None
    return "LATERAL" if text in _LATERAL_VIEWS else text


def content_warnings(ds: Dataset) -> list[str]:
    """Warnings about an image that is imported anyway (not chest, not a radiograph)."""
    found = []
    body_part = str(ds.get("BodyPartExamined", "") or "").strip().upper()
    if not body_part:
        found.append("body part is not recorded: could not confirm a chest image")
    elif body_part not in CHEST_BODY_PARTS:
        found.append(f"body part '{body_part}' is not chest: imported with a warning")
    modality = str(ds.get("Modality", "") or "").strip().upper()
    if modality not in RADIOGRAPH_MODALITIES:
        found.append(f"modality '{modality or 'none'}' is not a radiograph (CR/DX): imported with a warning")
    return found
