"""Creating and listing reader studies (use cases over the database).

Contract: keyword-only functions that take a session and never commit. :func:`create_study`
validates everything first (name, arms, washout, readers, cases), then writes the study, its frozen
design and its assignments (:func:`services.reader_study.design.randomize`); bad input raises a
:class:`~review_db.errors.ValidationError` with nothing written. A case can join a study when it
is verified, has options (accuracy needs a right answer to compare with), a model chain with
steps and an answer, and a truth: its reference answer, else its reviewers' verified answer. A
reader is an active reviewer who never reviewed any of the study's cases (they would have seen
the model's reasoning, whatever their arm). Read models are frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review_db.errors import NotFound, ValidationError
from review_db.models import Case, Chain, ChainReview, ReaderAssignment, ReaderRead, ReaderStudy, User
from review_db.store.cases import current_chain
from services.reader_study.design import METHOD, Arm, check_arms, randomize
from vocab import AnswerVerdict, CaseStatus, ChainSource, Role, StepKind, TaskType

MAX_WASHOUT_DAYS = 365
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class CaseChoice:
    id: int
    label: str  # '#12 · Single choice · Where are the nodules...'


@dataclass(frozen=True)
class StudySummary:
    id: int
    name: str
    arms: tuple[str, ...]  # labels
    readers: tuple[str, ...]  # usernames
    cases: int
    periods: int
    washout_days: int
    seed: int
    reads_done: int
    reads_total: int
    created_at: dt.datetime


def _model_chain(session: Session, case_id: int) -> Chain | None:
    chain = current_chain(session=session, case_id=case_id)
    if chain is None or chain.source is ChainSource.report or not chain.final_answer:
        return None
    return chain if any(s.kind is StepKind.model for s in chain.steps) else None


def verified_truth(session: Session, case: Case, chain: Chain) -> str | None:
    """The right answer: the case's reference answer, else the answer its reviewers verified
    (the model's when they agreed, their correction when not; the most frequent of them)."""
    if case.reference_answer:
        return case.reference_answer
    reviews = session.scalars(
        select(ChainReview).where(ChainReview.chain_id == chain.id, ChainReview.reopened_at.is_(None))
    ).all()
    answers = Counter(
        chain.final_answer if r.answer_verdict is AnswerVerdict.agree else r.corrected_answer
        for r in reviews
        if r.answer_verdict is not AnswerVerdict.unusable
    )
    answers.pop(None, None)
    return answers.most_common(1)[0][0] if answers else None


def _eligible(session: Session, case: Case) -> tuple[Chain, str] | str:
    """(chain, truth) when the case can join a study, else why not."""
    if case.status is not CaseStatus.verified:
        return f"case {case.id} is not verified"
    if not case.options or case.task_type is TaskType.open_findings:
        return f"case {case.id} has no options to answer with"
    chain = _model_chain(session, case.id)
    if chain is None:
        return f"case {case.id} has no model chain with steps and an answer"
    truth = verified_truth(session, case, chain)
    return (chain, truth) if truth else f"case {case.id} has no verified answer"


def eligible_cases(
    *, session: Session, task_type: str | None = None, include_demo: bool = True, limit: int | None = None
) -> list[CaseChoice]:
    """Verified cases that can join a study (oldest first), optionally by task type; the filter
    behind "cases by filter" and the admin's case picker."""
    query = select(Case).where(Case.status == CaseStatus.verified).order_by(Case.id)
    if task_type:
        query = query.where(Case.task_type == TaskType(task_type))
    if not include_demo:
        query = query.where(Case.is_demo.is_(False))
    out = []
    for case in session.scalars(query):
        if isinstance(_eligible(session, case), tuple):
            label = f"#{case.id} · {case.task_type.label} · {case.question[:70]}"
            out.append(CaseChoice(case.id, label + (" (demo)" if case.is_demo else "")))
            if limit is not None and len(out) >= limit:
                break
    return out


def eligible_readers(*, session: Session) -> list[tuple[str, int]]:
    """(username, id) of the active reviewers."""
    rows = session.execute(
        select(User.username, User.id)
        .where(User.role == Role.reviewer, User.active.is_(True))
        .order_by(User.username)
    )
    return [(name, uid) for name, uid in rows]


def _readers(session: Session, reader_ids: Sequence[int], case_ids: Sequence[int]) -> list[User]:
    users = session.scalars(select(User).where(User.id.in_(reader_ids)).order_by(User.id)).all()
    if len(users) != len(set(reader_ids)):
        raise NotFound("a reader named does not exist")
    if bad := [u.username for u in users if u.role is not Role.reviewer or not u.active]:
        raise ValidationError(f"readers must be active reviewers: {', '.join(bad)}")
    seen = session.execute(
        select(User.username, Chain.case_id)
        .join(ChainReview, ChainReview.reviewer_id == User.id)
        .join(Chain, Chain.id == ChainReview.chain_id)
        .where(User.id.in_(reader_ids), Chain.case_id.in_(case_ids))
        .distinct()
    ).all()
    if seen:
        pairs = ", ".join(f"{name} (case {case})" for name, case in sorted(seen))
        raise ValidationError(f"these readers reviewed a case of the study and saw its reasoning: {pairs}")
    return list(users)


def _cases(session: Session, case_ids: Sequence[int]) -> list[dict[str, Any]]:
    out = []
    for case_id in sorted(set(case_ids)):
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound(f"case {case_id} does not exist")
        found = _eligible(session, case)
        if isinstance(found, str):
            raise ValidationError(f"{found}: it cannot join a reader study")
        chain, truth = found
        out.append(
            {"case_id": case.id, "chain_id": chain.id, "task_type": case.task_type.value, "truth": truth}
        )
    return out


def _check_settings(name: str, washout_days: int, seed: int) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 128:
        raise ValidationError("a study needs a name (128 characters at most)")
    if not 0 <= washout_days <= MAX_WASHOUT_DAYS:
        raise ValidationError(f"the washout is 0 to {MAX_WASHOUT_DAYS} days")
    if not 0 <= seed <= MAX_SEED:
        raise ValidationError(f"the seed is a whole number from 0 to {MAX_SEED}")
    return name


def create_study(
    *,
    session: Session,
    name: str,
    case_ids: Sequence[int],
    reader_ids: Sequence[int],
    arms: Sequence[Arm],
    washout_days: int,
    seed: int,
    created_by: int | None,
) -> ReaderStudy:
    """Create a study with its design and randomized assignments (see the module docstring);
    ``created_by``: the admin's user id (None from the command line)."""
    name = _check_settings(name, washout_days, seed)
    arms = check_arms(arms)
    if session.scalar(select(ReaderStudy.id).where(ReaderStudy.name == name)) is not None:
        raise ValidationError(f"a study named {name!r} exists already")
    if not case_ids or not reader_ids:
        raise ValidationError("a study needs at least one case and one reader")
    cases = _cases(session, case_ids)
    readers = _readers(session, reader_ids, [c["case_id"] for c in cases])
    slots = randomize(
        readers=[u.id for u in readers], cases=[c["case_id"] for c in cases], arms=arms, seed=seed
    )
    design = {
        "method": METHOD,
        "seed": seed,
        "washout_days": washout_days,
        "periods": len(arms),
        "arms": [a.as_dict() for a in arms],
        "readers": [{"code": f"R{i}", "user_id": u.id} for i, u in enumerate(readers, start=1)],
        "cases": cases,
    }
    study = ReaderStudy(name=name, seed=seed, washout_days=washout_days, design=design, created_by=created_by)
    session.add(study)
    session.flush()
    chain_of = {c["case_id"]: c["chain_id"] for c in cases}
    session.add_all(
        ReaderAssignment(
            study_id=study.id, reader_id=s.reader_id, case_id=s.case_id, chain_id=chain_of[s.case_id],
            period=s.period, sequence=s.sequence, arm=s.arm,
        )
        for s in slots
    )  # fmt: skip
    session.flush()
    return study


def describe(study: ReaderStudy) -> str:
    """'study 3 "Pilot": 2 readers, 6 cases, 3 periods (No AI, Answer only, ...), washout 14 days'."""
    d = study.design
    arms = ", ".join(a["label"] for a in d["arms"])
    return (
        f'study {study.id} "{study.name}": {len(d["readers"])} readers, {len(d["cases"])} cases, '
        f"{d['periods']} periods ({arms}), washout {study.washout_days} days"
    )


def get_study(*, session: Session, study_id: int) -> ReaderStudy:
    study = session.get(ReaderStudy, study_id)
    if study is None:
        raise NotFound(f"reader study {study_id} does not exist")
    return study


def arms_of(study: ReaderStudy) -> tuple[Arm, ...]:
    return tuple(Arm.from_dict(a) for a in study.design["arms"])


def list_studies(*, session: Session) -> list[StudySummary]:
    """Every study, newest first, with its progress."""
    total = dict(
        session.execute(
            select(ReaderAssignment.study_id, func.count()).group_by(ReaderAssignment.study_id)
        ).all()
    )
    done = dict(
        session.execute(
            select(ReaderAssignment.study_id, func.count())
            .join(ReaderRead, ReaderRead.assignment_id == ReaderAssignment.id)
            .group_by(ReaderAssignment.study_id)
        ).all()
    )
    names = dict(session.execute(select(User.id, User.username)).all())
    out = []
    for s in session.scalars(select(ReaderStudy).order_by(ReaderStudy.id.desc())):
        d = s.design
        out.append(
            StudySummary(
                s.id,
                s.name,
                tuple(a["label"] for a in d["arms"]),
                tuple(names.get(r["user_id"], "?") for r in d["readers"]),
                len(d["cases"]),
                d["periods"],
                s.washout_days,
                s.seed,
                done.get(s.id, 0),
                total.get(s.id, 0),
                s.created_at,
            )  # fmt: skip
        )
    return out
