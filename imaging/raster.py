"""Read, validate and re-encode PNG and JPEG radiographs.

Contract: :func:`read_raster` takes the file's bytes and returns an 8-bit grayscale array, the
source format and warnings, or raises :class:`ImageRejected`. :func:`encode_payload_png` writes
that array as a PNG carrying only IHDR, IDAT and IEND: no text, EXIF, ICC or time chunks, so no
metadata of the source survives. The pixel limit is checked from the header, before decoding
(PNG's IHDR is read by hand; Pillow's ``Image.open`` reads JPEG's frame header lazily). Pillow's
own process-wide ``MAX_IMAGE_PIXELS`` is left alone: this module never relies on it, and changing
a global from a pure function would surprise the rest of the process.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from imaging.dicom import check_pixel_limit
from imaging.errors import ImageRejected, rejecting

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIXTEEN_BIT_PNG = "16-bit PNG is not supported; export as 8-bit or DICOM"
# JPEG chroma noise leaves a few levels between channels of a gray image saved as colour.
_GRAY_TOLERANCE = 8


def sniff_raster(data: bytes) -> str | None:
    """ "png" or "jpeg" from the file signature, else None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def read_raster(data: bytes, *, path: Path, max_pixels: int) -> tuple[np.ndarray, str, list[str]]:
    """Decode a PNG or JPEG to a 2-D uint8 array: ``(pixels, "png" | "jpeg", warnings)``."""
    fmt = sniff_raster(data)
    if fmt is None:
        raise ImageRejected(path, "is not a DICOM, PNG or JPEG file")
    if fmt == "png":
        _check_png_header(data, path=path, max_pixels=max_pixels)
    try:
        with rejecting(path, f"is not a readable {fmt.upper()}"):
            image = Image.open(io.BytesIO(data), formats=[fmt.upper()])
            width, height = image.size
    except ImageRejected as error:
        if "DecompressionBombError" in error.reason:  # Pillow's own ceiling, above any sane limit
            raise ImageRejected(path, "declares more pixels than any supported limit") from None
        raise
    check_pixel_limit(path=path, width=width, height=height, max_pixels=max_pixels)
    if getattr(image, "n_frames", 1) != 1:
        raise ImageRejected(path, f"is an animated or multi-frame {fmt.upper()}; one frame is expected")
    if image.mode.startswith("I;16") or image.mode == "I":
        raise ImageRejected(path, SIXTEEN_BIT_PNG if fmt == "png" else "has 16-bit samples")
    with rejecting(path, f"has {fmt.upper()} data that cannot be decoded"):
        image = ImageOps.exif_transpose(image)  # EXIF orientation is dropped below: apply it
        pixels, found = _to_gray(image)
    return pixels, fmt, found


def _check_png_header(data: bytes, *, path: Path, max_pixels: int) -> None:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageRejected(path, "is a truncated PNG (no IHDR header)")
    width, height, bit_depth = struct.unpack(">IIB", data[16:25])
    if bit_depth == 16:
        raise ImageRejected(path, SIXTEEN_BIT_PNG)
    check_pixel_limit(path=path, width=width, height=height, max_pixels=max_pixels)


def _to_gray(image: Image.Image) -> tuple[np.ndarray, list[str]]:
    """8-bit grayscale pixels, warning when a colour image really had colour."""
    found: list[str] = []
    if image.mode not in ("L", "1"):
        rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
        if int(np.max(np.ptp(rgb, axis=2), initial=0)) > _GRAY_TOLERANCE:
            found.append(f"colour image ({image.mode}) converted to grayscale")
    pixels = np.asarray(image.convert("L"), dtype=np.uint8)
    if pixels.ndim != 2 or pixels.size == 0:
        raise ValueError("not a 2-D image")
    return pixels, found


def encode_payload_png(pixels: np.ndarray, *, compress_level: int = 6) -> bytes:
    """A metadata-free 8-bit grayscale PNG of ``pixels`` (IHDR, IDAT, IEND only)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), mode="L").save(
        buffer, format="PNG", compress_level=compress_level
    )
    return buffer.getvalue()
