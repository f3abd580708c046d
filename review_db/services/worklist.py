"""What a reviewer should look at next.

A case is waiting for a reviewer when it is open, has fewer submitted reviews than it requires,
has a chain to review, the reviewer has not reviewed it yet, and nobody else holds an unexpired
lease on it. Cases the reviewer already holds come first, then by priority and age.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from review_db.errors import CaseLocked
from review_db.models import Case, CaseLock, Chain, ChainReview
from review_db.services.locks import claim_case
from review_db.types import CaseStatus, TaskType, utcnow


@dataclass(frozen=True)
class WorklistFilter:
    task_type: TaskType | None = None
    status: CaseStatus | None = CaseStatus.open
    model_version_id: int | None = None
    demo: bool | None = None


def _waiting_for(reviewer_id: int, now: dt.datetime, flt: WorklistFilter) -> Select:
    reviewed = (
        select(ChainReview.id)
        .join(Chain, Chain.id == ChainReview.chain_id)
        .where(Chain.case_id == Case.id, ChainReview.reviewer_id == reviewer_id)
    )
    locked_by_other = select(CaseLock.case_id).where(
        CaseLock.case_id == Case.id, CaseLock.reviewer_id != reviewer_id, CaseLock.expires_at > now
    )
    has_chain = select(Chain.id).where(Chain.case_id == Case.id)
    if flt.model_version_id is not None:
        has_chain = has_chain.where(Chain.model_version_id == flt.model_version_id)
    query = select(Case).where(~exists(reviewed), ~exists(locked_by_other), exists(has_chain))
    if flt.status is CaseStatus.open or flt.status is None:
        query = query.where(Case.status == CaseStatus.open, Case.review_count < Case.required_reviews)
    else:
        query = query.where(Case.status == flt.status)
    if flt.task_type is not None:
        query = query.where(Case.task_type == flt.task_type)
    if flt.demo is not None:
        query = query.where(Case.is_demo == flt.demo)
    return query


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
    ordered = query.order_by(exists(mine).desc(), Case.priority.desc(), Case.id).limit(limit).offset(offset)
    return list(session.scalars(ordered)), total


def _held_case(session: Session, reviewer_id: int, now: dt.datetime) -> Case | None:
    """A case this reviewer holds an unexpired lease on and has not reviewed yet."""
    held = session.scalars(
        select(CaseLock.case_id)
        .where(CaseLock.reviewer_id == reviewer_id, CaseLock.expires_at > now)
        .order_by(CaseLock.acquired_at)
    ).all()  # a reviewer holds few leases: look them up one by one through the indexes
    for case_id in held:
        reviewed = session.scalar(
            select(ChainReview.id)
            .join(Chain, Chain.id == ChainReview.chain_id)
            .where(Chain.case_id == case_id, ChainReview.reviewer_id == reviewer_id)
            .limit(1)
        )
        if reviewed is None:
            return session.get(Case, case_id)
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
    the next candidate is tried.
    """
    now = utcnow()
    if flt == WorklistFilter():
        held = _held_case(session, reviewer_id, now)
        if held is not None:
            claim_case(session=session, case_id=held.id, reviewer_id=reviewer_id, lease=lease)
            return held
    skipped: list[int] = []
    for _ in range(attempts):
        query = _waiting_for(reviewer_id, now, flt).order_by(Case.priority.desc(), Case.id).limit(1)
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
    """Counts for the worklist header: open, verified, archived, and done by this reviewer."""
    counts = {s.value: 0 for s in CaseStatus}
    for status, n in session.execute(select(Case.status, func.count()).group_by(Case.status)):
        counts[status.value] = n
    if reviewer_id is not None:
        counts["mine"] = (
            session.scalar(
                select(func.count(func.distinct(Chain.case_id)))
                .join(ChainReview, ChainReview.chain_id == Chain.id)
                .where(ChainReview.reviewer_id == reviewer_id)
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


__all__ = ["WorklistFilter", "next_case", "status_counts", "worklist"]
