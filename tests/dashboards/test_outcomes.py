"""The dashboards count reviews by outcome: agreed, disagreed, chain unusable; amendments not."""

from __future__ import annotations

from chestx.web.dashboards import charts as page
from review_db import store
from review_db.engine import session_scope
from services.dashboards.queries import DashboardData, review_outcomes
from tests import factories
from tests.factories import LEASE


def test_outcomes_count_unusable_chains_and_leave_amendments_out(db) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        _, good = factories.case(s, steps=("One.",))
        _, empty = factories.case(s, steps=())
        _, amended = factories.case(s, steps=("Two.",))
        r = factories.user(s).id
    with session_scope(db.factory, actor="r") as s:
        for chain in (s.merge(good), s.merge(amended)):
            store.claim_case(session=s, case_id=chain.case_id, reviewer_id=r, lease=LEASE)
            store.record_verdict(
                session=s, step_id=chain.steps[0].id, reviewer_id=r, verdict="accept", lease=LEASE
            )
            store.submit_review(
                session=s, chain_id=chain.id, reviewer_id=r, answer_verdict="agree", lease=LEASE
            )
        store.claim_case(session=s, case_id=empty.case_id, reviewer_id=r, lease=LEASE)
        store.submit_review(
            session=s,
            chain_id=empty.id,
            reviewer_id=r,
            answer_verdict="unusable",
            comment="No steps.",
            lease=LEASE,
        )
        store.reopen_review(session=s, chain_id=amended.id, reviewer_id=r, lease=LEASE)
    with db.factory() as s:
        outcomes = review_outcomes(session=s)
    assert outcomes == (("agree", 1), ("disagree", 0), ("unusable", 1))
    line = page.status_line(DashboardData(outcomes=outcomes))
    assert "1 agreed · 0 disagreed · 1 chain unusable" in line
