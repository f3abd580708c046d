"""Images from a PACS, measured (issue 16): instances per second over DICOMweb and C-STORE.

    python -m bench.bench_pacs [--count 12] [--size 2048]

Starts a real Orthanc with its DICOMweb plugin (Debian's ``orthanc``, ``orthanc-dicomweb``) on
free local ports, loads it with ``--count`` synthetic 12-bit chest radiographs of ``--size``
square (a detector's size: 8 MB each at 2048), and times, each on a fresh SQLite database:

- **files** (the baseline): ``import_images`` of the same files from disk;
- **dicomweb**: ``import_dicomweb`` (QIDO-RS, WADO-RS, the same intake), retrieving one and two
  instances at a time (alternated, best of two each), then the resume (a re-run, nothing
  retrieved);
- **receiver**: the C-STORE receiver, sent to by a pynetdicom SCU in one association.

Prints instances/s for each and the ratio to the file import.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import DigitalXRayImageStorageForPresentation, ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE

from migrations.runner import upgrade
from review_db.engine import session_factory
from services.importing import Intake, import_images
from services.pacs.dicomweb import Query, Remote, import_dicomweb
from services.pacs.receiver import Receiver, ReceiverConfig

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_cxrs(folder: Path, count: int, size: int) -> list[Path]:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = DigitalXRayImageStorageForPresentation
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        ds.PatientName, ds.PatientID, ds.StudyDate = f"Bench^{i}", f"B{i:05d}", "20240101"
        ds.Modality, ds.BodyPartExamined, ds.ViewPosition = "DX", "CHEST", "PA"
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows = ds.Columns = size
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = rng.integers(0, 4096, size=(size, size), dtype=np.uint16).tobytes()
        path = folder / f"cxr{i:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def start_orthanc(folder: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("Orthanc")
    if binary is None or not PLUGIN.exists():
        sys.exit("Orthanc and its DICOMweb plugin are needed: apt-get install orthanc orthanc-dicomweb")
    port = _port()
    config = {
        "StorageDirectory": str(folder / "storage"), "IndexDirectory": str(folder / "index"),
        "HttpPort": port, "DicomPort": _port(), "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False, "Plugins": [str(PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }  # fmt: skip
    (folder / "orthanc.json").write_text(json.dumps(config), encoding="utf-8")
    process = subprocess.Popen(
        [binary, str(folder / "orthanc.json")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/system", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    sys.exit("Orthanc did not start")


def fresh(folder: Path, name: str) -> tuple[object, Intake]:
    url = f"sqlite:///{folder / (name + '.sqlite3')}"
    upgrade(url)
    return session_factory(url), Intake(key=b"bench-key-0123456789", image_dir=folder / f"images-{name}")


def timed(label: str, count: int, run) -> float:  # noqa: ANN001
    start = time.perf_counter()
    done = run()
    seconds = time.perf_counter() - start
    print(f"{label:<28} {count} instances in {seconds:6.2f} s = {count / seconds:6.2f} instances/s  ({done})")
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--size", type=int, default=2048)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chestx-bench-pacs-") as tmp:
        folder = Path(tmp)
        paths = write_cxrs(folder / "in", args.count, args.size)
        mb = sum(p.stat().st_size for p in paths) / 1e6
        print(
            f"{args.count} synthetic DX chest radiographs, {args.size}x{args.size} 12-bit, {mb:.0f} MB in all"
        )
        process, url = start_orthanc(folder)
        try:
            for path in paths:
                httpx.post(f"{url}/instances", content=path.read_bytes(), timeout=60).raise_for_status()
            factory, intake = fresh(folder, "files")
            base = timed("files (baseline)", args.count, lambda: _summary(
                import_images(factory=factory, intake=intake, paths=paths, actor="bench")))  # fmt: skip
            rates: dict[int, float] = {}
            for n, parallel in enumerate((1, 2, 1, 2)):  # alternated: this machine's load varies
                factory, intake = fresh(folder, f"dicomweb{n}")
                remote = Remote(f"{url}/dicom-web", parallel=parallel)

                def web(factory=factory, intake=intake, remote=remote) -> str:  # noqa: ANN001
                    report = import_dicomweb(
                        factory=factory, intake=intake, remote=remote, query=Query(), actor="b"
                    )
                    return _summary(report)

                rate = timed(f"dicomweb, {parallel} at a time", args.count, web)
                rates[parallel] = max(rates.get(parallel, 0.0), rate)
            timed("dicomweb resume (re-run)", args.count, web)
            web_rate = max(rates.values())
            factory, intake = fresh(folder, "receiver")
            config = ReceiverConfig(ae_title="CHESTX", port=0, allow=("BENCH",))
            with Receiver(factory=factory, intake=intake, config=config) as receiver:
                store_rate = timed("receiver (C-STORE)", args.count, lambda: _send(receiver.port, paths))
        finally:
            process.terminate()
            process.wait(timeout=30)
        print(f"ratio to the file import: dicomweb {web_rate / base:.2f}, receiver {store_rate / base:.2f}")


def _summary(report) -> str:  # noqa: ANN001
    r = report
    return f"{len(r.imported)} imported, {len(r.recognised)} recognised, {len(r.rejected)} rejected"


def _send(port: int, paths: list[Path]) -> str:
    ae = AE(ae_title="BENCH")
    ae.add_requested_context(DigitalXRayImageStorageForPresentation, [ExplicitVRLittleEndian])
    assoc = ae.associate("127.0.0.1", port, ae_title="CHESTX")
    statuses = [assoc.send_c_store(pydicom.dcmread(p)).Status for p in paths]
    assoc.release()
    return f"{statuses.count(0)} stored"


if __name__ == "__main__":
    main()
