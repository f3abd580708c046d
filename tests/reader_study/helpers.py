"""Builders for reader-study tests: verified cases and reader accounts through the real store."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from review_db import store
from review_db.types import Role
from tests import factories

LEASE = dt.timedelta(minutes=15)
STEPS = ("The lungs are clear.", "No effusion is seen.", "The heart size is normal.")


def verified_case(
    session: Session, *, verifier_id: int, answer: str = "A", truth: str | None = "A", **over
) -> tuple[int, int]:
    """A case verified by ``verifier_id`` (agreeing with the model): (case id, chain id)."""
    case, chain = factories.case(
        session, steps=over.pop("steps", STEPS), answer=answer, reference_answer=truth, **over
    )
    store.claim_case(session=session, case_id=case.id, reviewer_id=verifier_id, lease=LEASE)
    store.submit_review(
        session=session, chain_id=chain.id, reviewer_id=verifier_id, answer_verdict="agree",
        require_all_steps=False, lease=LEASE,
    )  # fmt: skip
    return case.id, chain.id


def readers(session: Session, n: int, prefix: str = "reader") -> list[int]:
    return [factories.user(session, name=f"{prefix}{i}", role=Role.reviewer).id for i in range(1, n + 1)]


def world(session: Session, *, n_cases: int, n_readers: int) -> tuple[int, list[int], list[int]]:
    """(admin id, verified case ids, reader ids)."""
    admin = factories.user(session, role=Role.admin, name="study-admin")
    verifier = factories.user(session, name="verifier")
    cases = [verified_case(session, verifier_id=verifier.id)[0] for _ in range(n_cases)]
    return admin.id, cases, readers(session, n_readers)
