"""Read models for the web app: plain, frozen snapshots of what a page shows.

Contract: keyword-only functions that take a session and never commit. They return small frozen
dataclasses (never ORM objects), so the UI can keep them in per-session state, render them after
the session has closed, and test them without a browser. Who may see which case is decided here
(:func:`may_view_case`), once, for the image route and every page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from review_db.models import (
    Case,
    CaseLock,
    Chain,
    ChainReview,
    ModelVersion,
    Step,
    Study,
    User,
)
from review_db.store.cases import current_chain
from review_db.store.locks import current_lock
from review_db.store.priorities import priority_reasons, step_risks
from review_db.store.reviews import effective_verdicts, unverifiable_reason
from review_db.store.worklist import WorklistFilter, current_chain_id, worklist
from review_db.types import AnswerVerdict, CaseStatus, ChainSource, Role, StepKind, utcnow


@dataclass(frozen=True)
class StudyFacts:
    """De-identified facts about one image (no PHI exists in the table to begin with)."""

    id: int
    modality: str | None
    view: str | None
    body_part: str | None
    acquisition_date: dt.date | None
    width: int
    height: int
    bits_stored: int | None
    photometric: str | None
    source_format: str
    patient_pseudonym: str
    window_presets: dict[str, Any]
    warnings: tuple[str, ...]
    is_demo: bool


@dataclass(frozen=True)
class StepRow:
    """A step as one reviewer sees it: the text and that reviewer's effective verdict."""

    id: int
    number: str  # "1", "2", ... for model steps; "2+" for a step added after step 2
    position: int | None
    kind: str  # model | added
    inserted_after: int | None
    text: str
    verdict: str | None = None
    corrected_text: str | None = None
    comment: str = ""
    author: str | None = None
    risk: float | None = None  # the PRM's risk that the step is wrong, when step hints are shown
    risk_by: str = ""  # which PRM ("PRM run 12")


class _StepCounts:
    """How many model steps a screen's ``steps`` hold, and how many of them carry a verdict."""

    steps: tuple[StepRow, ...]

    @property
    def judged(self) -> int:
        return sum(1 for s in self.steps if s.kind == StepKind.model.value and s.verdict)

    @property
    def model_steps(self) -> int:
        return sum(1 for s in self.steps if s.kind == StepKind.model.value)


@dataclass(frozen=True)
class LockInfo:
    holder: str
    holder_id: int
    expires_at: dt.datetime


@dataclass(frozen=True)
class CaseDetail(_StepCounts):
    """Everything the case view shows for one reviewer."""

    id: int
    task_type: str
    question: str
    options: tuple[str, ...]
    report: str | None
    status: str
    review_count: int
    required_reviews: int
    is_demo: bool
    study: StudyFacts | None
    prior: StudyFacts | None
    chain_id: int | None
    chain_source: str | None
    chain_detail: str
    chain_status: str | None
    chain_flags: tuple[str, ...]
    model_version: str | None
    final_answer: str | None
    steps: tuple[StepRow, ...]
    lock: LockInfo | None
    submitted: bool  # this reviewer's review of the chain is submitted (final until amended)
    my_answer_verdict: str | None = None
    my_corrected_answer: str | None = None
    my_comment: str = ""
    amending: bool = False  # this reviewer reopened their review to amend it
    unverifiable: str | None = None  # why the chain can only be judged unusable, if it can't be verified
    unusable: bool = False  # the current chain was judged unusable: the case waits for a fresh chain


def facts(study: Study | None) -> StudyFacts | None:
    if study is None:
        return None
    return StudyFacts(
        id=study.id,
        modality=study.modality,
        view=study.view,
        body_part=study.body_part,
        acquisition_date=study.acquisition_date,
        width=study.width,
        height=study.height,
        bits_stored=study.bits_stored,
        photometric=study.photometric,
        source_format=study.source_format,
        patient_pseudonym=study.patient_pseudonym,
        window_presets=dict(study.window_presets or {}),
        warnings=tuple(str(w) for w in study.warnings or ()),
        is_demo=study.is_demo,
    )


