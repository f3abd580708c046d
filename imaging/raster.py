"""Read, validate and re-encode PNG and JPEG radiographs.

Contract: :func:`read_raster` takes the file's bytes and returns an 8-bit grayscale array, the
source format and warnings, or raises :class:`ImageRejected`. :func:`encode_payload_png` writes
that array as a PNG carrying only IHDR, IDAT and IEND: no text, EXIF, ICC or time chunks, so no
metadata of the source survives. The pixel limit is checked from the header, before decoding
(PNG's IHDR is read by hand; Pillow's ``Image.open`` reads JPEG's frame header lazily). Pillow's
own process-wide ``MAX_IMAGE_PIXELS`` is left alone: this module never relies on it, and changing
a global from a pure function would surprise the rest of the process.

Memory: the bytes the decoded frame takes (Pillow holds 1 byte a pixel for gray and palette
images, 4 for colour, alpha and 32-bit modes) are checked against ``max_decode_bytes`` before
decoding. After decoding, a colour image is checked for colour strip by strip and converted to
gray once, so the peak is the decoded frame plus the 1-byte gray copy and a strip; no
full-size 16-bit or RGB copy is made.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageOps

from imaging.dicom import check_decode_bytes, check_pixel_limit, decode_budget
from imaging.errors import ImageRejected, rejecting

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIXTEEN_BIT_PNG = "16-bit PNG is not supported; export as 8-bit or DICOM"
# JPEG chroma noise leaves a few levels between channels of a gray image saved as colour.
_GRAY_TOLERANCE = 8
_ONE_BYTE_MODES = frozenset({"1", "L", "P"})
_STRIP_PIXELS = 1 << 21  # the colour check converts about this many pixels at a time (8 MB as RGB)
_EXIF_ORIENTATION = 0x0112


def sniff_raster(data: bytes) -> str | None:
    """ "png" or "jpeg" from the file signature, else None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def read_raster(
    data: bytes, *, path: Path, max_pixels: int, max_decode_bytes: int | None = None
) -> tuple[np.ndarray, str, list[str]]:
    """Decode a PNG or JPEG to a 2-D uint8 array: ``(pixels, "png" | "jpeg", warnings)``.

    ``max_decode_bytes`` bounds the decoded frame (default :func:`imaging.dicom.decode_budget`)."""
    fmt = sniff_raster(data)
    if fmt is None:
        raise ImageRejected(path, "is not a DICOM, PNG or JPEG file")
    if fmt == "png":
        _check_png_header(data, path=path, max_pixels=max_pixels)
    with rejecting(path, f"is not a readable {fmt.upper()}"):
        try:
            image = Image.open(io.BytesIO(data), formats=[fmt.upper()])
        except Image.DecompressionBombError:  # Pillow's own ceiling, above any sane limit
            raise ImageRejected(path, "declares more pixels than any supported limit") from None
        width, height = image.size
    check_pixel_limit(path=path, width=width, height=height, max_pixels=max_pixels)
    if getattr(image, "n_frames", 1) != 1:
        raise ImageRejected(path, f"is an animated or multi-frame {fmt.upper()}; one frame is expected")
    if image.mode.startswith("I;16") or image.mode == "I":
        raise ImageRejected(path, SIXTEEN_BIT_PNG if fmt == "png" else "has 16-bit samples")
    bytes_per_pixel = 1 if image.mode in _ONE_BYTE_MODES else 4
    check_decode_bytes(
        path=path,
        width=width,
        height=height,
        bytes_per_pixel=bytes_per_pixel,
        what=f"{fmt.upper()} in mode {image.mode}",
        limit=max_decode_bytes or decode_budget(max_pixels),
    )
    with rejecting(path, f"has {fmt.upper()} data that cannot be decoded"):
        image.load()
        if image.getexif().get(_EXIF_ORIENTATION, 1) != 1:  # EXIF is dropped below: apply it first
            ImageOps.exif_transpose(image, in_place=True)
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
    if image.mode not in ("L", "1") and _has_colour(image):
        found.append(f"colour image ({image.mode}) converted to grayscale")
    pixels = np.asarray(image if image.mode == "L" else image.convert("L"), dtype=np.uint8)
    if pixels.ndim != 2 or pixels.size == 0:
        raise ValueError("not a 2-D image")
    return pixels, found


def _has_colour(image: Image.Image) -> bool:
    """Whether any pixel's channels differ by more than the JPEG noise: max - min of R, G, B is
    the largest pairwise difference. Strip by strip (a few MB at a time, never a full-size copy),
    with Pillow's own per-channel operations (numpy over the channel axis is ten times slower)."""
    width, height = image.size
    rows = max(1, _STRIP_PIXELS // max(1, width))
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(height, top + rows)))
        red, green, blue = (strip if strip.mode == "RGB" else strip.convert("RGB")).split()
        for one, other in ((red, green), (green, blue), (red, blue)):
            if ImageChops.difference(one, other).getextrema()[1] > _GRAY_TOLERANCE:
                return True
    return False


def encode_payload_png(pixels: np.ndarray, *, compress_level: int = 6) -> bytes:
    """A metadata-free 8-bit grayscale PNG of ``pixels`` (IHDR, IDAT, IEND only)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), mode="L").save(
        buffer, format="PNG", compress_level=compress_level
    )
    return buffer.getvalue()
