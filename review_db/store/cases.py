"""Studies, cases and chains: creating them and reading them back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from imaging.storage import remove_payload, store_payload
from review_db.errors import ValidationError
from review_db.identifiers import redact
from review_db.models import Case, Chain, ModelVersion, Step, Study
from review_db.store.common import check_version, get_or_raise, on_rollback
from review_db.types import CaseStatus, ChainSource, ChainStatus, StepKind, TaskType

OPTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def add_study(
    *, session: Session, prepared: Any, image_root: Path, is_demo: bool = False
) -> tuple[Study, bool]:
    """Store a prepared (de-identified) image and its study row; returns (study, created).

    ``prepared`` is a :class:`imaging.PreparedImage`. A re-import of the same pixels
    returns the existing study and writes nothing. If the transaction rolls back, a file this
    call created is removed again, so a failed import leaves no stored file behind.
    """

    existing = session.scalar(select(Study).where(Study.image_sha256 == prepared.sha256))
    if existing is not None:
        return existing, False
    rel_path, created = store_payload(
        root=image_root, sha256=prepared.sha256, suffix=prepared.suffix, payload=prepared.payload
    )
    if created:
        on_rollback(session, lambda: remove_payload(root=image_root, relative_path=rel_path))
    study = Study(
        image_sha256=prepared.sha256,
        stored_path=str(rel_path),
        source_format=prepared.source_format,
        patient_pseudonym=prepared.patient_pseudonym,
        study_pseudonym=prepared.study_pseudonym,
        modality=prepared.modality,
        view=prepared.view,
        body_part=prepared.body_part,
        acquisition_date=prepared.acquisition_date,
        width=prepared.width,
        height=prepared.height,
        bits_stored=prepared.bits_stored,
        photometric=prepared.photometric,
        window_presets={k: list(v) for k, v in dict(prepared.window_presets).items()},
        warnings=list(prepared.warnings),
        is_demo=is_demo,
    )
    session.add(study)
    session.flush()
    return study, True


def normalise_answer(answer: str | None, options: Sequence[str]) -> str | None:
    """'c', ' C ', 'A, c' -> 'C', 'A,C', validated against the options; without options (open
    questions) the answer is free text, kept with its whitespace collapsed."""
    if answer is None or not answer.strip():
        return None
    if not options:
        return " ".join(answer.split())
    letters = sorted({part.strip().upper() for part in answer.replace(";", ",").split(",") if part.strip()})
    allowed = set(OPTION_LETTERS[: len(options)])
    if any(x not in allowed for x in letters):
        last = OPTION_LETTERS[len(options) - 1]
        raise ValidationError(f"answer {answer!r} is not among the options A-{last}")
    return ",".join(letters)


def create_case(
    *,
    session: Session,
    study_id: int | None,
    task_type: TaskType | str,
    question: str,
    options: Sequence[str] = (),
    reference_answer: str | None = None,
    report: str | None = None,
    prior_study_id: int | None = None,
    required_reviews: int = 1,
    priority: int = 0,
    external_id: str | None = None,
    is_demo: bool = False,
) -> Case:
    """Create a case (a question about a study). Raises ValidationError for inconsistent input.

    A report is stored with anything that looks like an identifier (a full date, a name after a
    title, a phone number, ...) replaced by ``[REDACTED]`` (:func:`review_db.identifiers.redact`).
    """
    try:
        task_type = TaskType(task_type)
    except ValueError:
        raise ValidationError(f"unknown task type {task_type!r}") from None
    if not question.strip():
        raise ValidationError("a case needs a question")
    if task_type in (TaskType.single_choice, TaskType.multiple_choice) and len(options) < 2:
        raise ValidationError(f"a {task_type.value} case needs at least two options")
    if task_type is TaskType.temporal and prior_study_id is None:
        raise ValidationError("a temporal case needs a prior study")
    if required_reviews < 1:
        raise ValidationError("required_reviews must be at least 1")
    if study_id is not None:
        get_or_raise(session, Study, study_id)
    if prior_study_id is not None:
        get_or_raise(session, Study, prior_study_id)
    case = Case(
        study_id=study_id,
        prior_study_id=prior_study_id,
        task_type=task_type,
        question=question.strip(),
        options=[o.strip() for o in options],
        reference_answer=normalise_answer(reference_answer, options),
        report=redact(report)[0] if report else report,
        required_reviews=required_reviews,
        priority=priority,
        external_id=external_id,
        is_demo=is_demo,
        status=CaseStatus.open,
        review_count=0,
    )
    session.add(case)
    session.flush()
    return case


def update_case(*, session: Session, case_id: int, expected_version: int, **changes: Any) -> Case:
    """Edit a case's question, options, reference answer, report, priority or status."""
    allowed = {"question", "options", "reference_answer", "report", "priority", "status", "required_reviews"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"cannot change {', '.join(sorted(unknown))}")
    case = get_or_raise(session, Case, case_id)
    check_version(case, expected_version)
    if "reference_answer" in changes:
        changes["reference_answer"] = normalise_answer(
            changes["reference_answer"], changes.get("options", case.options)
        )
    if changes.get("report"):
        changes["report"] = redact(changes["report"])[0]
    for key, value in changes.items():
        setattr(case, key, value)
    session.flush()
    return case