def step_number(step: Step) -> str:
    if step.kind is StepKind.model:
        return str(step.position + 1)
    return f"{step.inserted_after + 1}+" if step.inserted_after >= 0 else "0+"


def lock_info(*, session: Session, case_id: int) -> LockInfo | None:
    """The case's unexpired lease and who holds it, or None."""
    lock = current_lock(session=session, case_id=case_id)
    if lock is None:
        return None
    holder = session.get(User, lock.reviewer_id)
    return LockInfo(
        holder.username if holder else f"user {lock.reviewer_id}", lock.reviewer_id, lock.expires_at
    )


@dataclass(frozen=True)
class ChainView(_StepCounts):
    """Just what the chain panel shows: its steps with one reviewer's verdicts."""

    chain_id: int
    steps: tuple[StepRow, ...]
    options: tuple[str, ...] = ()
    final_answer: str | None = None


def chain_steps(
    *, session: Session, chain_id: int, reviewer_id: int, hints: bool = False
) -> tuple[StepRow, ...]:
    """The chain's steps in reading order with ``reviewer_id``'s effective verdicts (two queries;
    a third for the PRM's risks with ``hints``, the step hints the reviewer turned on).

    Reading order as :func:`review_db.store.cases.ordered_steps`: model steps by position, each
    followed by the steps this reviewer added after it; steps added before step 1 come first.
    """
    rows = session.execute(
        select(Step.id, Step.position, Step.kind, Step.inserted_after, Step.text).where(
            Step.chain_id == chain_id,
            (Step.kind == StepKind.model) | (Step.author_id == reviewer_id),
        )
    ).all()
    verdicts = effective_verdicts(session=session, chain_id=chain_id, reviewer_id=reviewer_id)
    risks = step_risks(session=session, chain_id=chain_id) if hints else {}
    model = sorted((r for r in rows if r.kind is StepKind.model), key=lambda r: r.position)
    added = sorted((r for r in rows if r.kind is StepKind.added), key=lambda r: r.id)
    ordered = [r for r in added if r.inserted_after == -1]
    for r in model:
        ordered.append(r)
        ordered.extend(a for a in added if a.inserted_after == r.position)
    out = []
    for r in ordered:
        v = verdicts.get((r.id, reviewer_id))
        number = str(r.position + 1) if r.kind is StepKind.model else f"{r.inserted_after + 1}+"
        out.append(
            StepRow(
                id=r.id,
                number=number if r.kind is StepKind.model or r.inserted_after >= 0 else "0+",
                position=r.position,
                kind=r.kind.value,
                inserted_after=r.inserted_after,
                text=r.text,
                verdict=v.verdict.value if v else None,
                corrected_text=v.corrected_text if v else None,
                comment=v.comment if v else "",
                risk=1.0 - risks[r.id][0] if r.id in risks else None,
                risk_by=risks[r.id][1] if r.id in risks else "",
            )
        )
    return tuple(out)


def chain_view(
    *, session: Session, chain_id: int, reviewer_id: int, options: tuple[str, ...] = (), hints: bool = False
) -> ChainView:
    """The chain panel after an action (no case, study or lease queries: the page has those)."""
    steps = chain_steps(session=session, chain_id=chain_id, reviewer_id=reviewer_id, hints=hints)
    return ChainView(chain_id, steps, options)


