"""Window presets and 8-bit display lookup tables for grayscale images.

Contract: pure functions. :class:`DisplayParams` is the hashable part of a dataset that display
depends on (photometric interpretation, bit depth, modality LUT or rescale, VOI LUT, window);
:func:`display_lut` turns it and a window into a uint8 table indexed by the RAW stored bit pattern
(``pixels.view(uint8 or uint16)``), so masking unused high bits, sign extension, the modality LUT,
the VOI LUT or window and MONOCHROME1 inversion all cost one table lookup per pixel.

The table itself is computed with pydicom's own ``apply_modality_lut`` and ``apply_voi_lut`` over
every possible stored value (at most 65,536), never over the full frame in float64.

Presets: the file's own window ("file"), then "full", "lung", "mediastinum" and "bone". Radiographs
(CR/DX) carry no Hounsfield units and their value ranges differ by detector and processing, so the
last four are quantiles of the image's own values, ordered by density q (0 = air, shown black;
1 = densest, shown white; MONOCHROME1 stores them the other way round): full shows q 0.005..0.995,
lung 0.02..0.70 (parenchyma spread over the gray scale, mediastinum white), mediastinum
0.45..0.995 (heart, spine and soft tissue; lungs black), bone 0.30..0.98. These were chosen by
looking at RG1 (pydicom-data's chest CR); they are starting points that the viewer's window
sliders refine. Images rescaled to HU (RescaleType "HU") get the classic CT windows instead.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.sequence import Sequence

Window = tuple[float, float]  # (center, width) in modality-LUT output units

# Density quantiles (low, high) each preset shows (see the module docstring).
DENSITY_QUANTILES: dict[str, tuple[float, float]] = {
    "full": (0.005, 0.995),
    "lung": (0.02, 0.70),
    "mediastinum": (0.45, 0.995),
    "bone": (0.30, 0.98),
}
HU_PRESETS: dict[str, Window] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (40.0, 400.0),
    "bone": (480.0, 2500.0),
}
PRESET_NAMES = ("default", "file", "full", "lung", "mediastinum", "bone")


@dataclass(frozen=True)
class LutTable:
    """A LUT sequence item: descriptor (entries, first mapped value, bits) and its data."""

    descriptor: tuple[int, int, int]
    data: tuple[int, ...]


@dataclass(frozen=True)
class DisplayParams:
    """Everything besides the pixels that decides how a grayscale image is displayed."""

    photometric: str = "MONOCHROME2"
    bits_allocated: int = 8
    bits_stored: int = 8
    signed: bool = False
    slope: float | None = None
    intercept: float | None = None
    rescale_type: str = ""
    modality_lut: LutTable | None = None
    voi_lut: LutTable | None = None
    voi_function: str = "LINEAR"
    file_window: Window | None = None

    @property
    def inverted(self) -> bool:
        return self.photometric == "MONOCHROME1"

    @classmethod
    def from_dataset(cls, ds: Dataset) -> DisplayParams:
        slope, intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
        has_rescale = slope is not None and intercept is not None
        return cls(
            photometric=str(ds.PhotometricInterpretation).strip().upper(),
            bits_allocated=int(ds.BitsAllocated),
            bits_stored=int(ds.BitsStored),
            signed=int(ds.PixelRepresentation) == 1,
            slope=float(slope) if has_rescale else None,
            intercept=float(intercept) if has_rescale else None,
            rescale_type=str(ds.get("RescaleType", "") or "").strip().upper(),
            modality_lut=_lut_table(ds, "ModalityLUTSequence"),
            voi_lut=_lut_table(ds, "VOILUTSequence"),
            voi_function=str(ds.get("VOILUTFunction", "") or "LINEAR").strip().upper(),
            file_window=_first_window(ds),
        )


# An 8-bit raster (PNG/JPEG): its own window is the identity (0..255 shown as stored).
RASTER_PARAMS = DisplayParams(file_window=(128.0, 256.0))


def window_presets(pixels: np.ndarray, params: DisplayParams) -> dict[str, Window]:
    """Named (center, width) windows for this image: "file" when it has one, then the rest."""
    presets: dict[str, Window] = {}
    if params.file_window is not None:
        presets["file"] = params.file_window
    quantiles = sorted({q for pair in DENSITY_QUANTILES.values() for q in pair})
    values = dict(zip(quantiles, density_quantiles(pixels, params, quantiles), strict=True))
    for name, (q_low, q_high) in DENSITY_QUANTILES.items():
        low, high = sorted((values[q_low], values[q_high]))
        presets[name] = (round((low + high) / 2, 3), round(max(high - low, 1.0), 3))
        if params.rescale_type == "HU" and name in HU_PRESETS:
            presets[name] = HU_PRESETS[name]
    return presets


def density_quantiles(pixels: np.ndarray, params: DisplayParams, quantiles: list[float]) -> list[float]:
    """Modality-LUT values at the given density quantiles, from a subsample of ~65k pixels."""
    step = max(1, int(np.sqrt(pixels.size / 65536)))
    sample = stored_values(pixels[::step, ::step].astype(np.int64), params)
    values = apply_modality_lut(sample, _lut_dataset(params, None))
    percents = [100 * (1 - q if params.inverted else q) for q in quantiles]
    return [float(v) for v in np.percentile(values, percents)]


def resolve_window(
    pixels: np.ndarray, params: DisplayParams, *, preset: str, center: float | None, width: float | None
) -> tuple[str, Window | None]:
    """The preset actually used and its window; None means the file's VOI LUT sequence.

    An explicit ``center`` and ``width`` win over the preset ("custom"). "default" and "file" are
    the file's VOI LUT, else its window, else "full".
    """
    if center is not None and width is not None:
        return "custom", (float(center), max(float(width), 1.0))
    if preset in ("default", "file"):
        if params.voi_lut is not None:
            return "file", None
        if params.file_window is not None:
            return "file", params.file_window
        preset = "full"
    presets = window_presets(pixels, params)
    if preset not in presets:
        raise ValueError(f"unknown window preset {preset!r}; choose from {', '.join(PRESET_NAMES)}")
    return preset, presets[preset]


@functools.lru_cache(maxsize=256)
def display_lut(params: DisplayParams, window: Window | None) -> np.ndarray:
    """uint8 table of 2**bits_allocated entries: raw stored bit pattern -> displayed gray level.

    ``window`` None applies the VOI LUT sequence of ``params``. The table is read-only and shared.
    """
    stored = stored_values(np.arange(2**params.bits_allocated, dtype=np.int64), params)
    ds = _lut_dataset(params, window)
    modality = apply_modality_lut(stored, ds)
    with np.errstate(over="ignore", invalid="ignore"):
        shown = np.asarray(apply_voi_lut(modality, ds, prefer_lut=window is None), dtype=np.float64)
        y_min, y_max = _output_range(params, ds, window, modality)
    scaled = (shown - y_min) * (255.0 / max(y_max - y_min, 1e-12))
    table = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if params.inverted:
        table = 255 - table
    table.setflags(write=False)
    return table


def stored_values(raw: np.ndarray, params: DisplayParams) -> np.ndarray:
    """Stored values from raw bit patterns (int64): bits above BitsStored cleared, sign extended.

    Idempotent, so it accepts pydicom's ``pixel_array`` as well as a raw view of PixelData.
    """
    stored = raw & ((1 << params.bits_stored) - 1)
    if params.signed:
        sign = 1 << (params.bits_stored - 1)
        stored = (stored ^ sign) - sign
    return stored


def _output_range(params: DisplayParams, ds: Dataset, window: Window | None, modality: np.ndarray):
    """The nominal (min, max) of the VOI output, as pydicom defines it for this dataset."""
    if window is not None:
        # Windowing sends everything below the window to y_min and above it to y_max.
        ends = apply_voi_lut(np.array([-1e30, 1e30]), ds, prefer_lut=False)
        return float(ends[0]), float(ends[1])
    if params.voi_lut is not None:
        # Some LUTs declare 16 bits and use 12: scale by the bits the data actually uses.
        bits = max(1, int(max(params.voi_lut.data, default=1)).bit_length())
        return 0.0, float(2 ** min(bits, params.voi_lut.descriptor[2]) - 1)
    return float(np.min(modality)), float(np.max(modality))


def _lut_dataset(params: DisplayParams, window: Window | None) -> Dataset:
    """A tiny dataset with only the attributes pydicom's LUT functions read."""
    ds = Dataset()
    ds.PhotometricInterpretation = params.photometric
    ds.BitsAllocated = params.bits_allocated
    ds.BitsStored = params.bits_stored
    ds.PixelRepresentation = int(params.signed)
    if params.slope is not None and params.intercept is not None:
        ds.RescaleSlope = params.slope
        ds.RescaleIntercept = params.intercept
    if params.modality_lut is not None:
        ds.ModalityLUTSequence = _lut_sequence(params.modality_lut, modality=True)
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
        ds.VOILUTFunction = params.voi_function if window == params.file_window else "LINEAR"
    elif params.voi_lut is not None:
        ds.VOILUTSequence = _lut_sequence(params.voi_lut, modality=False)
    return ds


