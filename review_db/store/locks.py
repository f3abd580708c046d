"""Case leases: one reviewer works on a case at a time.

A claim creates a lease that expires after ``lease``; the holder renews it while the page is
open. Another reviewer can take the case over only once the lease has expired. Two reviewers
claiming the same free case at once: the primary key on ``case_locks.case_id`` lets exactly one
insert win; the loser gets :class:`CaseLocked`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from review_db import audit
from review_db.errors import CaseLocked, ReviewSubmitted
from review_db.models import Case, CaseLock, ChainReview, User
from review_db.store.cases import current_chain
from review_db.store.common import get_or_raise, savepoint, try_insert
from review_db.types import AnswerVerdict, utcnow


def _holder_name(session: Session, lock: CaseLock) -> str:
    user = session.get(User, lock.reviewer_id)
    return user.username if user else f"user {lock.reviewer_id}"


def current_lock(*, session: Session, case_id: int) -> CaseLock | None:
    """The case's lease if one exists and has not expired."""
    lock = session.get(CaseLock, case_id, populate_existing=True)
    if lock is None or lock.expires_at <= utcnow():
        return None
    return lock


def claim_case(
    *, session: Session, case_id: int, reviewer_id: int, lease: dt.timedelta, renew_below: float = 0.5
) -> CaseLock:
    """Claim (or renew) the lease on a case for ``reviewer_id``.

    The holder's lease is extended when less than ``renew_below`` of it remains (so a burst of
    verdicts is one write, not one per verdict). Raises CaseLocked when another reviewer holds an
    unexpired lease, and ReviewSubmitted when this reviewer has submitted a review of the case's
    current chain (a submitted review is final; see ``reviews.reopen_review``). A chain judged
    unusable does not count: the reviewer may claim the case to ask for a fresh chain.
    """
    get_or_raise(session, Case, case_id)
    if _submitted_current(session, case_id, reviewer_id):
        raise ReviewSubmitted(case_id)
    now = utcnow()
    lock = session.get(CaseLock, case_id, with_for_update=True, populate_existing=True)
    if lock is None:
        lock = CaseLock(case_id=case_id, reviewer_id=reviewer_id, acquired_at=now, expires_at=now + lease)
        if try_insert(session, lock):
            return lock
        # Someone else inserted first; lock their row so the decision below is not raced.
        lock = session.get(CaseLock, case_id, with_for_update=True, populate_existing=True)
        assert lock is not None
    if lock.reviewer_id == reviewer_id:
        if lock.expires_at - now < lease * renew_below:
            lock.expires_at = now + lease
            session.flush()
        return lock
    if lock.expires_at > now:
        raise CaseLocked(case_id=case_id, holder=_holder_name(session, lock), expires_at=lock.expires_at)
    previous = lock.reviewer_id
    try:
        with savepoint(session):  # versioned UPDATE: a concurrent takeover makes this one stale
            lock.reviewer_id, lock.acquired_at, lock.expires_at = reviewer_id, now, now + lease
            session.flush()
    except StaleDataError:
        lock = session.get(CaseLock, case_id, populate_existing=True)
        raise CaseLocked(
            case_id=case_id, holder=_holder_name(session, lock), expires_at=lock.expires_at
        ) from None
    audit.record(
        session,
        action="lock_takeover",
        entity="case_locks",
        entity_id=str(case_id),
        before={"reviewer_id": previous},
        after={"reviewer_id": reviewer_id},
    )
    return lock


def _submitted_current(session: Session, case_id: int, reviewer_id: int) -> bool:
    chain = current_chain(session=session, case_id=case_id)
    if chain is None:
        return False
    found = session.scalar(
        select(ChainReview.id).where(
            ChainReview.chain_id == chain.id,
            ChainReview.reviewer_id == reviewer_id,
            ChainReview.reopened_at.is_(None),
            ChainReview.answer_verdict != AnswerVerdict.unusable,
        )
    )
    return found is not None


def renew_lock(*, session: Session, case_id: int, reviewer_id: int, lease: dt.timedelta) -> CaseLock:
    """Extend the holder's lease (the app calls this while the case is open)."""
    return claim_case(session=session, case_id=case_id, reviewer_id=reviewer_id, lease=lease, renew_below=1.0)


def release_case(*, session: Session, case_id: int, reviewer_id: int) -> bool:
    """Give the case back; True if this reviewer held it."""
    lock = session.get(CaseLock, case_id, populate_existing=True)
    if lock is None or lock.reviewer_id != reviewer_id:
        return False
    session.delete(lock)
    session.flush()
    return True


def require_lease(*, session: Session, case_id: int, reviewer_id: int, lease: dt.timedelta) -> None:
    """Make sure ``reviewer_id`` may write to the case now, renewing or re-taking a lapsed lease.

    A reviewer whose lease lapsed while nobody else claimed the case keeps working (their verdict
    is not lost); if someone else has it now, CaseLocked tells them who and until when.
    """
    claim_case(session=session, case_id=case_id, reviewer_id=reviewer_id, lease=lease)


def expired_locks(*, session: Session) -> list[CaseLock]:
    return list(session.scalars(select(CaseLock).where(CaseLock.expires_at <= utcnow())))
