"""Property: on any corruption of a small DICOM, prepare_image returns or raises ImageRejected.

pydicom and its decoder plugins raise many exception types on corrupt bytes; none may escape.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.uid import RLELossless

from imaging import ImageRejected, PreparedImage, prepare_image
from tests.imaging.helpers import LIMITS, small_dataset


def _small_file(compressed: bool) -> bytes:
    ds = small_dataset(rows=16, cols=12)
    if compressed:
        ds.compress(RLELossless)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "small.dcm"
        ds.save_as(path, enforce_file_format=True)
        return path.read_bytes()


SOURCES = {"native": _small_file(False), "rle": _small_file(True)}

edits = st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=12)


@pytest.mark.parametrize("source", sorted(SOURCES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=edits, cut=st.one_of(st.none(), st.integers(min_value=0)), insert=st.binary(max_size=16))
def test_mutated_dicom_is_prepared_or_rejected(source, edits, cut, insert):
    data = bytearray(SOURCES[source])
    for offset, value in edits:
        data[offset % len(data)] = value
    if insert:
        where = (edits[0][0] if edits else 200) % len(data)
        data[where:where] = insert
    if cut is not None:
        del data[cut % len(data) :]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutated.dcm"
        path.write_bytes(bytes(data))
        try:
            result = prepare_image(path, **LIMITS)
        except ImageRejected as error:
            assert str(path) in str(error)
        else:
            assert isinstance(result, PreparedImage) and len(result.sha256) == 64


def test_the_sources_are_valid():
    for data in SOURCES.values():
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ok.dcm"
            path.write_bytes(data)
            assert prepare_image(path, **LIMITS).width == 12
