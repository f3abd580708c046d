"""Display rendering: the same image from every syntax, presets, inversion, LUT exactness, cache."""

from __future__ import annotations

import io
import time

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.sequence import Sequence

from imaging import (
    RenderCache,
    encode_jpeg,
    encode_png,
    encode_webp,
    prepare_image,
    render_for_display,
)
from tests.imaging.helpers import LIMITS, pydicom_file, small_dataset


@pytest.fixture(scope="module")
def renders(rg1_paths):
    return {name: render_for_display(path) for name, path in rg1_paths.items()}


def test_all_syntaxes_render_the_same_image(renders):
    assert np.array_equal(renders["UNCR"].pixels, renders["J2KR"].pixels)
    assert np.array_equal(renders["UNCI"].pixels, renders["J2KI"].pixels)
    lossy_vs_lossless = np.abs(renders["UNCI"].pixels.astype(int) - renders["UNCR"].pixels).mean()
    assert 0 < lossy_vs_lossless < 1.0
    for rendered in renders.values():
        assert rendered.pixels.shape == (1955, 1841) and rendered.pixels.dtype == np.uint8
        assert (rendered.preset, rendered.center, rendered.width) == ("file", 15000.0, 30000.0)


def test_payload_renders_like_the_source(rg1_paths, renders):
    image = prepare_image(rg1_paths["J2KR"], **LIMITS)
    assert np.array_equal(render_for_display(image.payload).pixels, renders["UNCR"].pixels)


def test_monochrome1_is_inverted_lungs_darker_than_mediastinum(renders):
    rendered = renders["UNCR"]
    assert rendered.inverted
    pixels = rendered.pixels.astype(float)
    rows = slice(int(0.30 * 1955), int(0.60 * 1955))
    right_lung = pixels[rows, int(0.22 * 1841) : int(0.38 * 1841)].mean()
    left_lung = pixels[rows, int(0.62 * 1841) : int(0.78 * 1841)].mean()
    mediastinum = pixels[rows, int(0.46 * 1841) : int(0.54 * 1841)].mean()
    assert right_lung + 20 < mediastinum and left_lung + 20 < mediastinum


def test_presets_change_the_output(rg1_paths):
    outputs = {
        name: render_for_display(rg1_paths["UNCR"], preset=name)
        for name in ("default", "file", "full", "lung", "mediastinum", "bone")
    }
    assert np.array_equal(outputs["default"].pixels, outputs["file"].pixels)
    distinct = {outputs[name].pixels.tobytes() for name in ("file", "full", "lung", "mediastinum", "bone")}
    assert len(distinct) == 5
    # The lung window spends its gray levels on the dark (air-filled) part: lungs get brighter.
    assert outputs["lung"].pixels.mean() > outputs["bone"].pixels.mean()
    custom = render_for_display(rg1_paths["UNCR"], center=12000, width=4000)
    assert (custom.preset, custom.center, custom.width) == ("custom", 12000.0, 4000.0)
    with pytest.raises(ValueError, match="unknown window preset"):
        render_for_display(rg1_paths["UNCR"], preset="brain")


def reference_render(ds, center, width) -> np.ndarray:
    """The naive float64 path, with pydicom's functions on the whole frame."""
    ds.WindowCenter, ds.WindowWidth = center, width
    values = apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds, prefer_lut=False)
    ends = apply_voi_lut(np.array([-1e30, 1e30]), ds, prefer_lut=False)
    gray = np.clip(np.rint((values - ends[0]) * 255.0 / (ends[1] - ends[0])), 0, 255).astype(np.uint8)
    return 255 - gray if ds.PhotometricInterpretation == "MONOCHROME1" else gray


@pytest.mark.parametrize(
    ("name", "center", "width"),
    [
        ("RG1_UNCR.dcm", 15000, 30000),
        ("RG1_J2KR.dcm", 9000, 5000),
        ("MR_small.dcm", 600, 1200),
        ("CT_small.dcm", 40, 400),
    ],
)
def test_lookup_table_equals_the_full_frame_computation(name, center, width):
    path = pydicom_file(name)
    rendered = render_for_display(path, center=center, width=width, max_side=4096)
    assert np.array_equal(rendered.pixels, reference_render(pydicom.dcmread(path), center, width))


def test_bits_above_bits_stored_are_ignored(write_dicom):
    ds = small_dataset()
    clean = render_for_display(write_dicom(ds, "clean.dcm")).pixels
    raw = np.frombuffer(ds.PixelData, dtype="<u2") | 0xF000  # an overlay in the unused high bits
    ds.PixelData = raw.tobytes()
    assert np.array_equal(render_for_display(write_dicom(ds, "dirty.dcm")).pixels, clean)


