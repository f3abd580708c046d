"""Images for exports: windowed PNG without metadata, or DICOM de-identified again for the export.

Contract: pure functions from a stored payload (already de-identified at import) to the bytes of
an exported file. Both paths use the imaging layer (:mod:`imaging`), not code of their
own:

- PNG: :func:`~imaging.render_for_display` (the file's VOI LUT or window, MONOCHROME1
  inverted, longer side at most ``max_side``), encoded by the imaging layer's metadata-free PNG
  writer; the result is checked to hold nothing but IHDR, IDAT and IEND chunks.
- DICOM: the stored file goes through :func:`~imaging.deid.deidentify` once more with
  the EXPORT key, so UIDs and PatientName/PatientID become the export's pseudonyms (unlinkable to
  the database and to exports made with other keys); it keeps PatientIdentityRemoved = YES and
  the method codes 113100 (basic profile) and 113107 (modified dates). Dates are not shifted
  again (the stored dates are shifted already). A study imported from PNG/JPEG has no DICOM: it is
  exported as PNG even in DICOM mode (the dataset card says how many).
"""

from __future__ import annotations

import io
import struct

import pydicom

from imaging import render_for_display
from imaging.deid import deidentify
from imaging.dicom import is_dicom
from imaging.raster import PNG_SIGNATURE, encode_payload_png

ALLOWED_PNG_CHUNKS = frozenset({b"IHDR", b"IDAT", b"IEND"})


def png_chunk_types(data: bytes) -> list[bytes]:
    """The chunk types of a PNG file, in order. Raises ValueError for a file that is not PNG."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    types, offset = [], len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        types.append(kind)
        offset += 12 + length
    return types


def export_png(
    payload: bytes, *, max_side: int = 2048, preset: str = "default", compress_level: int = 1
) -> bytes:
    """A windowed 8-bit grayscale PNG of a stored payload, with no metadata chunk at all."""
    rendered = render_for_display(payload, preset=preset, max_side=max_side)
    data = encode_payload_png(rendered.pixels, compress_level=compress_level)
    extra = set(png_chunk_types(data)) - ALLOWED_PNG_CHUNKS
    if extra:  # a Pillow upgrade that starts writing chunks must not leak into exports
        raise RuntimeError(f"PNG writer produced unexpected chunks {sorted(extra)}")
    return data


def export_dicom(payload: bytes, *, key: bytes, patient_pseudonym: str, seed: str) -> bytes:
    """The stored DICOM de-identified again under the export ``key`` (see the module docstring)."""
    if not is_dicom(payload):
        raise ValueError("the stored payload is not DICOM")
    ds = pydicom.dcmread(io.BytesIO(payload))
    clean = deidentify(ds, key=key, patient_pseudonym=patient_pseudonym, date_offset=0, seed=seed)
    buffer = io.BytesIO()
    clean.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
