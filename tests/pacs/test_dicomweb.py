"""``chestx import dicomweb`` against a real Orthanc: QIDO-RS filters, WADO-RS retrieval, the file
import's de-identification and duplicate rule, the skip reasons, the resume, and the record."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pydicom
import pytest
import requests
from sqlalchemy import func, select
from typer.testing import CliRunner

from imaging import load_payload
from review_db.models import AuditLog, ImportedInstance, ImportRun, Study
from services.pacs.dicomweb import Query, Remote, import_dicomweb
from tests.conftest import rg1_path
from tests.pacs.conftest import PATIENT_NAME, synthetic, tibia
from vocab.errors import ChestXError
from vocab.imports import ImportKind, ImportStatus


class CountingRemote(Remote):
    """The real client, with the URLs it fetched written down (to see what a re-run retrieves)."""

    def session(self) -> requests.Session:
        # One list for every session: the import makes one per retrieval thread, and a list
        # made anew per session lost what a thread that started earlier had fetched.
        session = super().session()
        if not hasattr(self, "fetched"):
            object.__setattr__(self, "fetched", [])
        session.hooks["response"].append(lambda r, *a, **k: self.fetched.append(r.url))
        return session


def _retrievals(remote: CountingRemote) -> int:
    return sum("/instances/" in url for url in remote.fetched)


def test_imports_chest_radiographs_skips_the_rest_and_resumes(db, orthanc, intake, tmp_path: Path) -> None:
    rg1 = [rg1_path("RG1_UNCI.dcm"), rg1_path("RG1_UNCR.dcm"), rg1_path("RG1_J2KR.dcm")]
    dx = synthetic(tmp_path / "in", "dx.dcm", seed=1)
    no_part = synthetic(tmp_path / "in", "nopart.dcm", body_part=None, seed=2)
    orthanc.upload(*rg1, dx, no_part, tibia())
    remote = CountingRemote(orthanc.dicomweb)
    seen: list[tuple[int, int | None]] = []

    report = import_dicomweb(
        factory=db.factory,
        intake=intake,
        remote=remote,
        query=Query(),
        actor="test",
        progress=lambda *p: seen.append(p),
    )

    # RG1_J2KR holds the same pixels as RG1_UNCR (lossless): one study, the second recognised.
    assert (len(report.imported), len(report.recognised), len(report.rejected)) == (3, 1, 0)
    reasons = sorted(reason for _, reason in report.skipped)
    assert reasons == ["body part EXTREMITY, not CHEST", "no body part recorded (wanted CHEST)"]
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    assert _retrievals(remote) == 5  # the tibia was skipped on what QIDO said, without retrieval
    with db.factory() as s:
        studies = s.scalars(select(Study)).all()
        assert len(studies) == 3 and {st.modality for st in studies} == {"CR", "DX"}
        assert s.scalar(select(func.count()).select_from(ImportedInstance)) == 4
        run = s.scalars(select(ImportRun)).one()
        assert (run.kind, run.status, run.source) == (
            ImportKind.dicomweb,
            ImportStatus.done,
            orthanc.dicomweb,
        )
        assert (run.total, run.imported, run.recognised, run.skipped, run.rejected) == (6, 3, 1, 2, 0)
        assert {p[2] for p in run.problems} == set(reasons)
        # Started and finished are audited; the per-instance counts are not.
        assert s.scalar(select(func.count()).where(AuditLog.entity == "imports")) == 2
    for study in studies:  # de-identified as a file import is: no name, ID or accession left
        payload = load_payload(root=intake.image_dir, relative_path=study.stored_path)
        assert (
            PATIENT_NAME.encode() not in payload
            and b"PACS-0001" not in payload
            and b"ACC-0001" not in payload
        )
        assert str(pydicom.dcmread(io.BytesIO(payload)).PatientName).startswith("P-")

    again = CountingRemote(orthanc.dicomweb)
    second = import_dicomweb(factory=db.factory, intake=intake, remote=again, query=Query(), actor="test")
    assert (len(second.imported), len(second.recognised), len(second.skipped)) == (0, 4, 2)
    assert _retrievals(again) == 1  # only the instance without a body part, skipped after retrieval


def test_the_query_filters_by_date_range_accession_and_modality(
    sqlite_db, orthanc, intake, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    orthanc.upload(
        synthetic(folder, "old.dcm", study_date="20190101", accession="A-OLD", seed=3),
        synthetic(folder, "new.dcm", study_date="20240601", accession="A-NEW", seed=4),
        synthetic(folder, "cr.dcm", modality="CR", study_date="20240602", accession="A-CR", seed=5),
    )
    remote = Remote(orthanc.dicomweb)

    def run(query: Query) -> int:
        return len(
            import_dicomweb(
                factory=sqlite_db.factory, intake=intake, remote=remote, query=query, actor="t"
            ).imported
        )

    assert run(Query(modalities=("DX",), study_date_from=dt.date(2024, 1, 1))) == 1  # new.dcm
    assert run(Query(accession="A-OLD")) == 1
    assert run(Query(study_date_to=dt.date(2024, 12, 31))) == 1  # cr.dcm: the other two are here
    with sqlite_db.factory() as s:
        assert s.scalar(select(func.count()).select_from(Study)) == 3


def test_an_unreachable_server_fails_with_a_message_and_a_failed_record(sqlite_db, intake, tmp_path) -> None:  # noqa: ANN001
    from tests.pacs.conftest import free_port

    remote = Remote(f"http://127.0.0.1:{free_port()}/dicom-web", timeout_s=5, attempts=1)
    with pytest.raises(ChestXError, match=r"DICOMweb server http://127\.0\.0\.1:\d+/dicom-web failed"):
        import_dicomweb(factory=sqlite_db.factory, intake=intake, remote=remote, query=Query(), actor="t")
    with sqlite_db.factory() as s:
        run = s.scalars(select(ImportRun)).one()
        assert run.status is ImportStatus.failed and "answering the query (ConnectionError)" in run.error


def test_credentials_never_reach_the_record() -> None:
    remote = Remote(
        "https://radiology:s3cret@pacs.example:8443/dicom-web?token=abc#x", user="u", password="p"
    )
    assert remote.source == "https://pacs.example:8443/dicom-web"
    assert "password" not in repr(remote)
    assert remote.session().auth == ("u", "p")
    # Uncompressed pixel data is not gzipped by the server unless asked (costly, see Remote).
    assert remote.session().headers["Accept-Encoding"] == "identity"
    assert Remote("http://x", compress=True).session().headers.get("Accept-Encoding") != "identity"


def test_cli_imports_with_a_progress_bar_and_a_summary(settings, orthanc, tmp_path: Path) -> None:
    from chestx.cli import app

    orthanc.upload(rg1_path("RG1_UNCR.dcm"), tibia(), synthetic(tmp_path, "dx.dcm", seed=6))
    result = CliRunner().invoke(app, ["import", "dicomweb", orthanc.dicomweb])
    assert result.exit_code == 0, result.output
    assert re.search(r"importing instances: +\d+%\|.*\| \d/3 \[", result.stderr)  # the tqdm bar, total known
    assert "skipped: instance " in result.stderr and "body part EXTREMITY, not CHEST" in result.stderr
    assert result.stdout.strip().endswith("2 instances imported, 0 already present, 1 skipped, 0 rejected")
    again = CliRunner().invoke(app, ["import", "dicomweb", orthanc.dicomweb])
    assert "0 instances imported, 2 already present, 1 skipped, 0 rejected" in again.stdout
    refused = CliRunner().invoke(app, ["import", "dicomweb", "http://me:pw@127.0.0.1:1/dicom-web"])
    assert refused.exit_code == 1 and "--password-file" in refused.stderr
