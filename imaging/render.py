"""Display rendering of stored images: window presets, MONOCHROME1 inversion, downscaling, caching.

Contract: :func:`render_for_display` turns a stored payload (de-identified DICOM, or PNG/JPEG) into
an 8-bit grayscale :class:`RenderedImage` for the viewer; it validates nothing beyond decoding (the
payload passed :func:`~imaging.prepare_image` already). :class:`RenderCache` memoises
renders by (pixel sha256, preset, center, width, max_side, exact_size); ``encode_*`` turn a render
into bytes.

Speed, the why of this module's shape: a naive float64 window over a 1955 x 1841 frame costs about
ten times its decode. Here the modality LUT, window or VOI LUT and inversion are folded into one
uint8 table over the stored value domain (:func:`~imaging.windows.display_lut`, built
with pydicom's own functions and cached), applied by a chunked ``np.take`` on the raw stored bit
pattern, on several threads for large images. Uncompressed little-endian pixel data is never
copied after the file is read: pydicom defers it and it is viewed in place, the table masking the
bits above BitsStored as ``pixel_array`` would. Downscaling averages the stored values BEFORE the
lookup (integer box reduction, :mod:`~imaging.resample`), so a reduced render looks up
only the reduced frame; an exact fit to ``max_side`` is a resize of the small 8-bit result.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset

from imaging.dicom import is_dicom
from imaging.pool import in_parts, parts_for
from imaging.resample import box_reduce, fit, plan_scale, stored_domain
from imaging.windows import RASTER_PARAMS, DisplayParams, display_lut, resolve_window


@dataclass(frozen=True)
class RenderedImage:
    """8-bit display pixels (read-only, rows x columns) and how they were made."""

    pixels: np.ndarray
    preset: str  # the preset used: "file", "full", "lung", "mediastinum", "bone" or "custom"
    center: float | None  # the window used, in modality units; None when a VOI LUT was applied
    width: float | None
    inverted: bool  # MONOCHROME1 shown inverted (air dark)
    source_width: int
    source_height: int

    def to_pil(self) -> Image.Image:
        return Image.fromarray(self.pixels, mode="L")


def render_for_display(
    data: bytes | Path,
    *,
    preset: str = "default",
    max_side: int = 2048,
    center: float | None = None,
    width: float | None = None,
    exact_size: bool = True,
) -> RenderedImage:
    """Render a stored DICOM / PNG / JPEG (bytes or a path) for display.

    ``preset`` is "default" (the file's VOI LUT or window, else "full"), "file", "full", "lung",
    "mediastinum" or "bone"; ``center`` and ``width`` together override it. A larger image is
    scaled down so that its longer side is ``max_side``; with ``exact_size=False`` it may stay up
    to 10% under ``max_side`` where that saves a resampling pass (see
    :mod:`~imaging.resample`). Raises ``ValueError`` for an unknown preset.
    """
    raw, params = decode_raw(data)
    used, window = resolve_window(raw, params, preset=preset, center=center, width=width)
    rows, cols = raw.shape
    plan = plan_scale(rows, cols, max_side=max_side, exact=exact_size)
    if plan.factor > 1:  # average the stored values first: the lookup then runs on 1/factor**2
        values, table = stored_domain(raw, params, window)
        threads = parts_for(raw.size)
        pixels = box_reduce(values, plan.factor, bits=params.bits_stored, lut=table, threads=threads)
    else:
        pixels = apply_lut(display_lut(params, window), raw)
    pixels = fit(pixels, plan, source_height=rows, source_width=cols)
    pixels.setflags(write=False)
    return RenderedImage(
        pixels=pixels,
        preset=used,
        center=None if window is None else window[0],
        width=None if window is None else window[1],
        inverted=params.inverted,
        source_width=int(cols),
        source_height=int(rows),
    )


def decode_raw(data: bytes | Path) -> tuple[np.ndarray, DisplayParams]:
    """Stored pixels as their raw unsigned bit pattern (uint8 or uint16) and display parameters.

    For uncompressed little-endian DICOM the result is a read-only view into the file's bytes:
    the pixel data is read once and neither copied again nor decoded. (A memory map of the file
    was measured slower: a page fault per 4 KiB, and unmapping costs on every call.)
    """
    if isinstance(data, Path):
        data = data.read_bytes()
    source = io.BytesIO(data)
    if is_dicom(data):
        # Pixel data is left in ``data`` (deferred) until we know whether it needs decoding, and
        # only the attributes display needs are converted (the header parse was ~35% cheaper).
        ds = pydicom.dcmread(source, defer_size=_DEFER_BYTES, specific_tags=_DISPLAY_TAGS)
        params = DisplayParams.from_dataset(ds)
        raw = _native_pixels(ds, data)
        if raw is None:  # compressed or unusual: pydicom decodes, and its decoders read more tags
            source.seek(0)
            pixels = pydicom.dcmread(source, defer_size=_DEFER_BYTES).pixel_array
            raw = pixels.view(f"u{pixels.dtype.itemsize}")
        return raw, params
    with Image.open(source, formats=["PNG", "JPEG"]) as image:
        return np.asarray(image.convert("L"), dtype=np.uint8), RASTER_PARAMS


_DEFER_BYTES = 1 << 16
# What DisplayParams.from_dataset and _native_pixels read.
_DISPLAY_TAGS = (
    "PhotometricInterpretation",
    "SamplesPerPixel",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "RescaleSlope",
    "RescaleIntercept",
    "RescaleType",
    "ModalityLUTSequence",
    "VOILUTSequence",
    "VOILUTFunction",
    "WindowCenter",
    "WindowWidth",
    "PixelData",
)


def _native_pixels(ds: Dataset, data: bytes) -> np.ndarray | None:
    """A zero-copy view of uncompressed little-endian pixel data, or None to let pydicom decode.

    The display table masks the bits above BitsStored, so the raw stored words are enough.
    """
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax.is_compressed or not syntax.is_little_endian or int(ds.get("SamplesPerPixel", 1)) != 1:
        return None
    nbytes = int(ds.BitsAllocated) // 8
    if nbytes not in (1, 2):
        return None
    rows, cols = int(ds.Rows), int(ds.Columns)
    element = ds.get_item("PixelData", keep_deferred=True)
    if element is None or element.length < rows * cols * nbytes:
        return None
    dtype = np.dtype(f"<u{nbytes}")
    if element.value is not None:  # small enough to have been read
        return np.frombuffer(element.value, dtype=dtype, count=rows * cols).reshape(rows, cols)
    offset = element.value_tell
    return np.frombuffer(data, dtype=dtype, count=rows * cols, offset=offset).reshape(rows, cols)


# Pixels per np.take call in apply_lut: its int64 index copy (1 MiB) stays in cache.
_LUT_CHUNK = 1 << 17


def apply_lut(table: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """``table[raw]`` as a new uint8 array of ``raw``'s shape.

    The lookup is the one per-pixel step of a full-size render and costs more than pydicom's own
    decode of native pixel data, so: np.take first converts a uint16 index array to int64 in full
    (29 MB for RG1, more memory traffic than the lookup itself), hence chunks converted into a
    small reused buffer (measured ~25% less CPU on RG1); and large images are split across up to
    four threads (:mod:`~imaging.pool`).
    """
    flat = raw.reshape(-1)
    out = np.empty(flat.size, dtype=np.uint8)
    in_parts(
        lambda start, stop: _take_range(table, flat, out, start, stop), flat.size, parts=parts_for(flat.size)
    )
    return out.reshape(raw.shape)


def _take_range(table: np.ndarray, flat: np.ndarray, out: np.ndarray, start: int, stop: int) -> None:
    index = np.empty(min(_LUT_CHUNK, max(stop - start, 1)), dtype=np.intp)
    for begin in range(start, stop, _LUT_CHUNK):
        end = min(begin + _LUT_CHUNK, stop)
        chunk = index[: end - begin]
        chunk[...] = flat[begin:end]
        # "wrap": every stored word indexes the table (2**BitsAllocated entries), so no index is
        # ever wrapped; it measured fastest (0.56 ns a pixel against 0.62 for the default "raise",
        # which also writes through a temporary copy of ``out``, and 0.64 for "clip").
        np.take(table, chunk, out=out[begin:end], mode="wrap")


def _as_image(img: RenderedImage | np.ndarray | Image.Image) -> Image.Image:
    if isinstance(img, RenderedImage):
        return img.to_pil()
    if isinstance(img, np.ndarray):
        return Image.fromarray(img, mode="L")
    return img


def encode_png(img: RenderedImage | np.ndarray | Image.Image, *, fast: bool = True) -> bytes:
    """PNG bytes; ``fast`` uses zlib level 1 (about 6x faster than the default, ~20% larger)."""
    buffer = io.BytesIO()
    _as_image(img).save(buffer, format="PNG", compress_level=1 if fast else 6)
    return buffer.getvalue()


def encode_webp(img: RenderedImage | np.ndarray | Image.Image, *, quality: int = 90) -> bytes:
    """Lossy WebP bytes at ``quality`` with a fast encoder setting (method 2)."""
    buffer = io.BytesIO()
    _as_image(img).save(buffer, format="WEBP", quality=quality, method=2)
    return buffer.getvalue()


def encode_jpeg(img: RenderedImage | np.ndarray | Image.Image, *, quality: int = 92) -> bytes:
    """Baseline JPEG bytes at ``quality`` (no metadata)."""
    buffer = io.BytesIO()
    _as_image(img).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


class RenderCache:
    """A thread-safe LRU of renders keyed by (sha256, preset, center, width, max_side, exact_size).

    A hit returns the same read-only :class:`RenderedImage` and does not touch ``data``: pass a
    path or a zero-argument callable returning bytes or a path, and nothing is read on a hit.
    """

    def __init__(self, max_items: int = 32) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[tuple, RenderedImage] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def render(
        self,
        *,
        sha256: str,
        data: bytes | Path | Callable[[], bytes | Path],
        preset: str = "default",
        max_side: int = 2048,
        center: float | None = None,
        width: float | None = None,
        exact_size: bool = True,
    ) -> RenderedImage:
        """The cached render for this key, rendering ``data`` on a miss."""
        key = (sha256, preset, center, width, max_side, exact_size)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
        source = data() if callable(data) else data
        rendered = render_for_display(
            source, preset=preset, max_side=max_side, center=center, width=width, exact_size=exact_size
        )
        with self._lock:
            self._items[key] = rendered
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return rendered

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
