"""Helpers of the imaging tests: the real RG1/RG3 radiographs of pydicom-data, and small DICOMs
built with pydicom (no binary fixtures in the repository)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ComputedRadiographyImageStorage as CRImageStorage
from pydicom.uid import ExplicitVRLittleEndian

KEY = b"test-pseudonym-key-0123456789abcdef"
LIMITS = {"key": KEY, "date_shift_max_days": 365, "max_pixels": 20_000_000, "max_bytes": 64_000_000}
RG1 = {name: f"RG1_{name}.dcm" for name in ("UNCI", "UNCR", "J2KI", "J2KR")}


def pydicom_file(name: str) -> Path:
    """A file of pydicom-data (installed with the test extras), by name."""
    found = get_testdata_file(name)
    if found is None:
        pytest.skip(f"pydicom-data does not provide {name}")
    return Path(found)


def small_dataset(
    *, rows: int = 48, cols: int = 40, seed: int = 0, photometric: str = "MONOCHROME2"
) -> Dataset:
    """A valid 12-bit CR chest image with a little PHI, explicit VR little endian."""
    rng = np.random.default_rng(seed)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5.6.7.8.3"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CRImageStorage
    ds.SOPInstanceUID = "1.2.3.4.5.6.7.8.3"
    ds.StudyInstanceUID = "1.2.3.4.5.6.7.8.1"
    ds.SeriesInstanceUID = "1.2.3.4.5.6.7.8.2"
    ds.PatientName = "Smallfile^Patient"
    ds.PatientID = "SMALL-0001"
    ds.StudyDate = "20200315"
    ds.Modality = "CR"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PixelData = rng.integers(0, 4096, size=(rows, cols), dtype=np.uint16).tobytes()
    return ds


def shifted_back(date: dt.date, original: str, max_days: int) -> bool:
    delta = (dt.datetime.strptime(original, "%Y%m%d").date() - date).days
    return 1 <= delta <= max_days
