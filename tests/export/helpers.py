"""Helpers of the export tests: reviews through the real services, DICOMs with PHI markers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from review_db import store
from review_db.models import Chain, User
from review_db.types import StepKind

LEASE = dt.timedelta(minutes=15)
KEY = b"export-test-key-0123456789abcdef"

# Unique strings planted in DICOM headers: none may appear in any exported byte.
PHI = {
    "PatientName": "Zyxwarble^Quendolyn",
    "PatientID": "PID-7739-QX",
    "InstitutionName": "Saint Marklewood Infirmary",
    "ReferringPhysicianName": "Drobnik^Halvard",
    "OtherPatientIDs": "ALTID-55821",
    "PatientAddress": "17 Wimbrelane Court",
    "AccessionNumber": "ACC99173X",
    "StudyDescription": "CHEST PA Zyxwarble",
    "OperatorsName": "Plimsworth^Tegan",
    "StationName": "XRAYSTN-QQ7",
    "PatientBirthDate": "19470312",
}
PRIVATE_MARKER = "PRIVMARK-Ql3kz9"


def model_steps(chain: Chain) -> list[Any]:
    return sorted((s for s in chain.steps if s.kind is StepKind.model), key=lambda s: s.position)


def review(
    session: Session,
    chain: Chain,
    reviewer: User,
    verdicts: Sequence[str | tuple[str, str]],
    *,
    answer: str | None = None,
    added: Sequence[tuple[int, str]] = (),
    adjudication: bool = False,
) -> None:
    """``reviewer`` judges every model step of ``chain`` and submits; ``answer`` disagrees."""
    store.claim_case(session=session, case_id=chain.case_id, reviewer_id=reviewer.id, lease=LEASE)
    for step, verdict in zip(model_steps(chain), verdicts, strict=True):
        value, text = verdict if isinstance(verdict, tuple) else (verdict, None)
        store.record_verdict(
            session=session,
            step_id=step.id,
            reviewer_id=reviewer.id,
            verdict=value,
            corrected_text=text,
            lease=LEASE,
        )
    for after, text in added:
        store.add_step(
            session=session,
            chain_id=chain.id,
            reviewer_id=reviewer.id,
            after_position=after,
            text=text,
            lease=LEASE,
        )
    store.submit_review(
        session=session,
        chain_id=chain.id,
        reviewer_id=reviewer.id,
        answer_verdict="disagree" if answer else "agree",
        corrected_answer=answer,
        is_adjudication=adjudication,
        time_spent_s=42.0,
        lease=LEASE,
    )


def phi_dicom(tmp: Path, source: Path, *, n: int) -> Path:
    """A copy of a real radiograph whose header carries the PHI markers (made unique by ``n``)."""
    import pydicom

    ds = pydicom.dcmread(source)
    for keyword, value in PHI.items():
        setattr(ds, keyword, value if keyword == "PatientBirthDate" else f"{value}")
    ds.PatientID = f"{PHI['PatientID']}-{n}"
    ds.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.{n + 1}"
    ds.StudyInstanceUID = f"1.2.826.0.1.3680043.8.499.{n + 1}"
    block = ds.private_block(0x0011, "ACME PHI CARRIER", create=True)
    block.add_new(0x01, "LO", PRIVATE_MARKER)
    # Different pixels per copy, so each file is its own study (studies are keyed by pixels).
    pixels = bytearray(ds.PixelData)
    pixels[0:2] = (n % 256, n // 256)
    ds.PixelData = bytes(pixels)
    path = tmp / f"phi-{n}.dcm"
    ds.save_as(path)
    return path


def phi_strings() -> list[bytes]:
    """Every marker, in the encodings an export could carry it."""
    values = [*PHI.values(), PRIVATE_MARKER, "Zyxwarble", "Quendolyn", "Marklewood", "Drobnik", "Wimbrelane"]
    values = [v for v in values if v != PHI["PatientBirthDate"]]
    out = []
    for v in values:
        out += [v.encode(), v.upper().encode(), v.encode("utf-16-le"), json.dumps(v).encode()]
    return out


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