def case_detail(
    *, session: Session, case_id: int, reviewer_id: int, hints: bool = False
) -> CaseDetail | None:
    """The case, its current chain and ``reviewer_id``'s own verdicts (with the PRM's step risks
    when ``hints``); None if there is no such case."""
    case = session.get(Case, case_id)
    if case is None:
        return None
    chain = current_chain(session=session, case_id=case_id)
    steps: tuple[StepRow, ...] = ()
    review = None
    unusable = False
    if chain is not None:
        steps = chain_steps(session=session, chain_id=chain.id, reviewer_id=reviewer_id, hints=hints)
        review = session.scalar(
            select(ChainReview).where(
                ChainReview.chain_id == chain.id, ChainReview.reviewer_id == reviewer_id
            )
        )
        unusable = session.scalar(
            select(
                exists().where(
                    ChainReview.chain_id == chain.id,
                    ChainReview.answer_verdict == AnswerVerdict.unusable,
                    ChainReview.reopened_at.is_(None),
                )
            )
        )
    return CaseDetail(
        id=case.id,
        task_type=case.task_type.value,
        question=case.question,
        options=tuple(case.options or ()),
        report=case.report,
        status=case.status.value,
        review_count=case.review_count,
        required_reviews=case.required_reviews,
        is_demo=case.is_demo,
        study=facts(case.study),
        prior=facts(case.prior_study),
        chain_id=chain.id if chain else None,
        chain_source=chain.source.value if chain else None,
        chain_detail=chain.source_detail if chain else "",
        chain_status=chain.status.value if chain else None,
        chain_flags=tuple(chain.flags or ()) if chain else (),
        model_version=chain.model_version.name if chain and chain.model_version else None,
        final_answer=chain.final_answer if chain else None,
        steps=steps,
        lock=lock_info(session=session, case_id=case.id),
        submitted=review is not None and review.reopened_at is None,
        my_answer_verdict=review.answer_verdict.value if review else None,
        my_corrected_answer=review.corrected_answer if review else None,
        my_comment=review.comment if review else "",
        amending=review is not None and review.reopened_at is not None,
        unverifiable=unverifiable_reason(chain) if chain else None,
        unusable=bool(chain and unusable),
    )


def may_view_case(*, session: Session, user: User, case_id: int) -> bool:
    """Whether ``user`` may see the case (its image, chain and report).

    Admins see everything; reviewers see open cases and any case they reviewed or hold; educators
    and researchers see verified cases (what they teach with and export). Archived cases are
    withdrawn from everyone but admins and their own reviewers.
    """
    case = session.get(Case, case_id)
    if case is None:
        return False
    if user.role is Role.admin:
        return True
    if user.role is Role.reviewer:
        if case.status is CaseStatus.open:
            return True
        reviewed = session.scalar(
            select(
                exists().where(
                    ChainReview.chain_id == Chain.id,
                    Chain.case_id == case_id,
                    ChainReview.reviewer_id == user.id,
                )
            )
        )
        return bool(reviewed)
    return case.status is CaseStatus.verified


def step_in_chain(*, session: Session, step_id: int, chain_id: int) -> bool:
    """Whether the step belongs to the chain (the client names steps; the server owns the chain)."""
    return session.scalar(select(Step.id).where(Step.id == step_id, Step.chain_id == chain_id)) is not None


def study_of_case(*, session: Session, case_id: int, prior: bool = False) -> Study | None:
    case = session.get(Case, case_id)
    if case is None:
        return None
    return case.prior_study if prior else case.study


@dataclass(frozen=True)
class CaseRow:
    """One line of a case table (worklist, cases in progress, verified cases)."""

    id: int
    task_type: str
    question: str
    status: str
    reviews: str  # "1/2"
    model_version: str
    is_demo: bool
    holder: str = ""
    until: dt.datetime | None = None
    reason: str = ""  # why the case sits where it does in the worklist (the strategy's reason)


# Chains whose ``source_detail`` names the model that wrote them (an imported predictions file's
# --model, an endpoint's or a local model's id); demo and report chains name no model.
_MODEL_SOURCES = (ChainSource.model, ChainSource.endpoint, ChainSource.imported)


def _model_label():  # noqa: ANN202 - a SQL expression
    """SQL: the name of the model behind a chain: its model version's, else the model it names."""
    version = select(ModelVersion.name).where(ModelVersion.id == Chain.model_version_id).scalar_subquery()
    named = sql_case((Chain.source.in_(_MODEL_SOURCES), func.nullif(Chain.source_detail, "")), else_=None)
    return func.coalesce(version, named)