def test_downscaling(rg1_paths):
    small = render_for_display(rg1_paths["UNCR"], max_side=512)
    assert max(small.pixels.shape) == 512 and small.pixels.shape == (512, 482)
    assert (small.source_width, small.source_height) == (1841, 1955)
    full = render_for_display(rg1_paths["UNCR"]).pixels
    shrunk = np.asarray(Image.fromarray(full).resize((482, 512), Image.Resampling.BOX))
    assert np.abs(small.pixels.astype(int) - shrunk).mean() < 2


def test_raster_renders_as_stored_and_presets_apply(tmp_path):
    gray = np.tile(np.arange(256, dtype=np.uint8), (16, 1))
    path = tmp_path / "ramp.png"
    Image.fromarray(gray).save(path)
    payload = prepare_image(path, **LIMITS).payload
    default = render_for_display(payload)
    assert np.array_equal(default.pixels, gray) and not default.inverted
    lung = render_for_display(payload, preset="lung").pixels
    assert not np.array_equal(lung, gray) and lung[0, 0] == 0 and lung[0, 255] == 255
    jpeg = io.BytesIO()
    Image.fromarray(gray).save(jpeg, "JPEG", quality=95)
    assert render_for_display(jpeg.getvalue()).pixels.shape == (16, 256)


def test_cache_hits_are_fast_and_do_not_read(rg1_paths):
    cache = RenderCache(max_items=2)
    path = rg1_paths["UNCR"]
    first = cache.render(sha256="a" * 64, data=path)
    reads = []
    start = time.perf_counter()
    again = cache.render(sha256="a" * 64, data=lambda: reads.append(1) or path)
    elapsed = time.perf_counter() - start
    assert again is first and reads == [] and elapsed < 0.005
    assert (cache.hits, cache.misses) == (1, 1)
    cache.render(sha256="a" * 64, data=path, preset="lung")
    cache.render(sha256="b" * 64, data=path)
    assert len(cache) == 2  # the least recently used ("a", default) went
    cache.render(sha256="a" * 64, data=path)
    assert cache.misses == 4
    with pytest.raises(ValueError):
        first.pixels[0, 0] = 1  # shared renders are read-only


def test_encoders(renders):
    rendered = renders["UNCR"]
    png = encode_png(rendered)
    assert png.startswith(b"\x89PNG") and np.array_equal(
        np.asarray(Image.open(io.BytesIO(png))), rendered.pixels
    )
    assert len(encode_png(rendered, fast=False)) < len(png)
    assert encode_webp(rendered)[8:12] == b"WEBP"
    assert encode_jpeg(rendered.pixels)[:2] == b"\xff\xd8"


def test_voi_lut_sequence_is_the_default(write_dicom):
    ds = small_dataset()
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 12]
    item.add_new(0x00283006, "US", [4095 - v for v in range(4096)])  # LUTData: an inverting LUT
    ds.VOILUTSequence = Sequence([item])
    rendered = render_for_display(write_dicom(ds))
    assert (rendered.preset, rendered.center, rendered.width) == ("file", None, None)
    stored = np.frombuffer(ds.PixelData, dtype="<u2").reshape(48, 40).astype(np.int64)
    expected = np.rint((4095 - stored) * 255 / 4095).astype(np.uint8)
    assert np.array_equal(rendered.pixels, expected)


def test_modality_lut_sequence_then_window(write_dicom):
    ds = small_dataset()
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]
    item.ModalityLUTType = "OD"
    item.add_new(0x00283006, "US", [v * 3 for v in range(4096)])  # LUTData
    ds.ModalityLUTSequence = Sequence([item])
    path = write_dicom(ds)
    rendered = render_for_display(path, center=6000, width=8000)
    assert np.array_equal(rendered.pixels, reference_render(pydicom.dcmread(path), 6000, 8000))


def test_rendering_works_in_a_forked_child(rg1_paths):
    """The lookup's thread pool must not be inherited dead by a forked server worker."""
    import multiprocessing

    expected = render_for_display(rg1_paths["UNCR"]).pixels  # the parent's pool now exists
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(_render_sum, (rg1_paths["UNCR"],)).get(timeout=60)
    assert child == int(expected.sum(dtype=np.int64))


def _render_sum(path) -> int:
    return int(render_for_display(path).pixels.sum(dtype=np.int64))