def add_chain(
    *,
    session: Session,
    case_id: int,
    steps: Sequence[str],
    final_answer: str | None,
    source: ChainSource | str,
    raw_output: str = "",
    source_detail: str = "",
    model_version_id: int | None = None,
    status: ChainStatus | str = ChainStatus.complete,
    flags: Sequence[str] = (),
    generation_params: dict[str, Any] | None = None,
) -> Chain:
    """Store a whole chain with its steps in one go (a chain is never stored half).

    An answer outside the case's options is kept verbatim but flagged, so the reviewer sees it.
    """
    case = get_or_raise(session, Case, case_id)
    flags = list(dict.fromkeys(flags))
    status = ChainStatus(status)
    answer = final_answer
    try:
        answer = normalise_answer(final_answer, case.options)
    except ValidationError:
        flags.append("answer_outside_options")
    if not steps:
        flags.append("no_steps")
        status = ChainStatus.malformed if status is ChainStatus.complete else status
    chain = Chain(
        case_id=case.id,
        source=ChainSource(source),
        source_detail=source_detail,
        model_version_id=model_version_id,
        raw_output=raw_output,
        final_answer=answer,
        status=status,
        flags=sorted(set(flags)),
        generation_params=generation_params or {},
    )
    chain.steps = [Step(position=i, kind=StepKind.model, text=text) for i, text in enumerate(steps)]
    session.add(chain)
    session.flush()
    return chain


def current_chain(*, session: Session, case_id: int) -> Chain | None:
    """The chain reviewers see for a case: the newest model chain, else the newest of any source.

    Chains mined from the report serve as the reference when a model chain exists.
    """
    newest_first = select(Chain).where(Chain.case_id == case_id).order_by(Chain.id.desc()).limit(1)
    chain = session.scalar(newest_first.where(Chain.source != ChainSource.report))
    return chain or session.scalar(newest_first)


def reference_chain(*, session: Session, case_id: int) -> Chain | None:
    """The newest chain mined from the case's report (the reference steps), if any."""
    return session.scalar(
        select(Chain)
        .where(Chain.case_id == case_id, Chain.source == ChainSource.report)
        .order_by(Chain.id.desc())
        .limit(1)
    )


def ordered_steps(chain: Chain, *, reviewer_id: int | None = None) -> list[Step]:
    """The chain's steps in reading order: model steps by position, added steps after their anchor.

    Steps added by reviewers are included only for ``reviewer_id`` (each reviewer's own
    insertions), or all of them when ``reviewer_id`` is None.
    """
    model = sorted((s for s in chain.steps if s.kind is StepKind.model), key=lambda s: s.position)
    added = [
        s
        for s in chain.steps
        if s.kind is StepKind.added and (reviewer_id is None or s.author_id == reviewer_id)
    ]
    out: list[Step] = [s for s in added if s.inserted_after == -1]
    for step in model:
        out.append(step)
        out.extend(s for s in added if s.inserted_after == step.position)
    return out


def case_counts(*, session: Session) -> dict[str, int]:
    """Number of cases per status."""
    rows = session.execute(select(Case.status, func.count()).group_by(Case.status))
    return {status.value: n for status, n in rows}


def model_version_by_name(*, session: Session, name: str) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.name == name))
