"""A reader's reads: the next one, blinded by its arm, and its submission (use cases).

Contract: keyword-only functions that take a session and never commit.

- :func:`next_read` serves the reader's next read: in each of their studies, the first read not
  yet submitted in (period, place) order, once its period is open (period 0 at once; a later one
  ``washout_days`` after the reader's last read of the period before). Serving stamps
  ``served_at`` once; the read's time runs from it. It returns a :class:`ReadView`, a
  :class:`Waiting` (every next read is behind a washout), or None (nothing left to read).
- **Blinding**: a :class:`ReadView` holds only what its arm shows. The model's answer is in it
  only for arms that show the answer, the steps only for arms that show the reasoning; the report
  and the reviewers' verdicts never. Pages render a ReadView and nothing else, so what an arm hides
  never leaves the server.
- :func:`submit_read` stores the read (append-only: one per assignment) after checking that it is
  the reader's, that it is the read being served, and the answer, confidence (1-5) and step marks
  (reasoning arms only, by the step numbers the reader saw). Bad input raises a
  :class:`~review_db.errors.ChestXError` with nothing written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from review_db.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from review_db.models import Case, Chain, ReaderAssignment, ReaderRead, ReaderStudy, Step
from review_db.store.cases import normalise_answer
from review_db.types import utcnow
from services.reader_study.design import Arm, Shows, StepMark
from services.screens import StudyFacts, facts
from vocab import StepKind, TaskType


@dataclass(frozen=True)
class StepText:
    id: int
    number: int  # 1-based
    text: str


@dataclass(frozen=True)
class ReadView:
    """One read as the reader sees it: only what its arm shows (see the module docstring)."""

    assignment_id: int
    study_name: str
    case_id: int
    task_type: str
    question: str
    options: tuple[str, ...]
    image: StudyFacts | None
    prior: StudyFacts | None
    shows: Shows
    model_answer: str | None  # None unless the arm shows the answer
    steps: tuple[StepText, ...]  # empty unless the arm shows the reasoning
    done: int  # reads submitted in this study
    total: int
    period: int  # 1-based
    periods: int

    @property
    def multiple(self) -> bool:
        return self.task_type == TaskType.multiple_choice.value


@dataclass(frozen=True)
class Waiting:
    """Every next read waits for a washout to end."""

    study_name: str
    opens_at: dt.datetime
    done: int
    total: int


def _first_unread(session: Session, *, study_id: int, reader_id: int) -> ReaderAssignment | None:
    return session.scalar(
        select(ReaderAssignment)
        .outerjoin(ReaderRead, ReaderRead.assignment_id == ReaderAssignment.id)
        .where(
            ReaderAssignment.study_id == study_id,
            ReaderAssignment.reader_id == reader_id,
            ReaderRead.id.is_(None),
        )
        .order_by(ReaderAssignment.period, ReaderAssignment.sequence)
        .limit(1)
    )


def _opens_at(session: Session, study: ReaderStudy, a: ReaderAssignment) -> dt.datetime | None:
    """When ``a``'s period opens for its reader (None: open since the study began)."""
    if a.period == 0:
        return None
    last = session.scalar(
        select(func.max(ReaderRead.submitted_at))
        .join(ReaderAssignment, ReaderAssignment.id == ReaderRead.assignment_id)
        .where(
            ReaderAssignment.study_id == study.id,
            ReaderAssignment.reader_id == a.reader_id,
            ReaderAssignment.period == a.period - 1,
        )
    )
    return last + dt.timedelta(days=study.washout_days) if last is not None else None


def _progress(session: Session, *, study_id: int, reader_id: int) -> tuple[int, int]:
    """(reads submitted, reads assigned) of a reader in a study."""
    total, done = session.execute(
        select(func.count(ReaderAssignment.id), func.count(ReaderRead.id))
        .outerjoin(ReaderRead, ReaderRead.assignment_id == ReaderAssignment.id)
        .where(ReaderAssignment.study_id == study_id, ReaderAssignment.reader_id == reader_id)
    ).one()
    return done, total


def _studies_of(session: Session, reader_id: int) -> Sequence[ReaderStudy]:
    ids = select(ReaderAssignment.study_id).where(ReaderAssignment.reader_id == reader_id).distinct()
    return session.scalars(select(ReaderStudy).where(ReaderStudy.id.in_(ids)).order_by(ReaderStudy.id)).all()


def _arm(study: ReaderStudy, key: str) -> Arm:
    return next(Arm.from_dict(a) for a in study.design["arms"] if a["key"] == key)


