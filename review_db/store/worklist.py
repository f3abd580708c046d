"""What a reviewer should look at next.

A case is waiting for a reviewer when it is open, has fewer submitted reviews than it requires,
has a chain to review (its current chain, not judged unusable), the reviewer has not submitted a
review of that chain, and nobody else holds an unexpired lease on it. Cases the reviewer already
holds come first, then by the chosen order (priority and age by default).

Open cases without a reviewable chain (none yet, or the current one judged unusable) are
"waiting for a chain": :attr:`WorklistFilter.needs_chain` lists them, and
:attr:`WorklistFilter.mine` the cases the reviewer has reviewed, so every case can be reached.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from review_db.errors import CaseLocked
from review_db.models import Case, CaseLock, Chain, ChainReview, ModelVersion
from review_db.store.locks import claim_case
from review_db.types import AnswerVerdict, CaseStatus, ChainSource, TaskType, utcnow


class WorklistOrder(enum.StrEnum):
    priority = "priority"  # highest priority first, then oldest
    newest = "newest"
    oldest = "oldest"


@dataclass(frozen=True)
class WorklistFilter:
    task_type: TaskType | None = None
    status: CaseStatus | None = CaseStatus.open
    model: str | None = None  # a model version's name, or the model an imported chain names
    demo: bool | None = None
    search: str = ""  # a case id ("12" or "#12"), or words of the question or the source
    needs_chain: bool = False  # open cases waiting for a chain instead of those waiting for a review
    mine: bool = False  # cases whose current chain this reviewer has reviewed (to read or amend)
    order: WorklistOrder = WorklistOrder.priority


def current_chain_id() -> ColumnElement[int]:
    """Correlated SQL for the id of ``Case``'s current chain (as :func:`cases.current_chain`)."""
    newest_model = (
        select(func.max(Chain.id))
        .where(Chain.case_id == Case.id, Chain.source != ChainSource.report)
        .correlate(Case)  # explicitly: it sits two subqueries deep in the worklist's conditions
        .scalar_subquery()
    )
    newest_any = select(func.max(Chain.id)).where(Chain.case_id == Case.id).correlate(Case).scalar_subquery()
    return func.coalesce(newest_model, newest_any)


def _review_of(chain_id: ColumnElement[int], reviewer_id: int | None = None) -> Select:
    """Submitted (not reopened) reviews of ``chain_id``, by ``reviewer_id`` if given."""
    query = select(ChainReview.id).where(ChainReview.chain_id == chain_id, ChainReview.reopened_at.is_(None))
    return query if reviewer_id is None else query.where(ChainReview.reviewer_id == reviewer_id)


def needs_chain() -> ColumnElement[bool]:
    """SQL: the case has no chain, or its current chain was judged unusable."""
    current = current_chain_id()
    unusable = _review_of(current).where(ChainReview.answer_verdict == AnswerVerdict.unusable)
    return or_(current.is_(None), exists(unusable))


def _model_matches(name: str) -> ColumnElement[bool]:
    version = select(ModelVersion.id).where(ModelVersion.name == name).scalar_subquery()
    return exists().where(
        Chain.case_id == Case.id,
        or_(
            Chain.model_version_id == version,
            and_(Chain.model_version_id.is_(None), Chain.source_detail == name),
        ),
    )


def _search(text: str) -> ColumnElement[bool] | None:
    text = text.strip()
    if not text:
        return None
    digits = text.removeprefix("#")
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found = or_(
        Case.question.ilike(pattern, escape="\\"),
        Case.external_id.ilike(pattern, escape="\\"),
        exists().where(Chain.case_id == Case.id, Chain.source_detail.ilike(pattern, escape="\\")),
    )
    return or_(Case.id == int(digits), found) if digits.isdigit() and len(digits) < 12 else found


def _waiting_for(reviewer_id: int, now: dt.datetime, flt: WorklistFilter) -> Select:
    locked_by_other = select(CaseLock.case_id).where(
        CaseLock.case_id == Case.id, CaseLock.reviewer_id != reviewer_id, CaseLock.expires_at > now
    )
    query = select(Case).where(~exists(locked_by_other))
    if flt.mine:
        query = select(Case).where(exists(_review_of(current_chain_id(), reviewer_id)))
    elif flt.needs_chain:
        query = query.where(Case.status == CaseStatus.open, needs_chain())
    else:
        query = query.where(~exists(_review_of(current_chain_id(), reviewer_id)), ~needs_chain())
        if flt.status is CaseStatus.open or flt.status is None:
            query = query.where(Case.status == CaseStatus.open, Case.review_count < Case.required_reviews)
        else:
            query = query.where(Case.status == flt.status)
    if flt.task_type is not None:
        query = query.where(Case.task_type == flt.task_type)
    if flt.model:
        query = query.where(_model_matches(flt.model))
    if flt.demo is not None:
        query = query.where(Case.is_demo == flt.demo)
    found = _search(flt.search)
    if found is not None:
        query = query.where(found)
    return query


