"""Downscaled renders against the slow reference: window the full frame in float64 with pydicom's
own functions, then area-average it (Pillow's box filter on a float image).

The fast path averages the stored values first and windows the small frame, so the two differ
where a block straddles a window edge, and by the final fit to an exact size (a reduction, then a
small bilinear resize, filters a little differently from one box). Where nothing is clipped and
the reduction is the result, only rounding is left. Each bound is about twice the gap measured
(mean and 99th percentile of the absolute difference, in gray levels).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from imaging import RenderCache, prepare_image, render_for_display
from imaging.resample import SNAP_FRACTION, ScalePlan, box_reduce, plan_scale
from tests.imaging.helpers import LIMITS, small_dataset


def windowed(ds: Dataset, pixels: np.ndarray, center: float, width: float) -> np.ndarray:
    """Float gray levels 0..255 of the whole frame, the naive way (MONOCHROME1 inverted)."""
    ds.WindowCenter, ds.WindowWidth = center, width
    values = apply_voi_lut(apply_modality_lut(pixels, ds), ds, prefer_lut=False)
    ends = apply_voi_lut(np.array([-1e30, 1e30]), ds, prefer_lut=False)
    gray = np.clip((values - ends[0]) * 255.0 / (ends[1] - ends[0]), 0, 255)
    return 255 - gray if ds.PhotometricInterpretation == "MONOCHROME1" else gray


def area_average(gray: np.ndarray, shape: tuple[int, int], *, factor: int, snapped: bool) -> np.ndarray:
    """Box downscale of a float frame: factor x factor blocks when snapped, else a fit to shape."""
    image = Image.fromarray(gray.astype(np.float32), mode="F")
    if snapped:
        return np.asarray(image.reduce(factor))
    return np.asarray(image.resize((shape[1], shape[0]), Image.Resampling.BOX))


def gap(fast: np.ndarray, reference: np.ndarray) -> tuple[float, float, float]:
    assert fast.shape == reference.shape and fast.dtype == np.uint8
    diff = np.abs(fast.astype(np.float64) - reference)
    return float(diff.mean()), float(np.percentile(diff, 99)), float(diff.max())


def snapped(rows: int, cols: int, *, max_side: int, exact: bool) -> tuple[int, bool]:
    """The plan's factor, and whether its result is the bare reduction (no final fit)."""
    plan = plan_scale(rows, cols, max_side=max_side, exact=exact)
    bare = plan.factor > 1 and (plan.rows, plan.cols) == (-(-rows // plan.factor), -(-cols // plan.factor))
    return plan.factor, bare


def reference_for(path: Path, rendered, *, max_side: int, exact: bool) -> np.ndarray:
    ds = pydicom.dcmread(path)
    factor, bare = snapped(ds.Rows, ds.Columns, max_side=max_side, exact=exact)
    gray = windowed(ds, ds.pixel_array, rendered.center, rendered.width)
    return area_average(gray, rendered.pixels.shape, factor=factor, snapped=bare)


def smooth_dataset(rows: int, cols: int, *, photometric: str, signed: bool = False, seed: int = 3) -> Dataset:
    """A 12-bit frame like a radiograph at low resolution: gradient, two blobs, mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols] / max(rows, cols)
    blobs = np.exp(-((x - 0.3) ** 2 + (y - 0.5) ** 2) / 0.02) + np.exp(
        -((x - 0.7) ** 2 + (y - 0.4) ** 2) / 0.01
    )
    frame = 600 + 1800 * y + 1500 * blobs + rng.normal(0, 25, size=(rows, cols))
    values = np.clip(np.rint(frame), 0, 4095).astype(np.int64)
    ds = small_dataset(rows=rows, cols=cols, photometric=photometric)
    if signed:
        values -= 2048
        ds.PixelRepresentation = 1
        ds.PixelData = values.astype("<i2").tobytes()
    else:
        ds.PixelData = values.astype("<u2").tobytes()
    return ds


@pytest.mark.parametrize(
    ("max_side", "exact", "preset", "bounds"),
    [
        (1024, False, "default", (0.5, 1.0)),  # 2x reduction, 978 x 921: no clipping, rounding only
        (977, True, "default", (1.0, 4.5)),  # 2x reduction, then a fit to 977 x 920
        (512, True, "default", (1.0, 4.5)),  # 3x reduction, then a fit to 512 x 482
        (512, False, "lung", (0.5, 2.0)),  # 4x reduction, a window that clips the mediastinum
        (512, True, "bone", (2.0, 12.0)),  # a narrow window: most blocks at its edges differ
        (1024, True, "lung", (0.6, 1.5)),  # no reduction: window first, then the box fit
    ],
)
def test_rg1_downscaled_matches_the_reference(rg1_paths, max_side, exact, preset, bounds):
    path = rg1_paths["UNCR"]
    rendered = render_for_display(path, preset=preset, max_side=max_side, exact_size=exact)
    mean, p99, _ = gap(rendered.pixels, reference_for(path, rendered, max_side=max_side, exact=exact))
    assert mean <= bounds[0] and p99 <= bounds[1], (mean, p99)
    assert (rendered.source_width, rendered.source_height) == (1841, 1955)


@pytest.mark.parametrize("photometric", ["MONOCHROME1", "MONOCHROME2"])
@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize(
    ("rows", "cols", "max_side", "exact"), [(301, 257, 100, True), (301, 257, 151, False)]
)
def test_synthetic_odd_sizes_match_the_reference(
    write_dicom, photometric, signed, rows, cols, max_side, exact
):
    path = write_dicom(smooth_dataset(rows, cols, photometric=photometric, signed=signed))
    for center, width in ((0.0 if signed else 2048.0, 4096.0), (800.0 if signed else 2848.0, 1200.0)):
        rendered = render_for_display(path, center=center, width=width, max_side=max_side, exact_size=exact)
        assert max(rendered.pixels.shape) <= max_side
        mean, p99, top = gap(rendered.pixels, reference_for(path, rendered, max_side=max_side, exact=exact))
        if width == 4096.0 and not exact:  # nothing clipped, same blocks: rounding only
            assert top <= 1.0, top
        assert mean <= 1.0 and p99 <= 6.0, (center, width, mean, p99)
    inverted = render_for_display(path, max_side=max_side, exact_size=exact)
    assert inverted.inverted == (photometric == "MONOCHROME1")


def test_monochrome1_and_2_of_the_same_values_are_negatives(write_dicom):
    one = render_for_display(
        write_dicom(smooth_dataset(301, 257, photometric="MONOCHROME1"), "m1.dcm"), max_side=90
    )
    two = render_for_display(
        write_dicom(smooth_dataset(301, 257, photometric="MONOCHROME2"), "m2.dcm"), max_side=90
    )
    assert one.pixels.shape == two.pixels.shape == (90, 77)
    assert np.abs(one.pixels.astype(int) + two.pixels - 255).max() <= 1


@pytest.mark.parametrize(("max_side", "exact"), [(100, True), (112, False), (500, True)])
def test_png_source_matches_the_reference(tmp_path, max_side, exact):
    rows, cols = 333, 251
    y, x = np.mgrid[0:rows, 0:cols]
    rng = np.random.default_rng(5)
    gray = np.clip(40 + 0.5 * y + 60 * np.sin(x / 17.0) + rng.normal(0, 6, (rows, cols)), 0, 255)
    path = tmp_path / "smooth.png"
    Image.fromarray(gray.astype(np.uint8)).save(path)
    payload = prepare_image(path, **LIMITS).payload
    stored = np.asarray(Image.open(io.BytesIO(payload)))
    factor, bare = snapped(rows, cols, max_side=max_side, exact=exact)
    default = render_for_display(payload, max_side=max_side, exact_size=exact)
    reference = area_average(stored.astype(np.float64), default.pixels.shape, factor=factor, snapped=bare)
    mean, p99, top = gap(default.pixels, reference)  # the identity window
    # A fit after the reduction filters the noise a little differently from one box: ~1 level.
    assert top <= 1.0 if bare else (mean <= 2.0 and p99 <= 6.0), (mean, p99, top)
    lung = render_for_display(payload, preset="lung", max_side=max_side, exact_size=exact)
    ds = Dataset()
    ds.PhotometricInterpretation, ds.BitsStored, ds.BitsAllocated, ds.PixelRepresentation = (
        "MONOCHROME2",
        8,
        8,
        0,
    )
    reference = area_average(
        windowed(ds, stored, lung.center, lung.width), lung.pixels.shape, factor=factor, snapped=bare
    )
    mean, p99, _ = gap(lung.pixels, reference)
    assert mean <= 2.0 and p99 <= 6.0, (mean, p99)


@pytest.mark.parametrize(("max_side", "exact"), [(100, True), (151, False)])  # 3x, and 2x (pairs)
def test_bits_above_bits_stored_are_ignored_when_downscaling(write_dicom, max_side, exact):
    ds = smooth_dataset(301, 257, photometric="MONOCHROME2")
    clean = render_for_display(write_dicom(ds, "clean.dcm"), max_side=max_side, exact_size=exact).pixels
    ds.PixelData = (np.frombuffer(ds.PixelData, dtype="<u2") | 0xF000).tobytes()  # an overlay
    dirty = render_for_display(write_dicom(ds, "dirty.dcm"), max_side=max_side, exact_size=exact).pixels
    assert np.array_equal(dirty, clean)


def test_plan_scale():
    assert plan_scale(1955, 1841, max_side=2048) == ScalePlan(1, 1955, 1841)
    assert plan_scale(1955, 1841, max_side=1024) == ScalePlan(1, 1024, 964)  # under 2x: no reduction
    assert plan_scale(1955, 1841, max_side=1024, exact=False) == ScalePlan(2, 978, 921)
    assert plan_scale(1955, 1841, max_side=512) == ScalePlan(3, 512, 482)
    assert plan_scale(1955, 1841, max_side=512, exact=False) == ScalePlan(4, 489, 461)
    assert plan_scale(1955, 1841, max_side=1536, exact=False) == ScalePlan(1, 1536, 1446)  # 2x is 64%
    assert plan_scale(4096, 4096, max_side=2048, exact=False) == plan_scale(4096, 4096, max_side=2048)
    for side in range(20, 3000, 37):
        for exact in (True, False):
            plan = plan_scale(1955, 1841, max_side=side, exact=exact)
            longest = max(plan.rows, plan.cols)
            assert longest <= side and (longest == min(side, 1955) or longest >= SNAP_FRACTION * side)
    with pytest.raises(ValueError):
        plan_scale(10, 10, max_side=0)


@pytest.mark.parametrize(
    ("dtype", "bits"), [(np.uint8, 8), (np.uint16, 12), (np.uint16, 15), (np.uint16, 16)]
)
@pytest.mark.parametrize("factor", [2, 3, 5])
def test_box_reduce_equals_pillow_reduce(dtype, bits, factor):
    """Block means, partial blocks at the bottom and right edges included, for every sum width."""
    rng = np.random.default_rng(factor)
    for shape in ((7, 5), (64, 48), (101, 77), (3, 50), (1955 // factor, 9)):
        values = rng.integers(0, 2**bits, size=shape).astype(dtype)
        expected = np.asarray(Image.fromarray(values.astype(np.float32), mode="F").reduce(factor))
        ours = box_reduce(values, factor, bits=bits)
        assert ours.dtype == dtype and ours.shape == expected.shape
        assert np.abs(ours - expected.astype(np.float64)).max() <= 0.5 + 1e-3 * 2**bits / 65536, shape
        lut = rng.integers(0, 256, size=2**bits, dtype=np.uint8)  # the lookup fused into the strips
        assert np.array_equal(box_reduce(values, factor, bits=bits, lut=lut), lut[ours])
        assert np.array_equal(box_reduce(values, factor, bits=bits, threads=3), ours)  # bands of rows


def test_cache_keeps_exact_and_snapped_renders_apart(rg1_paths):
    cache = RenderCache(max_items=4)
    exact = cache.render(sha256="a" * 64, data=rg1_paths["UNCR"], max_side=1024)
    snapped = cache.render(sha256="a" * 64, data=rg1_paths["UNCR"], max_side=1024, exact_size=False)
    assert exact.pixels.shape == (1024, 964) and snapped.pixels.shape == (978, 921)
    assert cache.render(sha256="a" * 64, data=rg1_paths["UNCR"], max_side=1024, exact_size=False) is snapped
    assert (cache.hits, cache.misses) == (1, 2)
