"""Importing studies and predictions into the review database.

Each file is its own unit of work: a bad file is reported (file name and reason) and writes
nothing, while the good files of the same batch are imported. A file that fails after its image
was stored has that image removed again by the rollback hook in :func:`services.add_study`.

The per-item intake is shared with the PACS imports (:mod:`services.pacs`): an instance received
over the network is prepared by :meth:`Intake.prepare_bytes`, which reads it back through the same
:func:`imaging.prepare_image` as a file (one de-identification), and stored by :func:`store_prepared`
(one duplicate rule: the same decoded pixels are the same study). ``progress`` callbacks see
(done, total) after each item; an :class:`~services.import_runs.ImportRecorder` records the import
as a row of ``imports`` for the admin page.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from imaging import ImageRejected, PreparedImage, prepare_image
from reasoner.answers import parse_answer
from reasoner.parsing import parse_output
from review_db.engine import session_scope
from review_db.errors import ChestXError, ValidationError
from review_db.models import Case, Study
from review_db.store import cases as case_svc
from review_db.types import ChainSource, ChainStatus, TaskType
from services.import_runs import ImportRecorder
from vocab.imports import Outcome

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".dcm", ".dicom", ".png", ".jpg", ".jpeg", ""}
# Told (items done, items in all; None while unknown) after each item, and once before the first.
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class Intake:
    """How images come in: the key of the keyed pseudonyms, the date shift, the limits on a file,
    where the de-identified payloads are stored, and the reviews a new case needs (the
    composition root builds it from its settings: :func:`chestx.compose.intake`)."""

    key: bytes
    image_dir: Path
    date_shift_max_days: int = 365
    max_pixels: int = 50_000_000
    max_bytes: int = 200 * 1024 * 1024
    required_reviews: int = 1

    def prepare(
        self, path: Path, *, base_dir: Path | None = None, patient_id: str | None = None
    ) -> PreparedImage:
        """Validate, decode and de-identify one file (ImageRejected says why not); ``patient_id``
        names the patient of a file that carries none (a PNG), for its keyed pseudonym."""
        return prepare_image(
            path,
            key=self.key,
            date_shift_max_days=self.date_shift_max_days,
            max_pixels=self.max_pixels,
            max_bytes=self.max_bytes,
            base_dir=base_dir,
            patient_id=patient_id,
        )

    def prepare_bytes(self, data: bytes, *, label: str) -> PreparedImage:
        """Validate, decode and de-identify a DICOM instance received as bytes (DICOMweb, C-STORE).

        The bytes go to a private temporary file read back by :meth:`prepare`, so an instance from
        the network meets the same limits, decoder and de-identification as a file. A rejection
        names ``label`` (no PHI), not the temporary file.
        """
        if len(data) > self.max_bytes:
            raise ImageRejected(label, f"is {len(data)} bytes, over the limit of {self.max_bytes}")
        with tempfile.TemporaryDirectory(prefix="chestx-intake-") as folder:
            path = Path(folder) / "instance.dcm"
            path.write_bytes(data)
            try:
                return self.prepare(path)
            except ImageRejected as exc:
                raise ImageRejected(label, exc.reason) from None


def store_prepared(
    *, session: Session, intake: Intake, prepared: PreparedImage, is_demo: bool = False
) -> tuple[Study, bool]:
    """Store a prepared image's payload and study row in ``session``: (study, created). The same
    decoded pixels already stored are recognised (``created`` False) and nothing is written."""
    return case_svc.add_study(
        session=session, prepared=prepared, image_root=intake.image_dir, is_demo=is_demo
    )


@dataclass
class ImportReport:
    """What a batch import did: one entry per file or item."""

    imported: list[str] = field(default_factory=list)
    recognised: list[str] = field(default_factory=list)  # already in the database
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file or item, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # not wanted here (PACS imports), why
    warnings: list[tuple[str, str]] = field(default_factory=list)
    case_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


def expand_paths(paths: Iterable[Path]) -> Iterator[tuple[Path, Path | None]]:
    """Each file to import with the folder it must stay inside.

    A file named directly comes with None (the caller chose it, a link included); an image file
    found under a named folder (sorted, recursive; links to folders are not descended) comes with
    that folder, so that one which is a link leading out of it is refused by name ("escapes its
    folder") instead of being read. A link whose target is gone is listed too: it is reported.
    """
    for path in paths:
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            files = sorted(p for p in found if p.is_file() or (p.is_symlink() and not p.is_dir()))
            yield from ((p, path) for p in files)
        else:
            yield path, None


def import_images(
    *,
    factory: sessionmaker[Session],
    intake: Intake,
    paths: Sequence[Path],
    actor: str,
    question: str | None = None,
    options: Sequence[str] = (),
    task_type: TaskType | str | None = None,
    report: str | None = None,
    reference_answer: str | None = None,
    required_reviews: int | None = None,
    base_dir: Path | None = None,
    is_demo: bool = False,
    progress: Progress | None = None,
    recorder: ImportRecorder | None = None,
) -> ImportReport:
    """Import image files; with a ``question``, also create a case per image.

    ``progress`` is told (done, total) as files are done; ``recorder`` records each file's outcome
    in its ``imports`` row (by position: a file name may carry a patient's name) and finishes it.
    """

    case_kw: dict[str, Any] | None = None
    if question:
        case_kw = {
            "task_type": task_type or infer_task_type(options, reference_answer),
            "question": question,
            "options": options,
            "report": report,
            "reference_answer": reference_answer,
            "required_reviews": required_reviews or intake.required_reviews,
            "is_demo": is_demo,
        }
    files = list(expand_paths(paths))
    if recorder is not None:
        recorder.set_total(len(files))
    if progress is not None:
        progress(0, len(files))
    result = ImportReport()
    try:
        for number, (path, folder) in enumerate(files, start=1):
            inside = folder or base_dir  # a file found in a folder must not lead out of it
            _import_file(factory, intake, path, actor, result, case_kw, inside, is_demo, recorder, number)
            if progress is not None:
                progress(number, len(files))
    except BaseException as exc:  # interrupted (Ctrl-C) or a bug: the record says it stopped
        if recorder is not None:
            done = len(result.imported) + len(result.recognised) + len(result.rejected)
            recorder.finish(error=f"stopped after {done} of {len(files)} files ({type(exc).__name__})")
        raise
    if recorder is not None:
        recorder.finish()
    return result


def _import_file(
    factory: sessionmaker[Session],
    intake: Intake,
    path: Path,
    actor: str,
    result: ImportReport,
    case_kw: dict[str, Any] | None,
    base_dir: Path | None,
    is_demo: bool,
    recorder: ImportRecorder | None,
    number: int,
) -> None:
    """One file, its own unit of work: its study (and case), counted in ``result`` and the record."""
    name, item = str(path), f"file {number}"
    try:
        prepared = intake.prepare(path, base_dir=base_dir)
        with session_scope(factory, actor=actor) as session:
            study, created = store_prepared(
                session=session, intake=intake, prepared=prepared, is_demo=is_demo
            )
            if case_kw is not None:
                case = case_svc.create_case(session=session, study_id=study.id, **case_kw)
                result.case_ids.append(case.id)
            if recorder is not None:
                outcome = Outcome.imported if created else Outcome.recognised
                recorder.count(outcome, item, session=session)
    except (ImageRejected, ChestXError) as exc:
        result.rejected.append((name, str(exc)))
        if recorder is not None:
            recorder.count(Outcome.rejected, item, exc.reason if isinstance(exc, ImageRejected) else str(exc))
        return
    (result.imported if created else result.recognised).append(name)
    result.warnings.extend((name, w) for w in prepared.warnings)


def infer_task_type(options: Sequence[str], answer: str | None) -> TaskType:
    """Binary for yes/no options, multiple choice for several answer letters, else single choice."""
    if not options:
        return TaskType.open_findings
    if [o.strip().lower() for o in options] in (["yes", "no"], ["no", "yes"]):
        return TaskType.binary
    if answer and "," in answer.replace(" ", ""):
        return TaskType.multiple_choice
    return TaskType.single_choice


_OPTION_LINE = re.compile(r"^\s*([A-Z])[).:]\s*(.+?)\s*$")
_INSTRUCTION = re.compile(r"let'?s think step by step.*$", re.IGNORECASE | re.DOTALL)


def split_question(prompt: str) -> tuple[str, list[str]]:
    """ChestX-Reasoner's prompt -> (question stem, option texts).

    ``"Which findings ...? Options:\\nA) x\\nB) y\\nLet's think step by step. ..."``
    """
    body = _INSTRUCTION.sub("", prompt).strip()
    stem, _, rest = body.partition("Options:")
    options = []
    for line in rest.splitlines():
        m = _OPTION_LINE.match(line)
        if m:
            options.append(m.group(2))
    return stem.strip(), options


def _read_items(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{path}: neither JSON nor JSON lines ({exc.msg}, line {exc.lineno})"
            ) from None
    if isinstance(data, dict):
        data = data.get("data") or data.get("items") or [data]
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise ValidationError(f"{path}: expected a list of objects in ChestX-Reasoner's evaluation format")
    return data


def _steps_of(reason_steps: Any) -> list[str]:
    if isinstance(reason_steps, list):
        return [str(s).strip() for s in reason_steps if str(s).strip()]
    if isinstance(reason_steps, str) and reason_steps.strip():
        return list(parse_output(reason_steps).steps)
    return []


def import_predictions(
    *,
    factory: sessionmaker[Session],
    intake: Intake,
    path: Path,
    actor: str,
    images_root: Path | None = None,
    required_reviews: int | None = None,
    source_detail: str | None = None,
) -> ImportReport:
    """Import a file in ChestX-Reasoner's evaluation format: one case per item with two chains,
    the model's (``pred``, parsed into steps) and the reference (``reason_steps``, source
    "report"). Items already imported (same file name and index, or ``item_id``) are recognised.
    """

    result = ImportReport()
    for index, item in enumerate(_read_items(path)):
        label = f"{path.name}#{index}"
        external_id = str(item.get("item_id") or label)
        try:
            if not isinstance(item.get("question"), str) or not isinstance(item.get("pred"), str):
                raise ValidationError("an item needs 'question' and 'pred' strings")
            stem, options = split_question(item["question"])
            answer_text = re.sub(r"(?i)</?\s*answer\s*>", " ", str(item.get("answer") or ""))
            reference = parse_answer(answer_text, options=options).answer
            with session_scope(factory, actor=actor) as session:
                if session.scalar(select(Case.id).where(Case.external_id == external_id)) is not None:
                    result.recognised.append(label)
                    continue
                study_id = _item_study(session, intake, item, images_root, result, label)
                case = case_svc.create_case(
                    session=session,
                    study_id=study_id,
                    task_type=infer_task_type(options, reference),
                    question=stem,
                    options=options,
                    reference_answer=reference,
                    report=item.get("original_report") or None,
                    external_id=external_id,
                    required_reviews=required_reviews or intake.required_reviews,
                )
                ref_steps = _steps_of(item.get("reason_steps"))
                if ref_steps:
                    case_svc.add_chain(
                        session=session,
                        case_id=case.id,
                        steps=ref_steps,
                        final_answer=reference,
                        source=ChainSource.report,
                        source_detail=f"reason_steps of {path.name}",
                    )
                parsed = parse_output(item["pred"], options=options)
                case_svc.add_chain(
                    session=session,
                    case_id=case.id,
                    steps=list(parsed.steps),
                    final_answer=parsed.answer,
                    source=ChainSource.imported,
                    source_detail=source_detail or path.name,
                    raw_output=item["pred"],
                    flags=sorted(parsed.flags),
                    status=ChainStatus.malformed if parsed.malformed else ChainStatus.complete,
                )
                result.case_ids.append(case.id)
        except ChestXError as exc:
            result.rejected.append((label, str(exc)))
            continue
        result.imported.append(label)
    return result


def _item_study(
    session: Session,
    intake: Intake,
    item: dict[str, Any],
    images_root: Path | None,
    result: ImportReport,
    label: str,
) -> int | None:
    """The study of an item's image, imported on the way; None when the image is not available."""
    image = item.get("image_path") or item.get("image")
    if isinstance(image, list):
        image = image[0] if image else None
    if not image or images_root is None:
        result.warnings.append((label, "no image available: the case shows the report and reasoning only"))
        return None

    path = images_root / str(image)
    try:
        prepared = intake.prepare(path, base_dir=images_root)
    except ImageRejected as exc:
        raise ValidationError(str(exc)) from None
    study, _created = case_svc.add_study(session=session, prepared=prepared, image_root=intake.image_dir)
    result.warnings.extend((label, w) for w in prepared.warnings)
    return study.id
