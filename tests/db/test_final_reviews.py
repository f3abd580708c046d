"""A submitted review is final; amendments reopen it; a chain that cannot be verified is unusable.

On SQLite and PostgreSQL (the ``db`` fixture): after submitting, a stale tab can neither record a
verdict (fast or checked path), add or remove a step, nor claim the case; nothing is written. An
explicit, audited reopen lets the reviewer amend and submit again, and the export follows only
the submitted state. A chain without steps, answer or well-formed output cannot be agreed with:
it is judged unusable (with a reason), the case waits for a fresh chain and is not verified.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from review_db import store
from review_db.engine import session_scope
from review_db.errors import ReviewSubmitted, ValidationError
from review_db.models import AuditLog, Case, ChainReview, Step, StepVerdict
from review_db.types import AnswerVerdict, CaseStatus, Verdict
from tests import factories
from tests.factories import LEASE


def _review_all(s, chain, reviewer_id: int, verdict: str = "accept", **submit) -> None:  # noqa: ANN001
    store.claim_case(session=s, case_id=chain.case_id, reviewer_id=reviewer_id, lease=LEASE)
    for step in chain.steps:
        store.record_verdict(
            session=s, step_id=step.id, reviewer_id=reviewer_id, verdict=verdict, lease=LEASE
        )
    store.submit_review(
        session=s,
        chain_id=chain.id,
        reviewer_id=reviewer_id,
        **({"answer_verdict": "agree"} | submit),
        lease=LEASE,
    )


def _counts(db) -> tuple[int, int, int]:  # noqa: ANN001
    with db.factory() as s:
        return (
            s.scalar(select(func.count()).select_from(StepVerdict)),
            s.scalar(select(func.count()).select_from(Step)),
            s.scalar(select(func.count()).select_from(AuditLog)),
        )


def test_a_submitted_review_refuses_every_change_from_a_stale_tab(db) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        case, chain = factories.case(s)
        rev = factories.user(s).id
        step_ids = [st.id for st in chain.steps]
    with session_scope(db.factory, actor=f"user:{rev}") as s:
        chain = s.merge(chain)
        store.claim_case(session=s, case_id=case.id, reviewer_id=rev, lease=LEASE)
        added = store.add_step(
            session=s,
            chain_id=chain.id,
            reviewer_id=rev,
            after_position=0,
            text="Look at the apices.",
            lease=LEASE,
        ).id
        for step_id in step_ids:
            store.record_verdict(session=s, step_id=step_id, reviewer_id=rev, verdict="accept", lease=LEASE)
        store.submit_review(
            session=s, chain_id=chain.id, reviewer_id=rev, answer_verdict="agree", lease=LEASE
        )
    before = _counts(db)
    attempts = [
        lambda s: store.record_verdict(
            session=s, step_id=step_ids[0], reviewer_id=rev, verdict="reject", lease=LEASE
        ),
        lambda s: store.record_verdict(
            session=s,
            step_id=step_ids[1],
            reviewer_id=rev,
            verdict="correct",
            corrected_text="Changed.",
            lease=LEASE,
        ),
        lambda s: store.add_step(
            session=s, chain_id=chain.id, reviewer_id=rev, after_position=1, text="More.", lease=LEASE
        ),
        lambda s: store.remove_added_step(session=s, step_id=added, reviewer_id=rev, lease=LEASE),
        lambda s: store.claim_case(session=s, case_id=case.id, reviewer_id=rev, lease=LEASE),
        lambda s: store.submit_review(
            session=s,
            chain_id=chain.id,
            reviewer_id=rev,
            answer_verdict="disagree",
            corrected_answer="B",
            lease=LEASE,
        ),
    ]
    for attempt in attempts:
        with (
            pytest.raises(ReviewSubmitted, match="Amend my review"),
            session_scope(db.factory, actor="x") as s,
        ):
            attempt(s)
    assert _counts(db) == before
    with db.factory() as s:
        effective = store.effective_verdicts(session=s, chain_id=chain.id, reviewer_id=rev)
        assert {v.verdict for v in effective.values()} == {Verdict.accept}
        assert s.get(Case, case.id).status is CaseStatus.verified


def test_amending_reopens_audits_and_counts_again_only_when_resubmitted(db) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        case, chain = factories.case(s)
        rev = factories.user(s).id
    with session_scope(db.factory, actor=f"user:{rev}") as s:
        _review_all(s, s.merge(chain), rev)
    with session_scope(db.factory, actor=f"user:{rev}") as s:
        store.reopen_review(session=s, chain_id=chain.id, reviewer_id=rev, lease=LEASE)
    with db.factory() as s:
        c = s.get(Case, case.id)
        assert (c.status, c.review_count) == (CaseStatus.open, 0)  # not verified while amended
        review = s.scalar(select(ChainReview))
        assert review.reopened_at is not None
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "review_reopened"))
        assert audit.actor == f"user:{rev}" and audit.before["case_status"] == "verified"
        assert store.current_lock(session=s, case_id=case.id).reviewer_id == rev
        waiting, _ = store.worklist(session=s, reviewer_id=rev)
        assert [w.id for w in waiting] == [case.id]  # back in the reviewer's worklist, held first
    with session_scope(db.factory, actor=f"user:{rev}") as s:
        store.record_verdict(
            session=s,
            step_id=chain.steps[0].id,
            reviewer_id=rev,
            verdict="reject",
            comment="Wrong.",
            lease=LEASE,
        )
        store.submit_review(
            session=s,
            chain_id=chain.id,
            reviewer_id=rev,
            answer_verdict="disagree",
            corrected_answer="b",
            lease=LEASE,
        )
    with db.factory() as s:
        c = s.get(Case, case.id)
        assert (c.status, c.review_count) == (CaseStatus.verified, 1)
        review = s.scalar(select(ChainReview))
        assert (review.reopened_at, review.answer_verdict, review.corrected_answer) == (
            None,
            AnswerVerdict.disagree,
            "B",
        )
        assert s.scalar(select(func.count()).select_from(ChainReview)) == 1
        effective = store.effective_verdicts(session=s, chain_id=chain.id, reviewer_id=rev)
        assert effective[(chain.steps[0].id, rev)].verdict is Verdict.reject


def test_someone_else_holding_the_case_blocks_an_amendment(db) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        case, chain = factories.case(s, required_reviews=2)
        a, b = factories.user(s).id, factories.user(s).id
    with session_scope(db.factory, actor="a") as s:
        _review_all(s, s.merge(chain), a)
    with session_scope(db.factory, actor="b") as s:
        store.claim_case(session=s, case_id=case.id, reviewer_id=b, lease=LEASE)
    with pytest.raises(Exception, match="being reviewed by"), session_scope(db.factory, actor="a") as s:
        store.reopen_review(session=s, chain_id=chain.id, reviewer_id=a, lease=LEASE)
    with db.factory() as s:
        assert s.scalar(select(ChainReview)).reopened_at is None
        assert s.get(Case, case.id).review_count == 1


@pytest.mark.parametrize(
    ("steps", "answer", "why"),
    [((), "A", "no reasoning steps"), (("The lungs are clear.",), None, "no final answer")],
)
def test_a_chain_that_cannot_be_verified_is_judged_unusable(db, steps, answer, why) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        case, chain = factories.case(s, steps=steps, answer=answer)
        rev = factories.user(s).id
    with session_scope(db.factory, actor="r") as s:
        store.claim_case(session=s, case_id=case.id, reviewer_id=rev, lease=LEASE)
        for step in s.merge(chain).steps:
            store.record_verdict(session=s, step_id=step.id, reviewer_id=rev, verdict="accept", lease=LEASE)
    for verdict in ("agree", "disagree"):
        with pytest.raises(ValidationError, match=why), session_scope(db.factory, actor="r") as s:
            store.submit_review(
                session=s,
                chain_id=chain.id,
                reviewer_id=rev,
                answer_verdict=verdict,
                corrected_answer="B",
                lease=LEASE,
            )
    with pytest.raises(ValidationError, match="say why"), session_scope(db.factory, actor="r") as s:
        store.submit_review(
            session=s, chain_id=chain.id, reviewer_id=rev, answer_verdict="unusable", lease=LEASE
        )
    with session_scope(db.factory, actor="r") as s:
        store.submit_review(
            session=s,
            chain_id=chain.id,
            reviewer_id=rev,
            answer_verdict="unusable",
            comment="The model stopped before answering.",
            lease=LEASE,
        )
    with db.factory() as s:
        c = s.get(Case, case.id)
        assert (c.status, c.review_count) == (CaseStatus.open, 0)  # never verified
        review = s.scalar(select(ChainReview))
        assert review.answer_verdict is AnswerVerdict.unusable
        assert review.comment == "The model stopped before answering."
        assert store.worklist(session=s, reviewer_id=rev)[1] == 0
        needing, total = store.worklist(
            session=s, reviewer_id=rev, flt=store.WorklistFilter(needs_chain=True)
        )
        assert [n.id for n in needing] == [case.id] and total == 1
        assert store.status_counts(session=s)["needs_chain"] == 1
    with session_scope(db.factory, actor="model") as s:  # a fresh chain: the case is reviewable again
        store.add_chain(session=s, case_id=case.id, steps=["No effusion."], final_answer="A", source="model")
    with db.factory() as s:
        waiting, _ = store.worklist(session=s, reviewer_id=rev)
        assert [w.id for w in waiting] == [case.id]
        assert store.status_counts(session=s)["needs_chain"] == 0


def test_malformed_chain_cannot_be_agreed_with(db) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        case, _ = factories.case(s, steps=())
        chain = store.add_chain(
            session=s,
            case_id=case.id,
            steps=["Clear lungs."],
            final_answer="A",
            source="model",
            status="malformed",
        )
        rev = factories.user(s).id
    with pytest.raises(ValidationError, match="malformed"), session_scope(db.factory, actor="r") as s:
        store.claim_case(session=s, case_id=case.id, reviewer_id=rev, lease=LEASE)
        store.record_verdict(
            session=s, step_id=chain.steps[0].id, reviewer_id=rev, verdict="accept", lease=LEASE
        )
        store.submit_review(
            session=s, chain_id=chain.id, reviewer_id=rev, answer_verdict="agree", lease=LEASE
        )
    with db.factory() as s:
        assert s.scalar(select(func.count()).select_from(ChainReview)) == 0


def test_worklist_search_sort_pages_and_model_names(db) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        rev = factories.user(s).id
        made = []
        for i in range(7):
            case, chain = factories.case(s, question=f"Question number {i}?", priority=i % 2)
            chain.source_detail = "chestx-reasoner" if i < 3 else "gpt-4o"
            made.append(case.id)
        empty = store.create_case(
            session=s, study_id=None, task_type="binary", question="No chain yet?", options=["Yes", "No"]
        )
    flt = store.WorklistFilter
    with db.factory() as s:
        page1, total = store.worklist(session=s, reviewer_id=rev, flt=flt(order="oldest"), limit=3)
        page3, _ = store.worklist(session=s, reviewer_id=rev, flt=flt(order="oldest"), limit=3, offset=6)
        assert total == 7 and [c.id for c in page1] == made[:3] and [c.id for c in page3] == made[6:]
        newest, _ = store.worklist(session=s, reviewer_id=rev, flt=flt(order="newest"), limit=1)
        assert newest[0].id == made[-1]
        assert [
            c.id for c in store.worklist(session=s, reviewer_id=rev, flt=flt(search=f"#{made[4]}"))[0]
        ] == [made[4]]
        assert store.worklist(session=s, reviewer_id=rev, flt=flt(search="number 5"))[0][0].id == made[5]
        assert store.worklist(session=s, reviewer_id=rev, flt=flt(search="gpt-4o"))[1] == 4
        assert store.worklist(session=s, reviewer_id=rev, flt=flt(model="chestx-reasoner"))[1] == 3
        assert store.worklist(session=s, reviewer_id=rev, flt=flt(search="100%_"))[1] == 0  # LIKE escaped
        needing, n = store.worklist(session=s, reviewer_id=rev, flt=flt(needs_chain=True))
        assert [c.id for c in needing] == [empty.id] and n == 1