def _view(session: Session, study: ReaderStudy, a: ReaderAssignment) -> ReadView:
    """The read as its arm allows: the model's answer and steps only when the arm shows them."""
    case, chain, shows = (
        session.get(Case, a.case_id),
        session.get(Chain, a.chain_id),
        _arm(study, a.arm).shows,
    )
    steps: tuple[StepText, ...] = ()
    if shows.steps_shown:
        steps = tuple(StepText(s.id, i, s.text) for i, s in enumerate(model_steps(chain), start=1))
    done, total = _progress(session, study_id=study.id, reader_id=a.reader_id)
    return ReadView(
        assignment_id=a.id,
        study_name=study.name,
        case_id=case.id,
        task_type=case.task_type.value,
        question=case.question,
        options=tuple(case.options),
        image=facts(case.study),
        prior=facts(case.prior_study),
        shows=shows,
        model_answer=chain.final_answer if shows.answer_shown else None,
        steps=steps,
        done=done,
        total=total,
        period=a.period + 1,
        periods=study.design["periods"],
    )


def has_reads(*, session: Session, reader_id: int) -> bool:
    """Whether any study assigns this reader reads (to tell "all done" from "nothing assigned")."""
    return (
        session.scalar(select(ReaderAssignment.id).where(ReaderAssignment.reader_id == reader_id).limit(1))
        is not None
    )


def next_read(
    *, session: Session, reader_id: int, now: dt.datetime | None = None
) -> ReadView | Waiting | None:
    """The reader's next read, served (see the module docstring)."""
    now = now or utcnow()
    waiting: list[Waiting] = []
    for study in _studies_of(session, reader_id):
        a = _first_unread(session, study_id=study.id, reader_id=reader_id)
        if a is None:
            continue
        opens = _opens_at(session, study, a)
        if opens is not None and opens > now:
            waiting.append(
                Waiting(study.name, opens, *_progress(session, study_id=study.id, reader_id=reader_id))
            )
            continue
        if a.served_at is None:
            a.served_at = now
            session.flush()
        return _view(session, study, a)
    return min(waiting, key=lambda w: w.opens_at) if waiting else None


def model_steps(chain: Chain) -> list[Step]:
    """The chain's own steps in order (steps reviewers added are not the model's reasoning)."""
    return sorted((s for s in chain.steps if s.kind is StepKind.model), key=lambda s: s.position)


def _marks(chain: Chain, shows: Shows, marks: Mapping[int, str]) -> dict[str, str]:
    """Marks by step number (1-based, as the reader saw them) -> stored by step id."""
    if not marks:
        return {}
    if not shows.steps_shown:
        raise ValidationError("this read shows no reasoning: there are no steps to mark")
    steps = model_steps(chain)
    out = {}
    for number, mark in marks.items():
        if not 1 <= number <= len(steps):
            raise ValidationError(f"there is no step {number} in this read")
        if mark not in StepMark.__members__:
            raise ValidationError(f"a step is marked {' or '.join(StepMark)}, not {mark!r}")
        out[str(steps[number - 1].id)] = mark
    return out


def _answer(case: Case, answer: str | None) -> str:
    letters = normalise_answer(answer, case.options)
    if not letters:
        raise ValidationError("pick your answer first")
    if case.task_type is not TaskType.multiple_choice and "," in letters:
        raise ValidationError("this question has one answer: pick one option")
    return letters


def submit_read(
    *,
    session: Session,
    reader_id: int,
    assignment_id: int,
    answer: str | None,
    confidence: int | None,
    marks: Mapping[int, str] | None = None,  # step number (1-based) -> helpful | wrong
    now: dt.datetime | None = None,
) -> ReaderRead:
    """Store the reader's read of the assignment being served (see the module docstring)."""
    now = now or utcnow()
    a = session.get(ReaderAssignment, assignment_id)
    if a is None:
        raise NotFound(f"read {assignment_id} does not exist")
    if a.reader_id != reader_id:
        raise PermissionDenied("this read is assigned to another reader")
    if session.scalar(select(ReaderRead.id).where(ReaderRead.assignment_id == a.id)) is not None:
        raise ConflictError("this read is submitted already; reads are final")
    current = _first_unread(session, study_id=a.study_id, reader_id=reader_id)
    if a.served_at is None or current is None or current.id != a.id:
        raise ConflictError("this is not the read being served: reload the page for your next read")
    if confidence not in range(1, 6):
        raise ValidationError("rate your confidence from 1 (guessing) to 5 (certain)")
    study, case, chain = (
        session.get(ReaderStudy, a.study_id),
        session.get(Case, a.case_id),
        session.get(Chain, a.chain_id),
    )
    read = ReaderRead(
        assignment_id=a.id,
        answer=_answer(case, answer),
        confidence=int(confidence),
        time_s=round(max(0.0, (now - a.served_at).total_seconds()), 3),
        step_marks=_marks(chain, _arm(study, a.arm).shows, marks or {}),
        submitted_at=now,
    )
    try:
        with session.begin_nested():  # two tabs submitting at once: one read, the other a conflict
            session.add(read)
    except IntegrityError:
        raise ConflictError("this read is submitted already; reads are final") from None
    return read
