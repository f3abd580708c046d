"""A real PACS for the tests: Orthanc with its DICOMweb plugin, started once per test session on
free local ports (skipped cleanly where the ``orthanc`` and ``orthanc-dicomweb`` Debian packages
are absent), emptied before each test that uses it. Its configuration names the receiver under
test as a DICOM modality (``chestx``, AE title CHESTX, on a port reserved here), so Orthanc's
REST "send to modality" reaches it.

Images: the real RG1 chest radiographs and the RG3 tibia of pydicom-data, and small synthetic
radiographs written with pydicom (:func:`synthetic`), each with a little PHI to see removed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    generate_uid,
)

from services.importing import Intake
from tests.conftest import free_port, rg1_path

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
RECEIVER_AE, ORTHANC_AE = "CHESTX", "ORTHANC"
PATIENT_NAME = "Pacsfile^Patricia"  # PHI written into every synthetic image, never to be stored


@dataclass
class Orthanc:
    """A running Orthanc: its DICOMweb root, REST base, and the port reserved for the receiver."""

    url: str
    dicom_port: int
    receiver_port: int

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    def upload(self, *paths: Path) -> list[str]:
        """Store files (REST ``POST /instances``); their Orthanc ids."""
        ids = []
        for path in paths:
            reply = httpx.post(f"{self.url}/instances", content=path.read_bytes(), timeout=30)
            reply.raise_for_status()
            ids.append(reply.json()["ID"])
        return ids

    def empty(self) -> None:
        for patient in httpx.get(f"{self.url}/patients", timeout=10).json():
            httpx.delete(f"{self.url}/patients/{patient}", timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def orthanc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    binary = shutil.which("Orthanc")
    if binary is None or not PLUGIN.exists():
        pytest.skip(
            "Orthanc and its DICOMweb plugin are not installed (apt-get install orthanc orthanc-dicomweb)"
        )
    folder = tmp_path_factory.mktemp("orthanc")
    http_port, dicom_port, receiver_port = free_port(), free_port(), free_port()
    config = {
        "Name": "chestx-tests",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": ORTHANC_AE,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [str(PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "DicomModalities": {"chestx": [RECEIVER_AE, "127.0.0.1", receiver_port]},
    }
    (folder / "orthanc.json").write_text(json.dumps(config), encoding="utf-8")
    log = (folder / "orthanc.log").open("wb")
    process = subprocess.Popen([binary, str(folder / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/system", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"Orthanc did not start: {(folder / 'orthanc.log').read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.1)
        yield Orthanc(url, dicom_port, receiver_port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def orthanc(orthanc_server: Orthanc) -> Orthanc:
    """The session's Orthanc, emptied for this test."""
    orthanc_server.empty()
    return orthanc_server


@pytest.fixture
def intake(tmp_path: Path) -> Intake:
    return Intake(key=b"test-pacs-key-0123456789", image_dir=tmp_path / "images", max_bytes=64_000_000)


def synthetic(
    folder: Path,
    name: str,
    *,
    modality: str = "DX",
    body_part: str | None = "CHEST",
    accession: str = "ACC-0001",
    study_date: str = "20240315",
    seed: int = 0,
    study_uid: str | None = None,
) -> Path:
    """A small 12-bit radiograph (CR or DX storage, by ``modality``) with a patient's name, ID and
    accession number in it; returns its path under ``folder``."""
    rng = np.random.default_rng(seed)
    sop_class = (
        ComputedRadiographyImageStorage if modality == "CR" else DigitalXRayImageStorageForPresentation
    )
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName, ds.PatientID = PATIENT_NAME, f"PACS-{seed:04d}"
    ds.AccessionNumber, ds.StudyDate, ds.StudyTime = accession, study_date, "101500"
    ds.Modality = modality
    if body_part is not None:
        ds.BodyPartExamined = body_part
    ds.ViewPosition = "PA"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = 64, 56
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = rng.integers(0, 4096, size=(64, 56), dtype=np.uint16).tobytes()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    ds.save_as(path, enforce_file_format=True)
    return path


def tibia() -> Path:
    """RG3: a real CR of a leg (body part EXTREMITY), the non-chest image a chest import skips."""
    return rg1_path("RG3_UNCI.dcm")
