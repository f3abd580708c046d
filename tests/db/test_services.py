"""Service functions on a real database: users, cases, verdicts, reviews, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from review_db import store
from review_db.engine import session_scope
from review_db.errors import AuthenticationFailed, ConflictError, ValidationError
from review_db.models import AuditLog, ChainReview, Step, StepVerdict
from review_db.types import CaseStatus, ChainStatus, Role, StepKind, Verdict
from tests import factories
from tests.factories import LEASE


def test_add_user_hashes_password_and_authenticates(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        u = factories.user(s, name="alice", password="s3cret-password")
        assert u.password_hash.startswith("$argon2") and "s3cret" not in u.password_hash
    with session_scope(db.factory, actor="test") as s:
        assert store.authenticate(session=s, username="alice", password="s3cret-password").id == u.id
        with pytest.raises(AuthenticationFailed):
            store.authenticate(session=s, username="alice", password="wrong-password")
        with pytest.raises(AuthenticationFailed):
            store.authenticate(session=s, username="nobody", password="s3cret-password")
        with pytest.raises(ValidationError, match="already exists"):
            factories.user(s, name="alice")


def test_login_tokens_resolve_and_expire(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        u = factories.user(s)
        token = store.create_login(session=s, user=u, hours=1)
        expired = store.create_login(session=s, user=u, hours=-1)
    with session_scope(db.factory, actor="test") as s:
        assert store.resolve_login(session=s, token=token).id == u.id
        assert store.resolve_login(session=s, token=expired) is None
        assert store.resolve_login(session=s, token="forged") is None
        store.revoke_login(session=s, token=token)
    with session_scope(db.factory, actor="test") as s:
        assert store.resolve_login(session=s, token=token) is None


def test_every_change_is_audited_with_before_and_after(db) -> None:
    with session_scope(db.factory, actor="user:7") as s:
        case, chain = factories.case(s)
        reviewer = factories.user(s)
    with session_scope(db.factory, actor="user:8") as s:
        store.update_case(session=s, case_id=case.id, expected_version=case.version, priority=5)
    with db.factory() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.entity == "cases")).all()
        assert [r.action for r in rows] == ["insert", "update"]
        assert (
            rows[1].actor == "user:8"
            and rows[1].before == {"priority": 0}
            and rows[1].after == {"priority": 5}
        )
        assert rows[0].at.tzinfo is not None
        user_row = s.scalars(
            select(AuditLog).where(AuditLog.entity == "users", AuditLog.entity_id == str(reviewer.id))
        ).one()
        assert user_row.after["password_hash"] == "***"
        steps = s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.entity == "steps"))
        assert steps == len(chain.steps)


def test_stale_edit_gets_conflict_and_overwrites_nothing(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        case, _ = factories.case(s)
    seen = case.version
    with session_scope(db.factory, actor="a") as s:
        store.update_case(session=s, case_id=case.id, expected_version=seen, question="First edit?")
    with (
        pytest.raises(ConflictError, match="changed by someone else"),
        session_scope(db.factory, actor="b") as s,
    ):
        store.update_case(session=s, case_id=case.id, expected_version=seen, question="Second edit?")
    with db.factory() as s:
        assert s.get(type(case), case.id).question == "First edit?"


def test_verdicts_are_append_only_latest_wins(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        case, chain = factories.case(s)
        r = factories.user(s)
    step_id = chain.steps[0].id
    with session_scope(db.factory, actor="r") as s:
        store.record_verdict(session=s, step_id=step_id, reviewer_id=r.id, verdict="accept", lease=LEASE)
    with session_scope(db.factory, actor="r") as s:
        store.record_verdict(
            session=s,
            step_id=step_id,
            reviewer_id=r.id,
            verdict="correct",
            corrected_text="The lungs are hyperinflated.",
            lease=LEASE,
        )
    with db.factory() as s:
        eff = store.effective_verdicts(session=s, chain_id=chain.id)
        assert eff[(step_id, r.id)].verdict is Verdict.correct
        assert len(store.verdict_history(session=s, step_ids=[step_id])) == 2


def test_verdict_request_id_is_idempotent(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        _, chain = factories.case(s)
        r = factories.user(s)
    for _ in range(3):
        with session_scope(db.factory, actor="r") as s:
            store.record_verdict(
                session=s,
                step_id=chain.steps[1].id,
                reviewer_id=r.id,
                verdict="reject",
                comment="not visible",
                request_id="req-1",
                lease=LEASE,
            )
    with db.factory() as s:
        assert s.scalar(select(func.count()).select_from(StepVerdict)) == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"verdict": "correct"}, "needs the corrected text"),
        ({"verdict": "accept", "corrected_text": "x"}, "only goes with"),
        ({"verdict": "maybe"}, "unknown verdict"),
        ({"verdict": "correct", "corrected_text": "The lungs are clear."}, "identical"),
    ],
)
def test_bad_verdicts_are_refused_and_write_nothing(db, kwargs, message) -> None:
    with session_scope(db.factory, actor="test") as s:
        _, chain = factories.case(s)
        r = factories.user(s)
    with pytest.raises(ValidationError, match=message), session_scope(db.factory, actor="r") as s:
        store.record_verdict(session=s, step_id=chain.steps[0].id, reviewer_id=r.id, lease=LEASE, **kwargs)
    with db.factory() as s:
        assert s.scalar(select(func.count()).select_from(StepVerdict)) == 0


def test_submit_review_needs_all_steps_then_verifies_case(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        case, chain = factories.case(s, required_reviews=1)
        r = factories.user(s)
    with session_scope(db.factory, actor="r") as s:
        store.record_verdict(
            session=s, step_id=chain.steps[0].id, reviewer_id=r.id, verdict="accept", lease=LEASE
        )
    with (
        pytest.raises(ValidationError, match="steps 2, 3 have no verdict"),
        session_scope(db.factory, actor="r") as s,
    ):
        store.submit_review(
            session=s, chain_id=chain.id, reviewer_id=r.id, answer_verdict="agree", lease=LEASE
        )
    with session_scope(db.factory, actor="r") as s:
        for step in chain.steps[1:]:
            store.record_verdict(session=s, step_id=step.id, reviewer_id=r.id, verdict="reject", lease=LEASE)
        store.add_step(
            session=s,
            chain_id=chain.id,
            reviewer_id=r.id,
            after_position=0,
            text="Costophrenic angles are sharp.",
            lease=LEASE,
        )
        store.submit_review(
            session=s,
            chain_id=chain.id,
            reviewer_id=r.id,
            answer_verdict="disagree",
            corrected_answer="c",
            time_spent_s=42.5,
            lease=LEASE,
        )
    with db.factory() as s:
        c = s.get(type(case), case.id)
        assert c.status is CaseStatus.verified and c.review_count == 1
        review = s.scalars(select(ChainReview)).one()
        assert review.corrected_answer == "C" and review.time_spent_s == 42.5
        ch = store.current_chain(session=s, case_id=case.id)
        order = [(st.kind, st.text) for st in store.ordered_steps(ch, reviewer_id=r.id)]
        assert order[1] == (StepKind.added, "Costophrenic angles are sharp.")
        assert store.current_lock(session=s, case_id=case.id) is None
    with pytest.raises(ConflictError, match="already submitted"), session_scope(db.factory, actor="r") as s:
        store.submit_review(
            session=s, chain_id=chain.id, reviewer_id=r.id, answer_verdict="agree", lease=LEASE
        )


def test_chain_with_bad_answer_or_no_steps_is_flagged(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        case, _ = factories.case(s)
        chain = store.add_chain(session=s, case_id=case.id, steps=[], final_answer="Z", source="model")
        assert chain.status is ChainStatus.malformed
        assert {"answer_outside_options", "no_steps"} <= set(chain.flags)
        assert s.scalar(select(func.count()).select_from(Step).where(Step.chain_id == chain.id)) == 0


def test_roles_are_checked(db) -> None:
    from review_db.errors import PermissionDenied

    with session_scope(db.factory, actor="test") as s:
        reviewer = factories.user(s, role=Role.reviewer)
        admin = factories.user(s, role=Role.admin)
        store.require_role(admin, Role.researcher)
        with pytest.raises(PermissionDenied):
            store.require_role(reviewer, Role.researcher)


def test_each_verdict_has_exactly_one_audit_row_from_the_trigger(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        _, chain = factories.case(s)
        r = factories.user(s)
    # The first verdict takes the checked path (it claims the lease); the others the fast path.
    for step, verdict in zip(chain.steps, ("accept", "reject", "accept"), strict=True):
        with session_scope(db.factory, actor=f"user:{r.id}") as s:
            store.record_verdict(session=s, step_id=step.id, reviewer_id=r.id, verdict=verdict, lease=LEASE)
    with session_scope(db.factory, actor=f"user:{r.id}") as s:  # a retry adds nothing
        store.record_verdict(
            session=s,
            step_id=chain.steps[0].id,
            reviewer_id=r.id,
            verdict="accept",
            request_id="x",
            lease=LEASE,
        )
        store.record_verdict(
            session=s,
            step_id=chain.steps[0].id,
            reviewer_id=r.id,
            verdict="accept",
            request_id="x",
            lease=LEASE,
        )
    with db.factory() as s:
        stored = s.scalars(select(StepVerdict).order_by(StepVerdict.id)).all()
        rows = s.scalars(
            select(AuditLog).where(AuditLog.entity == "step_verdicts").order_by(AuditLog.id)
        ).all()
    assert [r.entity_id for r in rows] == [str(v.id) for v in stored] and len(stored) == 4
    assert {r.actor for r in rows} == {f"user:{r.id}"}
    assert [r.after["verdict"] for r in rows] == ["accept", "reject", "accept", "accept"]
    assert rows[0].after["step_id"] == chain.steps[0].id and rows[0].at.tzinfo is not None
