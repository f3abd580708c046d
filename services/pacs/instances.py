"""One DICOM instance from a PACS, taken in: selected, de-identified, stored once, recorded.

Contract: :func:`take_instance` is what the DICOMweb import and the C-STORE receiver do with each
instance they get as bytes. An instance already imported (by a keyed hash of its SOP Instance
UID, :class:`review_db.models.ImportedInstance`) is recognised without being decoded; otherwise it
goes through :meth:`services.importing.Intake.prepare_bytes` (the file import's validation and
de-identification), is skipped with a reason when :class:`Selection` does not want it (modality,
body part), and is stored by :func:`services.importing.store_prepared` (the same pixels are the
same study) in one unit of work with its instance key and its count in the import's record.
Items are named by :func:`instance_label`, a keyed pseudonym: never a UID or a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from imaging import ImageRejected
from imaging.deid import keyed_hex
from review_db.engine import session_scope
from review_db.models import ImportedInstance
from services.import_runs import ImportRecorder
from services.importing import ImportReport, Intake, store_prepared
from vocab.imports import Outcome

CHEST_RADIOGRAPHY = frozenset({"CR", "DX"})


def _code(value: object) -> str:
    """A code string as a person may read it: upper case, letters, digits and spaces, 16 at most."""
    return re.sub(r"[^A-Z0-9 _]", "", str(value or "").strip().upper())[:16]


@dataclass(frozen=True)
class Selection:
    """Which instances an import wants: these modalities and body parts (empty: any body part)."""

    modalities: frozenset[str] = CHEST_RADIOGRAPHY
    body_parts: frozenset[str] = frozenset({"CHEST"})

    def why_not(self, *, modality: object, body_part: object) -> str | None:
        """None when wanted, else why not (a sentence naming the code found and the one wanted)."""
        found_modality, found_part = _code(modality), _code(body_part)
        wanted = " or ".join(sorted(self.modalities))
        if found_modality not in self.modalities:
            return f"modality {found_modality or 'not recorded'}, not {wanted}"
        if self.body_parts and found_part not in self.body_parts:
            parts = " or ".join(sorted(self.body_parts))
            return (
                f"body part {found_part}, not {parts}"
                if found_part
                else f"no body part recorded (wanted {parts})"
            )
        return None


def instance_key(key: bytes, sop_instance_uid: str) -> str:
    """The keyed hash that says an instance was imported (64 hex; no UID kept)."""
    return keyed_hex(key, "sop-instance", sop_instance_uid.strip())


def instance_label(key: bytes, sop_instance_uid: str) -> str:
    """How an instance is named in reports and records: ``instance <12 hex of its key>``."""
    return f"instance {instance_key(key, sop_instance_uid)[:12]}"


@dataclass
class Tally:
    """What one import did: the report (named items) and, when recorded, the import's row."""

    report: ImportReport
    recorder: ImportRecorder | None = None

    def add(self, outcome: Outcome, label: str, reason: str = "", *, session: Session | None = None) -> None:
        """Count one item in the record (in ``session`` when given) and then in the report."""
        if self.recorder is not None:
            self.recorder.count(outcome, label, reason, session=session)
        self.note(outcome, label, reason)

    def note(self, outcome: Outcome, label: str, reason: str = "") -> None:
        """Count one item in the report only (the record counted it in the unit of work)."""
        if outcome is Outcome.imported:
            self.report.imported.append(label)
        elif outcome is Outcome.recognised:
            self.report.recognised.append(label)
        else:
            (self.report.skipped if outcome is Outcome.skipped else self.report.rejected).append(
                (label, reason)
            )

    @property
    def done(self) -> int:
        r = self.report
        return len(r.imported) + len(r.recognised) + len(r.skipped) + len(r.rejected)


def is_known(*, factory: sessionmaker[Session], intake: Intake, sop_instance_uid: str) -> bool:
    """Whether this instance was imported before (a re-run skips it without retrieving it)."""
    with factory() as session:
        return session.get(ImportedInstance, instance_key(intake.key, sop_instance_uid)) is not None


def take_instance(
    *,
    factory: sessionmaker[Session],
    intake: Intake,
    selection: Selection,
    data: bytes,
    sop_instance_uid: str,
    actor: str,
    tally: Tally,
) -> tuple[Outcome, str, str]:
    """Take in one instance (its DICOM file bytes), counted in ``tally``: (outcome, the instance's
    label, the reason it was skipped or rejected)."""
    label = instance_label(intake.key, sop_instance_uid)
    if is_known(factory=factory, intake=intake, sop_instance_uid=sop_instance_uid):
        tally.add(Outcome.recognised, label)
        return Outcome.recognised, label, ""
    try:
        prepared = intake.prepare_bytes(data, label=label)
    except ImageRejected as exc:
        tally.add(Outcome.rejected, label, exc.reason)
        return Outcome.rejected, label, exc.reason
    reason = selection.why_not(modality=prepared.modality, body_part=prepared.body_part)
    if reason:
        tally.add(Outcome.skipped, label, reason)
        return Outcome.skipped, label, reason
    key = instance_key(intake.key, sop_instance_uid)
    for attempt in (1, 2):  # a concurrent writer of the same image wins; the retry recognises it
        try:
            with session_scope(factory, actor=actor) as session:
                study, created = store_prepared(session=session, intake=intake, prepared=prepared)
                import_id = tally.recorder.import_id if tally.recorder else None
                session.merge(ImportedInstance(instance_key=key, study_id=study.id, import_id=import_id))
                outcome = Outcome.imported if created else Outcome.recognised
                if tally.recorder is not None:
                    tally.recorder.count(outcome, label, session=session)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    tally.note(outcome, label)
    tally.report.warnings.extend((label, w) for w in prepared.warnings)
    return outcome, label, ""