_ORDER = {
    WorklistOrder.priority: (Case.priority.desc(), Case.id),
    WorklistOrder.newest: (Case.id.desc(),),
    WorklistOrder.oldest: (Case.id,),
}


def worklist(
    *,
    session: Session,
    reviewer_id: int,
    flt: WorklistFilter = WorklistFilter(),
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Case], int]:
    """The cases waiting for this reviewer (a page of them) and how many there are in all."""
    now = utcnow()
    query = _waiting_for(reviewer_id, now, flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    mine = select(CaseLock.case_id).where(
        CaseLock.case_id == Case.id, CaseLock.reviewer_id == reviewer_id, CaseLock.expires_at > now
    )
    ordered = query.order_by(exists(mine).desc(), *_ORDER[flt.order]).limit(limit).offset(offset)
    return list(session.scalars(ordered)), total


def _held_case(session: Session, reviewer_id: int, now: dt.datetime) -> Case | None:
    """A case this reviewer holds an unexpired lease on and still has to review."""
    held = session.scalars(
        select(CaseLock.case_id)
        .where(CaseLock.reviewer_id == reviewer_id, CaseLock.expires_at > now)
        .order_by(CaseLock.acquired_at)
    ).all()  # a reviewer holds few leases: look them up one by one through the indexes
    for case_id in held:
        waiting = _waiting_for(reviewer_id, now, WorklistFilter(status=None)).where(Case.id == case_id)
        case = session.scalar(waiting)
        if case is not None:
            return case
    return None


def next_case(
    *,
    session: Session,
    reviewer_id: int,
    lease: dt.timedelta,
    flt: WorklistFilter = WorklistFilter(),
    attempts: int = 40,
) -> Case | None:
    """Claim and return the next case for this reviewer, or None when nothing is waiting.

    A case the reviewer already holds comes first. Otherwise the first waiting case in
    (priority, id) order: an index walk that stops at the first match, so the cost does not
    grow with the size of the database. If another reviewer claims the chosen case in between,
    the next candidate is tried. Cases waiting for a chain are never handed out.
    """
    now = utcnow()
    if flt.needs_chain or flt.mine:
        return None
    if flt == WorklistFilter():
        held = _held_case(session, reviewer_id, now)
        if held is not None:
            claim_case(session=session, case_id=held.id, reviewer_id=reviewer_id, lease=lease)
            return held
    skipped: list[int] = []
    for _ in range(attempts):
        query = _waiting_for(reviewer_id, now, flt).order_by(*_ORDER[flt.order]).limit(1)
        if skipped:
            query = query.where(Case.id.not_in(skipped))
        case = session.scalar(query)
        if case is None:
            return None
        try:
            claim_case(session=session, case_id=case.id, reviewer_id=reviewer_id, lease=lease)
        except CaseLocked:
            skipped.append(case.id)
            continue
        return case
    return None


def status_counts(*, session: Session, reviewer_id: int | None = None) -> dict[str, int]:
    """Counts for the worklist header: open, verified, archived, waiting for a chain, and, per
    reviewer, done by them and waiting for them."""
    counts = {s.value: 0 for s in CaseStatus}
    for status, n in session.execute(select(Case.status, func.count()).group_by(Case.status)):
        counts[status.value] = n
    counts["needs_chain"] = (
        session.scalar(select(func.count()).where(Case.status == CaseStatus.open, needs_chain())) or 0
    )
    if reviewer_id is not None:
        counts["mine"] = (
            session.scalar(
                select(func.count(func.distinct(Chain.case_id)))
                .join(ChainReview, ChainReview.chain_id == Chain.id)
                .where(ChainReview.reviewer_id == reviewer_id, ChainReview.reopened_at.is_(None))
            )
            or 0
        )
        now = utcnow()
        counts["waiting"] = (
            session.scalar(
                select(func.count()).select_from(_waiting_for(reviewer_id, now, WorklistFilter()).subquery())
            )
            or 0
        )
    return counts


__all__ = ["WorklistFilter", "WorklistOrder", "current_chain_id", "next_case", "status_counts", "worklist"]