def _lut_sequence(table: LutTable, *, modality: bool) -> Sequence:
    item = Dataset()
    item.LUTDescriptor = list(table.descriptor)
    item.LUTData = list(table.data)  # VR US: no endianness needed
    if modality:
        item.ModalityLUTType = "US"
    return Sequence([item])


def _lut_table(ds: Dataset, keyword: str) -> LutTable | None:
    items = ds.get(keyword)
    if not items or "LUTDescriptor" not in items[0] or "LUTData" not in items[0]:
        return None
    item = items[0]
    descriptor = tuple(int(v) for v in item.LUTDescriptor)
    data = item.LUTData
    if isinstance(data, bytes):  # OW: decode with the dataset's own byte order
        little = getattr(ds, "original_encoding", (None, True))[1] is not False
        data = np.frombuffer(data, dtype="<u2" if little else ">u2").tolist()
    elif isinstance(data, int):
        data = [data]
    return LutTable(descriptor=descriptor, data=tuple(int(v) for v in data))  # type: ignore[arg-type]


def _first_window(ds: Dataset) -> Window | None:
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is None or width is None or center == "" or width == "":
        return None
    center = center[0] if isinstance(center, MultiValue | list | tuple) else center
    width = width[0] if isinstance(width, MultiValue | list | tuple) else width
    try:
        return float(center), max(float(width), 1.0)
    except (TypeError, ValueError):
        return None
