"""``chestx receive``: the C-STORE receiver, sent to by a pynetdicom SCU, by pynetdicom's storescu
and by a real Orthanc ("send to modality"); the allow-list; each association recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless
from pynetdicom import AE
from pynetdicom.sop_class import (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    Verification,
)
from sqlalchemy import func, select
from typer.testing import CliRunner

from review_db.models import ImportRun, Study
from services.pacs.receiver import Receiver, ReceiverConfig
from tests.conftest import rg1_path
from tests.pacs.conftest import ORTHANC_AE, RECEIVER_AE, free_port, synthetic, tibia
from vocab.imports import ImportKind, ImportStatus

SENDER = "STORESCU"


def _scu(title: str = SENDER) -> AE:
    ae = AE(ae_title=title)
    for sop_class in (ComputedRadiographyImageStorage, DigitalXRayImageStorageForPresentation):
        for syntax in (ExplicitVRLittleEndian, JPEG2000Lossless):  # one context each: both accepted
            ae.add_requested_context(sop_class, [syntax])
    ae.add_requested_context(Verification)
    return ae


def _send(port: int, paths: list[Path], *, title: str = SENDER, called: str = RECEIVER_AE) -> list[object]:
    """C-STORE each file in one association; the status datasets (None when refused)."""
    assoc = _scu(title).associate("127.0.0.1", port, ae_title=called)
    if not assoc.is_established:
        return [None] * len(paths)
    try:
        return [assoc.send_c_store(pydicom.dcmread(p)) for p in paths]
    finally:
        assoc.release()


def _wait_for(check, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _corrupt(folder: Path) -> Path:
    """A DX whose pixel data is cut short: the intake rejects it."""
    path = synthetic(folder, "short.dcm", seed=9)
    ds = pydicom.dcmread(path)
    ds.PixelData = ds.PixelData[:100]
    ds.save_as(path, enforce_file_format=True)
    return path


def test_receives_chest_radiographs_and_records_each_association(sqlite_db, intake, tmp_path: Path) -> None:
    config = ReceiverConfig(ae_title=RECEIVER_AE, port=0, allow=(SENDER,))
    heard: list[tuple[str, str]] = []
    with Receiver(
        factory=sqlite_db.factory,
        intake=intake,
        config=config,
        listener=lambda s, o, label, r: heard.append((s, o)),
    ) as receiver:
        paths = [rg1_path("RG1_UNCI.dcm"), rg1_path("RG1_J2KR.dcm"), rg1_path("RG1_UNCR.dcm")]
        paths += [synthetic(tmp_path, "dx.dcm", seed=1), tibia(), _corrupt(tmp_path)]
        statuses = _send(receiver.port, paths)
        again = _send(receiver.port, paths[:1])  # a second association: recognised by its UID
        _wait_for(lambda: _records(sqlite_db, ImportStatus.done) == 2)

    assert [s.Status for s in statuses] == [0, 0, 0, 0, 0, 0xC000]
    assert statuses[-1].ErrorComment == "has pixel data that cannot be decoded: the pixel data is shorter"
    assert again[0].Status == 0
    assert [o for _, o in heard] == [
        "imported",
        "imported",
        "recognised",
        "imported",
        "skipped",
        "rejected",
        "recognised",
    ]
    with sqlite_db.factory() as s:
        assert s.scalar(select(func.count()).select_from(Study)) == 3
        first, second = s.scalars(select(ImportRun).order_by(ImportRun.id)).all()
    assert (first.kind, first.source) == (
        ImportKind.receiver,
        f"{SENDER} to {RECEIVER_AE} (port {receiver.port})",
    )
    assert (first.imported, first.recognised, first.skipped, first.rejected) == (3, 1, 1, 1)
    assert [p[2] for p in first.problems if p[0] == "skipped"] == ["body part EXTREMITY, not CHEST"]
    assert (second.imported, second.recognised) == (0, 1)


def _records(database, status: ImportStatus) -> int:  # noqa: ANN001
    with database.factory() as s:
        return s.scalar(select(func.count()).select_from(ImportRun).where(ImportRun.status == status))


def test_an_ae_title_not_on_the_allow_list_is_refused(sqlite_db, intake) -> None:  # noqa: ANN001
    config = ReceiverConfig(ae_title=RECEIVER_AE, port=0, allow=(SENDER,))
    with Receiver(factory=sqlite_db.factory, intake=intake, config=config) as receiver:
        rogue = _scu("ROGUE").associate("127.0.0.1", receiver.port, ae_title=RECEIVER_AE)
        assert rogue.is_rejected
        wrong_called = _scu(SENDER).associate("127.0.0.1", receiver.port, ae_title="SOMEONE")
        assert wrong_called.is_rejected
        allowed = _scu(SENDER).associate("127.0.0.1", receiver.port, ae_title=RECEIVER_AE)
        assert allowed.is_established and allowed.send_c_echo().Status == 0
        allowed.release()
    with sqlite_db.factory() as s:  # an echo and refusals store nothing and record nothing
        assert s.scalar(select(func.count()).select_from(ImportRun)) == 0


def test_orthanc_sends_to_the_receiver(sqlite_db, intake, orthanc, tmp_path: Path) -> None:  # noqa: ANN001
    config = ReceiverConfig(ae_title=RECEIVER_AE, port=orthanc.receiver_port, allow=(ORTHANC_AE,))
    ids = orthanc.upload(rg1_path("RG1_UNCR.dcm"), synthetic(tmp_path, "dx.dcm", seed=2), tibia())
    with Receiver(factory=sqlite_db.factory, intake=intake, config=config):
        assert (
            httpx.post(f"{orthanc.url}/modalities/chestx/echo", content="{}", timeout=30).status_code == 200
        )
        sent = httpx.post(
            f"{orthanc.url}/modalities/chestx/store", json={"Resources": ids, "Synchronous": True}, timeout=60
        )
        assert sent.status_code == 200, sent.text
        _wait_for(lambda: _records(sqlite_db, ImportStatus.done) == 1)
    with sqlite_db.factory() as s:
        assert s.scalar(select(func.count()).select_from(Study)) == 2
        run = s.scalars(select(ImportRun)).one()
    assert run.source.startswith(f"{ORTHANC_AE} to {RECEIVER_AE}")
    assert (run.imported, run.skipped, run.rejected) == (2, 1, 0)


def test_chestx_receive_with_pynetdicoms_storescu(settings, tmp_path: Path) -> None:  # noqa: ANN001
    from chestx.cli import app

    port = free_port()
    folder = tmp_path / "send"
    synthetic(folder, "a.dcm", seed=3)
    synthetic(folder, "b.dcm", seed=4, body_part="SKULL")
    outcome: dict[str, object] = {}

    def send_then_stop() -> None:
        _wait_for(lambda: _listening(port))
        command = [sys.executable, "-m", "pynetdicom", "storescu", "127.0.0.1", str(port), str(folder)]
        command += ["-aet", SENDER, "-aec", RECEIVER_AE, "-q"]
        outcome["storescu"] = subprocess.run(command, capture_output=True, timeout=60).returncode
        outcome["rogue"] = _send(port, [folder / "a.dcm"], title="ROGUE")[0]
        os.kill(os.getpid(), signal.SIGTERM)  # what a service manager sends to stop it

    thread = threading.Thread(target=send_then_stop)
    thread.start()
    args = ["receive", "--port", str(port), "--ae-title", RECEIVER_AE, "--allow", SENDER]
    result = CliRunner().invoke(app, args)
    thread.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert outcome == {"storescu": 0, "rogue": None}
    assert f"listening on 127.0.0.1:{port} as {RECEIVER_AE}; accepting {SENDER}" in result.stderr
    assert f"{SENDER}: skipped instance" in result.stderr and "body part SKULL, not CHEST" in result.stderr
    assert "received 2 instances: 1 imported, 0 recognised, 1 skipped, 0 rejected" in result.stdout


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "needs --allow"),
        (["--ae-title", "A\\B"], "is not an AE title"),
        (["--allow", "x" * 17], "is not an AE title"),
    ],
)
def test_chestx_receive_refuses_unsafe_or_bad_options(settings, args: list[str], message: str) -> None:  # noqa: ANN001
    from chestx.cli import app

    result = CliRunner().invoke(app, ["receive", "--port", "0", *args])
    assert result.exit_code == 1 and message in result.stderr
