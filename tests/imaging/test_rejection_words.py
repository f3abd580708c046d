"""A refused file is told what is wrong with it in words, never only an exception's class name
("(TypeError)", "(error)"), and never with a value read from the file."""

from __future__ import annotations

import io
import random
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.uid import RLELossless

from imaging import ImageRejected, prepare_image
from imaging.errors import explain
from tests.imaging.helpers import LIMITS, small_dataset

# What the rejections said before: a stage, then only an exception's class in parentheses.
CLASS_ONLY = re.compile(r"\((?:[A-Za-z_.]*(?:Error|Exception)|error)\)$")


def _dicom(compress: bool = False) -> bytes:
    ds = small_dataset(rows=16, cols=12)
    if compress:
        ds.compress(RLELossless)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _raster(fmt: str, mode: str = "L") -> bytes:
    out = io.BytesIO()
    Image.fromarray((np.arange(48 * 64) % 251).astype(np.uint8).reshape(48, 64)).convert(mode).save(
        out, format=fmt
    )
    return out.getvalue()


def _reasons(tmp_path: Path, data: bytes, *, mutations: int, seed: int) -> list[str]:
    """The rejection reasons of ``mutations`` corrupted copies of ``data`` (flipped bytes, cut)."""
    rng = random.Random(seed)
    reasons = []
    for i in range(mutations):
        copy = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            copy[rng.randrange(len(copy))] = rng.randrange(256)
        if rng.random() < 0.3:
            del copy[rng.randrange(len(copy)) :]
        path = tmp_path / f"m{i}"
        path.write_bytes(bytes(copy))
        try:
            prepare_image(path, **LIMITS)
        except ImageRejected as error:
            reasons.append(error.reason)
    return reasons


@pytest.mark.parametrize(
    ("source", "make"),
    [
        ("dicom", lambda: _dicom()),
        ("dicom-rle", lambda: _dicom(compress=True)),
        ("png", lambda: _raster("PNG")),
        ("png-rgb", lambda: _raster("PNG", "RGB")),
        ("jpeg", lambda: _raster("JPEG")),
    ],
)
def test_no_corrupt_file_is_refused_with_only_an_exception_class(tmp_path: Path, source: str, make) -> None:  # noqa: ANN001
    reasons = _reasons(tmp_path, make(), mutations=120, seed=len(source))
    assert len(reasons) > 20  # the corruptions were found
    assert [r for r in reasons if CLASS_ONLY.search(r)] == []


def _write(tmp_path: Path, data: bytes, name: str = "f") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _reason(path: Path) -> str:
    with pytest.raises(ImageRejected) as caught:
        prepare_image(path, **LIMITS)
    return caught.value.reason


def test_the_words_for_common_damage(tmp_path: Path) -> None:
    png = _raster("PNG")
    assert "truncated" in _reason(_write(tmp_path, png[: len(png) // 2], "half.png"))
    jpeg = _raster("JPEG")
    assert "truncated" in _reason(_write(tmp_path, jpeg[: len(jpeg) - 40], "cut.jpg"))
    ds = small_dataset(rows=16, cols=12)
    del ds.Columns
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    assert _reason(_write(tmp_path, out.getvalue(), "nocols.dcm")) == (
        "has a corrupt DICOM header: the required element Columns is missing"
    )
    short = small_dataset(rows=16, cols=12)
    short.PixelData = short.PixelData[:100]
    out = io.BytesIO()
    short.save_as(out, enforce_file_format=True)
    assert "the pixel data is shorter than its rows, columns and bits declare" in _reason(
        _write(tmp_path, out.getvalue(), "short.dcm")
    )


def test_a_jpeg_declaring_more_pixels_than_pillow_allows_is_a_bomb_in_words(tmp_path: Path) -> None:
    jpeg = bytearray(_raster("JPEG"))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", 20000, 12000)  # height, width: 240 Mpx
    reason = _reason(_write(tmp_path, bytes(jpeg), "bomb.jpg"))
    assert reason == "declares more pixels than any supported limit"


class PanicException(BaseException):  # the name pyo3 gives a Rust decoder's panic
    pass


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (struct.error("unpack requires a buffer of 4 bytes"), "truncated"),
        (zlib.error("Error -3 while decompressing data"), "compressed data is corrupt"),
        (EOFError(), "truncated"),
        (MemoryError(), "more memory"),
        (PanicException("index out of bounds: the len is 3 but the index is 9"), "decoder stopped"),
        (TypeError("unsupported operand"), "wrong kind"),
        (KeyError((0x0028, 0x0010)), "missing or damaged"),
        (
            RuntimeError("Unable to decode as exceptions were raised by all available plugins"),
            "no decoder could",
        ),
        (
            RuntimeError(
                "Unable to decompress 'JPEG' pixel data because all plugins are missing dependencies"
            ),
            "no installed",
        ),
        (ValueError("could not convert string to float: 'Smith^John'"), "not a number"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "character set"),
        (OSError("something new"), "damaged"),
        (Exception("nothing known"), "damaged"),
    ],
)
def test_explain_says_what_is_wrong_without_quoting_values(exc: BaseException, words: str) -> None:
    sentence = explain(exc)
    assert words in sentence
    assert "Smith" not in sentence and "Error" not in sentence and "Exception" not in sentence
