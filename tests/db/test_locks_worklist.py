"""Leases (claim, renew, takeover after expiry) and the reviewer's worklist."""

from __future__ import annotations

import datetime as dt

import pytest

from review_db import store
from review_db.engine import session_scope
from review_db.errors import CaseLocked
from review_db.models import CaseLock
from review_db.types import TaskType
from tests import factories
from tests.factories import LEASE


def test_lease_renewal_and_takeover_only_after_expiry(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        case, chain = factories.case(s)
        a, b = factories.user(s, name="ann"), factories.user(s, name="bob")
    with session_scope(db.factory, actor="a") as s:
        first = store.claim_case(session=s, case_id=case.id, reviewer_id=a.id, lease=LEASE).expires_at
    with session_scope(db.factory, actor="a") as s:
        assert store.renew_lock(session=s, case_id=case.id, reviewer_id=a.id, lease=LEASE).expires_at >= first
    with pytest.raises(CaseLocked, match="ann") as info, session_scope(db.factory, actor="b") as s:
        store.claim_case(session=s, case_id=case.id, reviewer_id=b.id, lease=LEASE)
    assert info.value.holder == "ann"
    # b cannot write verdicts on a case ann holds
    with pytest.raises(CaseLocked), session_scope(db.factory, actor="b") as s:
        store.record_verdict(
            session=s, step_id=chain.steps[0].id, reviewer_id=b.id, verdict="accept", lease=LEASE
        )
    with session_scope(db.factory, actor="test") as s:  # let ann's lease lapse
        s.get(CaseLock, case.id).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with session_scope(db.factory, actor="b") as s:
        assert store.claim_case(session=s, case_id=case.id, reviewer_id=b.id, lease=LEASE).reviewer_id == b.id
    with pytest.raises(CaseLocked, match="bob"), session_scope(db.factory, actor="a") as s:
        store.record_verdict(
            session=s, step_id=chain.steps[0].id, reviewer_id=a.id, verdict="accept", lease=LEASE
        )


def test_next_case_honours_required_reviews_locks_and_done_cases(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        c1, ch1 = factories.case(s, required_reviews=2, steps=("One.",), priority=1)
        c2, _ = factories.case(
            s, required_reviews=1, steps=("Two.",), task_type=TaskType.binary, options=["Yes", "No"]
        )
        a, b, c = (factories.user(s).id for _ in range(3))
    with session_scope(db.factory, actor="a") as s:
        assert store.next_case(session=s, reviewer_id=a, lease=LEASE).id == c1.id  # higher priority
        store.record_verdict(session=s, step_id=ch1.steps[0].id, reviewer_id=a, verdict="accept", lease=LEASE)
        store.submit_review(session=s, chain_id=ch1.id, reviewer_id=a, answer_verdict="agree", lease=LEASE)
    with session_scope(db.factory, actor="a") as s:  # a did c1: gets c2 next
        assert store.next_case(session=s, reviewer_id=a, lease=LEASE).id == c2.id
    with session_scope(db.factory, actor="b") as s:  # c2 is a's now; c1 still needs a second review
        assert store.next_case(session=s, reviewer_id=b, lease=LEASE).id == c1.id
    with session_scope(db.factory, actor="c") as s:  # both held by others
        assert store.next_case(session=s, reviewer_id=c, lease=LEASE) is None
    with session_scope(db.factory, actor="c") as s:
        flt = store.WorklistFilter(task_type=TaskType.binary)
        cases, total = store.worklist(session=s, reviewer_id=a, flt=flt)
        assert [x.id for x in cases] == [c2.id] and total == 1
        counts = store.status_counts(session=s, reviewer_id=a)
        assert counts["mine"] == 1 and counts["open"] == 2
