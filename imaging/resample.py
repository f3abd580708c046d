"""Downscaling for display, done on the stored values BEFORE the display lookup.

Contract: pure functions over arrays; no I/O. :func:`plan_scale` decides how a frame is brought
to at most ``max_side``: an integer box reduction (``factor``, the largest that keeps the longer
side >= ``max_side``), then an exact resize of the 8-bit result to ``max_side`` (:func:`fit`).
With ``exact=False`` the next larger integer reduction is the result, with no resize, when it
keeps at least :data:`SNAP_FRACTION` of ``max_side``. :func:`stored_domain` turns raw bit
patterns into unsigned values that can be averaged, with the display table re-indexed to match;
:func:`box_reduce` averages ``factor`` x ``factor`` blocks and can look the means up.

Why this order: the display lookup is the one per-pixel step of a render and costs more than
pydicom's own decode of native pixel data. Averaging the stored values first (row strips that stay
in cache, contiguous vector operations) and looking up only the reduced frame, in the same strips,
costs about two thirds of a full-size lookup at 2x on RG1 and less at larger factors; it is also
what viewers do: window the downsampled data. The result differs from "window at full size, then
average" only where a block straddles a window edge. Why ``exact=False`` exists: when the frame is
less than twice ``max_side`` no integer reduction applies, and the fractional resample of the full
frame (Pillow's box filter, scalar code) costs more than decode and lookup together, while a
preview 5-10% under ``max_side`` is scaled by the browser anyway. RG1 (1955 rows) at 1024: exact
is a full-size lookup and a resample (~11 ms CPU); not exact, the 2x reduction (978 rows) and a
quarter-size lookup (~5 ms).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from imaging.pool import in_parts
from imaging.windows import DisplayParams, Window, display_lut

# exact=False: an integer reduction is the final size when it keeps at least this much of max_side.
SNAP_FRACTION = 0.9
# Input bytes per strip of box_reduce: a strip and its temporaries stay in a core's L2 cache
# (measured best at ~32 output rows of RG1; 8 rows pay Python overhead, 128 spill).
_STRIP_BYTES = 1 << 18


@dataclass(frozen=True)
class ScalePlan:
    """How to bring a frame to display size: reduce by ``factor``, then fit to ``rows`` x ``cols``."""

    factor: int
    rows: int
    cols: int


def plan_scale(height: int, width: int, *, max_side: int, exact: bool = True) -> ScalePlan:
    """The reduction factor and final size for a ``height`` x ``width`` frame and ``max_side``.

    A frame larger than ``max_side`` ends with its longer side exactly ``max_side``, or with
    ``exact=False`` possibly at the size of an integer reduction between SNAP_FRACTION x
    ``max_side`` and ``max_side``.
    """
    if max_side < 1:
        raise ValueError("max_side must be at least 1")
    longest = max(height, width)
    if longest <= max_side:
        return ScalePlan(1, height, width)
    snap = math.ceil(longest / max_side)
    if not exact and longest / snap >= SNAP_FRACTION * max_side:
        return ScalePlan(snap, -(-height // snap), -(-width // snap))
    scale = max_side / longest
    return ScalePlan(longest // max_side, max(1, round(height * scale)), max(1, round(width * scale)))


def stored_domain(
    raw: np.ndarray, params: DisplayParams, window: Window | None
) -> tuple[np.ndarray, np.ndarray]:
    """Values that can be averaged, and the uint8 display table indexed by them.

    ``raw`` is the raw stored bit pattern (uint8 / uint16). Unsigned: the stored value itself (bits
    above BitsStored cleared, only when some are set: a max over the frame is cheaper than the
    masked copy, and clearing them strip by strip in box_reduce measured slower still). Signed:
    offset binary (value + 2**(BitsStored-1)), which is linear in the value.
    """
    bits = params.bits_stored
    table = value_lut(params, window)
    if params.signed:
        return (raw & raw.dtype.type((1 << bits) - 1)) ^ raw.dtype.type(1 << (bits - 1)), table
    if bits < 8 * raw.dtype.itemsize and raw.size and int(raw.max()) >> bits:
        raw = raw & raw.dtype.type((1 << bits) - 1)
    return raw, table


@functools.lru_cache(maxsize=64)
def value_lut(params: DisplayParams, window: Window | None) -> np.ndarray:
    """:func:`display_lut` re-indexed by the values of :func:`stored_domain` (2**BitsStored entries)."""
    table = display_lut(params, window)
    values = np.arange(1 << params.bits_stored)
    if params.signed:  # offset binary back to the raw two's complement pattern (table masks)
        values = values ^ (1 << (params.bits_stored - 1))
    out = table[values]
    out.setflags(write=False)
    return out


def box_reduce(
    values: np.ndarray,
    factor: int,
    *,
    bits: int | None = None,
    lut: np.ndarray | None = None,
    threads: int = 1,
) -> np.ndarray:
    """Rounded means of ``factor`` x ``factor`` blocks of a 2-D unsigned array, same dtype.

    ``bits``: the values are below 2**bits (default: the dtype's width); fewer bits let the
    2x reduction sum pairs in a narrower type. ``lut``: a uint8 table indexed by the values; the
    result is then ``lut[means]`` (uint8), looked up strip by strip while the means are in cache
    (~30% less time, measured in isolation, than reducing and then looking up). The result has
    ceil(rows / factor) x ceil(cols / factor) pixels; the partial blocks along the bottom and right
    edges are the means of the pixels they have (as Pillow's ``reduce``). ``threads``: bands of
    rows reduced at once (:mod:`~imaging.pool`).
    """
    if factor < 1:
        raise ValueError("factor must be at least 1")
    if factor == 1:
        return values if lut is None else lut.take(values, mode="wrap")
    height, width = values.shape
    k = factor
    full_rows, full_cols = height // k, width // k
    out = np.empty((-(-height // k), -(-width // k)), dtype=values.dtype if lut is None else np.uint8)
    if full_rows and full_cols:
        full, target = values[: full_rows * k, : full_cols * k], out[:full_rows, :full_cols]
        narrow = np.uint16 if (bits or 8 * values.itemsize) <= 15 else np.uint32

        def band(top: int, bottom: int) -> None:
            rows, dest = full[top * k : bottom * k], target[top:bottom]
            if k == 2:
                _pair_blocks(rows, dest, narrow=narrow, lut=lut)
            else:
                _full_blocks(rows, k, dest, lut=lut)

        in_parts(band, full_rows, parts=threads)
    if full_rows * k < height or full_cols * k < width:
        _edge_blocks(values, k, out, lut=lut)
    return out


def _store(
    means: np.ndarray, dest: np.ndarray, lut: np.ndarray | None, scratch: np.ndarray | None = None
) -> None:
    """``dest[...] = means``, or ``lut[means]``, through the contiguous uint8 ``scratch`` (of at
    least ``means``' shape) when ``dest`` is not contiguous: np.take copies ``out`` otherwise.
    Mode "wrap": the means index the table by construction, and it is the fastest mode (see
    render.apply_lut)."""
    if lut is None:
        np.copyto(dest, means, casting="unsafe")
    elif dest.flags.c_contiguous:
        np.take(lut, means, out=dest, mode="wrap")
    elif scratch is not None:
        gray = scratch[: means.shape[0]]
        np.take(lut, means, out=gray, mode="wrap")
        dest[...] = gray
    else:
        dest[...] = np.take(lut, means, mode="wrap")


def _strip_rows(values: np.ndarray, k: int) -> int:
    """Output rows per strip so that a strip's input stays within _STRIP_BYTES."""
    return max(1, _STRIP_BYTES // max(1, values.shape[1] * values.itemsize * k))


def _pair_blocks(values: np.ndarray, out: np.ndarray, *, narrow: type, lut: np.ndarray | None) -> None:
    """2x2 block means (even dimensions), strip by strip, with contiguous vector operations only.

    Row pairs are added in ``narrow`` (uint16 when the values have at most 15 bits); the column
    pairs of that sum are then the two halves of each double-width word, so no strided access.
    """
    rows, cols = out.shape
    wide = np.uint32 if narrow is np.uint16 else np.uint64
    strip = min(_strip_rows(values, 2), rows)
    pair_rows = np.empty((strip, 2 * cols), dtype=narrow)
    sums, low = np.empty((strip, cols), dtype=wide), np.empty((strip, cols), dtype=wide)
    scratch = np.empty((strip, cols), dtype=np.uint8)
    shift, mask, two = wide(8 * np.dtype(narrow).itemsize), wide(np.iinfo(narrow).max), wide(2)
    for top in range(0, rows, strip):
        n = min(strip, rows - top)
        band, pairs, total, odd = values[2 * top : 2 * (top + n)], pair_rows[:n], sums[:n], low[:n]
        np.add(band[0::2], band[1::2], out=pairs, dtype=narrow)  # uint8 input: no uint8 sum
        words = pairs.view(wide)  # little-endian: low half = even column
        np.right_shift(words, shift, out=total)
        np.bitwise_and(words, mask, out=odd)
        total += odd
        total += two
        total >>= two
        _store(total, out[top : top + n], lut, scratch)


def _full_blocks(values: np.ndarray, k: int, out: np.ndarray, *, lut: np.ndarray | None) -> None:
    """Block means of ``values`` (dimensions divisible by k) into ``out``, strip by strip.

    Rows are summed first (whole contiguous rows: vectorised), then every k-th column.
    """
    rows, cols = out.shape
    wide = np.uint32 if k * k * int(np.iinfo(values.dtype).max) < 2**32 else np.uint64
    strip = min(_strip_rows(values, k), rows)
    row_sums = np.empty((strip, values.shape[1]), dtype=wide)
    block_sums = np.empty((strip, cols), dtype=wide)
    scratch = np.empty((strip, cols), dtype=np.uint8)
    half = wide(k * k // 2)
    for top in range(0, rows, strip):
        n = min(strip, rows - top)
        band, acc, blocks = values[top * k : (top + n) * k], row_sums[:n], block_sums[:n]
        np.add(band[0::k], band[1::k], out=acc, dtype=wide)
        for i in range(2, k):
            acc += band[i::k]
        np.add(acc[:, 0::k], acc[:, 1::k], out=blocks)
        for j in range(2, k):
            blocks += acc[:, j::k]
        blocks += half
        np.floor_divide(blocks, wide(k * k), out=blocks)
        _store(blocks, out[top : top + n], lut, scratch)


def _edge_blocks(values: np.ndarray, k: int, out: np.ndarray, *, lut: np.ndarray | None) -> None:
    """The partial blocks along the bottom and right edges (thin strips: plain numpy)."""
    height, width = values.shape
    full_rows, full_cols = height // k, width // k
    extra_rows, extra_cols = height - full_rows * k, width - full_cols * k
    if extra_cols and full_rows:  # right edge: k x extra_cols blocks
        block = values[: full_rows * k, full_cols * k :].astype(np.uint64)
        sums = block.reshape(full_rows, -1).sum(axis=1)
        _store(_rounded_mean(sums, k * extra_cols), out[:full_rows, full_cols], lut)
    if extra_rows and full_cols:  # bottom edge: extra_rows x k blocks
        block = values[full_rows * k :, : full_cols * k].astype(np.uint64)
        sums = block.reshape(extra_rows, full_cols, k).sum(axis=(0, 2))
        _store(_rounded_mean(sums, extra_rows * k), out[full_rows, :full_cols], lut)
    if extra_rows and extra_cols:
        corner = values[full_rows * k :, full_cols * k :]
        mean = _rounded_mean(np.asarray([corner.sum(dtype=np.uint64)]), corner.size)
        _store(mean, out[full_rows, full_cols:], lut)


def _rounded_mean(sums, count: int):
    return (sums + count // 2) // count


def fit(pixels: np.ndarray, plan: ScalePlan, *, source_height: int, source_width: int) -> np.ndarray:
    """``pixels`` (uint8, the frame reduced by ``plan.factor``) resized to the plan's size.

    The source box is the original frame's extent in reduced pixels, so the grid stays in place
    whatever the partial edge blocks. Unreduced frames get Pillow's box filter (the exact area
    average). Reduced ones get bilinear: a box filter that shrinks by less than 2x is nearly a
    nearest-neighbour pick on the coarse grid (sample positions jitter by up to half a reduced
    pixel); against the area average of the full frame, bilinear halves the 99th-percentile error
    (RG1 at 512: 1.8 vs 2.7 gray levels; a sine: 1.6 vs 3.8) for ~35% more time in this step.
    """
    if pixels.shape == (plan.rows, plan.cols):
        return pixels
    extent = (0.0, 0.0, source_width / plan.factor, source_height / plan.factor)
    kind = Image.Resampling.BOX if plan.factor == 1 else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(pixels).resize((plan.cols, plan.rows), kind, box=extent))
