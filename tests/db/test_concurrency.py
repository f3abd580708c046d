"""Concurrent writers on real SQLite and PostgreSQL: nothing lost, nothing doubled, one winner."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from review_db import store
from review_db.engine import session_scope
from review_db.errors import CaseLocked
from review_db.models import CaseLock, StepVerdict
from tests import factories
from tests.factories import LEASE

THREADS = 16


def test_16_concurrent_writers_all_land_exactly_once(db) -> None:
    # 16 reviewers, each on their own case, each recording a verdict on every step at once.
    with session_scope(db.factory, actor="test") as s:
        work = []
        for _ in range(THREADS):
            _, chain = factories.case(s, steps=tuple(f"Step {i} text." for i in range(5)))
            work.append((factories.user(s).id, [st.id for st in chain.steps]))
    barrier = threading.Barrier(THREADS)

    def review(reviewer_id: int, step_ids: list[int]) -> int:
        barrier.wait()
        for n, step_id in enumerate(step_ids):
            with session_scope(db.factory, actor=f"user:{reviewer_id}") as s:
                store.record_verdict(
                    session=s,
                    step_id=step_id,
                    reviewer_id=reviewer_id,
                    verdict="accept",
                    request_id=f"{reviewer_id}-{n}",
                    lease=LEASE,
                )
        return len(step_ids)

    with ThreadPoolExecutor(THREADS) as pool:
        landed = sum(pool.map(lambda w: review(*w), work))
    with db.factory() as s:
        stored = s.scalar(select(func.count()).select_from(StepVerdict))
        distinct = s.scalar(select(func.count(func.distinct(StepVerdict.request_id))))
    assert landed == stored == distinct == THREADS * 5


def test_16_threads_same_reviewer_same_case_each_verdict_once(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        _, chain = factories.case(s, steps=tuple(f"Step {i}." for i in range(THREADS)))
        reviewer = factories.user(s)
    barrier = threading.Barrier(THREADS)

    def one(step_id: int) -> None:
        barrier.wait()
        for _attempt in range(2):  # a retry of the same request must not double it
            with session_scope(db.factory, actor="r") as s:
                store.record_verdict(
                    session=s,
                    step_id=step_id,
                    reviewer_id=reviewer.id,
                    verdict="reject",
                    request_id=f"req-{step_id}",
                    lease=LEASE,
                )

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, [st.id for st in chain.steps]))
    with db.factory() as s:
        assert s.scalar(select(func.count()).select_from(StepVerdict)) == THREADS


def _race_claims(db, case_id: int, reviewers: tuple[int, ...]) -> dict[int, str]:
    barrier = threading.Barrier(len(reviewers))
    outcomes: dict[int, str] = {}

    def claim(reviewer_id: int) -> None:
        barrier.wait()
        try:
            with session_scope(db.factory, actor=f"user:{reviewer_id}") as s:
                store.claim_case(session=s, case_id=case_id, reviewer_id=reviewer_id, lease=LEASE)
            outcomes[reviewer_id] = "won"
        except CaseLocked:
            outcomes[reviewer_id] = "locked"

    threads = [threading.Thread(target=claim, args=(r,)) for r in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_reviewers_claiming_one_case_exactly_one_wins(db) -> None:
    for _round in range(5):
        with session_scope(db.factory, actor="test") as s:
            case, _ = factories.case(s)
            a, b = factories.user(s).id, factories.user(s).id
        outcomes = _race_claims(db, case.id, (a, b))
        assert sorted(outcomes.values()) == ["locked", "won"]
        winner = next(r for r, o in outcomes.items() if o == "won")
        with db.factory() as s:
            assert s.get(CaseLock, case.id).reviewer_id == winner


def test_next_case_hands_out_distinct_cases_under_contention(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        for _ in range(8):
            factories.case(s)
        reviewers = [factories.user(s).id for _ in range(8)]
    barrier = threading.Barrier(8)

    def take(reviewer_id: int) -> int | None:
        barrier.wait()
        with session_scope(db.factory, actor=f"user:{reviewer_id}") as s:
            case = store.next_case(session=s, reviewer_id=reviewer_id, lease=LEASE)
            return case.id if case else None

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(take, reviewers))
    assert None not in got and len(set(got)) == 8
