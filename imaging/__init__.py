"""The imaging layer: validate, de-identify, store and render chest radiographs. No database here.

Contract: pure functions over files and bytes. :func:`prepare_image` turns a DICOM, PNG or JPEG
into a de-identified :class:`PreparedImage` (or raises :class:`ImageRejected`);
:func:`store_payload` writes it content-addressed; :func:`render_for_display` turns a stored
payload into 8-bit display pixels, and :class:`RenderCache` memoises that. See docs/IMAGING.md.
"""

from imaging.errors import ImageRejected
from imaging.prepare import PreparedImage, pixel_sha256, prepare_image
from imaging.render import (
    RenderCache,
    RenderedImage,
    encode_jpeg,
    encode_png,
    encode_webp,
    render_for_display,
)
from imaging.storage import load_payload, payload_path, remove_payload, store_payload
from imaging.windows import PRESET_NAMES

__all__ = [
    "PRESET_NAMES",
    "ImageRejected",
    "PreparedImage",
    "RenderCache",
    "RenderedImage",
    "encode_jpeg",
    "encode_png",
    "encode_webp",
    "load_payload",
    "payload_path",
    "pixel_sha256",
    "prepare_image",
    "remove_payload",
    "render_for_display",
    "store_payload",
]