def _model_names(session: Session, case_ids: list[int]) -> dict[int, str]:
    """The model behind each case's current chain (see :func:`_model_label`)."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(Case.id, _model_label())
        .join(Chain, Chain.id == current_chain_id())
        .where(Case.id.in_(case_ids))
    )
    return {case_id: name for case_id, name in rows if name}


def _rows(session: Session, cases: list[Case], locks: dict[int, LockInfo] | None = None) -> list[CaseRow]:
    names = _model_names(session, [c.id for c in cases])
    locks = locks or {}
    return [
        CaseRow(
            id=c.id,
            task_type=c.task_type.value,
            question=c.question,
            status=c.status.value,
            reviews=f"{c.review_count}/{c.required_reviews}",
            model_version=names.get(c.id, ""),
            is_demo=c.is_demo,
            holder=locks[c.id].holder if c.id in locks else "",
            until=locks[c.id].expires_at if c.id in locks else None,
        )
        for c in cases
    ]


def _locks(session: Session, case_ids: list[int]) -> dict[int, LockInfo]:
    """Unexpired leases on these cases and their holders, in one query."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(CaseLock.case_id, User.username, CaseLock.reviewer_id, CaseLock.expires_at)
        .join(User, User.id == CaseLock.reviewer_id)
        .where(CaseLock.case_id.in_(case_ids), CaseLock.expires_at > utcnow())
    )
    return {case_id: LockInfo(name, holder, until) for case_id, name, holder, until in rows}


def worklist_rows(
    *,
    session: Session,
    reviewer_id: int,
    flt: WorklistFilter = WorklistFilter(),
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[CaseRow], int]:
    """A page of the reviewer's worklist as table rows (their own leases first, each with why it
    sits where it does) and its total size."""
    cases, total = worklist(session=session, reviewer_id=reviewer_id, flt=flt, limit=limit, offset=offset)
    ids = [c.id for c in cases]
    reasons = priority_reasons(session=session, case_ids=ids)
    rows = _rows(session, cases, _locks(session, ids))
    return [replace(r, reason=reasons.get(r.id, "")) for r in rows], total


def cases_in_progress(
    *, session: Session, exclude_reviewer_id: int | None = None, limit: int = 50
) -> list[CaseRow]:
    """Open cases someone holds an unexpired lease on (whom, until when)."""
    query = (
        select(Case, CaseLock, User.username)
        .join(CaseLock, CaseLock.case_id == Case.id)
        .join(User, User.id == CaseLock.reviewer_id)
        .where(CaseLock.expires_at > utcnow(), Case.status == CaseStatus.open)
        .order_by(CaseLock.expires_at)
        .limit(limit)
    )
    if exclude_reviewer_id is not None:
        query = query.where(CaseLock.reviewer_id != exclude_reviewer_id)
    found = list(session.execute(query))
    locks = {case.id: LockInfo(name, lock.reviewer_id, lock.expires_at) for case, lock, name in found}
    return _rows(session, [case for case, _lock, _name in found], locks)


def verified_cases(*, session: Session, task_type: str | None = None, limit: int = 200) -> list[CaseRow]:
    """Verified cases, newest first (the educator's library)."""
    query = select(Case).where(Case.status == CaseStatus.verified).order_by(Case.id.desc()).limit(limit)
    if task_type:
        query = query.where(Case.task_type == task_type)
    return _rows(session, list(session.scalars(query)))


def model_version_choices(*, session: Session) -> list[tuple[str, int]]:
    """(name, id) of model versions that produced a chain."""
    rows = session.execute(
        select(ModelVersion.name, ModelVersion.id)
        .where(exists().where(Chain.model_version_id == ModelVersion.id))
        .order_by(ModelVersion.name)
    )
    return [(name, ident) for name, ident in rows]


def model_choices(*, session: Session) -> list[str]:
    """Names of the models behind any chain (model versions, and models imported chains name),
    for the worklist's model filter (:attr:`WorklistFilter.model` takes them)."""
    label = _model_label()
    names = session.scalars(select(label).where(label.is_not(None)).distinct())
    return sorted(set(names), key=str.lower)
