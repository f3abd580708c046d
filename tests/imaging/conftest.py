"""Fixtures of the imaging tests (helpers live in helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from tests.imaging.helpers import RG1, pydicom_file, small_dataset


@pytest.fixture(scope="session")
def rg1_paths() -> dict[str, Path]:
    return {name: pydicom_file(filename) for name, filename in RG1.items()}


@pytest.fixture
def write_dicom(tmp_path: Path) -> Callable[..., Path]:
    """Write a dataset (default: a small valid one) under tmp_path; returns its path."""

    def write(ds: Dataset | None = None, name: str = "small.dcm") -> Path:
        path = tmp_path / name
        (ds if ds is not None else small_dataset()).save_as(path, enforce_file_format=True)
        return path

    return write
