"""Verdicts on steps, steps added by reviewers, and submitted reviews.

Verdicts are append-only: a changed mind is a new row, and the effective verdict is the latest
per (step, reviewer). Each verdict carries a client-generated ``request_id`` so a retried request
(a lost response, a double click) is stored exactly once.

A submitted review is final: once a reviewer has submitted their review of a chain, their
verdicts, added steps and answer on it change only after :func:`reopen_review` (the app's "Amend
my review", audited), and count again once submitted again. A chain that cannot be verified
(no steps, no answer, malformed) can only be judged ``unusable``, with a reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from review_db import audit
from review_db.errors import ConflictError, NotFound, ReviewSubmitted, ValidationError
from review_db.identifiers import describe, find_identifiers
from review_db.models import Case, CaseLock, Chain, ChainReview, Step, StepVerdict
from review_db.store.cases import current_chain, normalise_answer
from review_db.store.common import check_version, get_or_raise, try_insert
from review_db.store.locks import claim_case, release_case, require_lease
from review_db.types import AnswerVerdict, CaseStatus, ChainStatus, StepKind, Verdict, utcnow
from vocab.limits import MAX_TEXT  # defined once; the pages render the same limit into their fields


def _clean_text(text: str | None, what: str) -> str:
    """Reviewer free text, stripped; refused when too long or when it looks like it identifies
    someone (it is exported with the datasets; see :mod:`review_db.identifiers`)."""
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise ValidationError(f"{what} is longer than {MAX_TEXT} characters")
    found = find_identifiers(text)
    if found:
        raise ValidationError(
            f"{what} seems to hold {describe(found)}: free text goes into the exported datasets and "
            "must not identify a patient or a person; please remove it (a year alone is fine)"
        )
    return text


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    """A stored verdict, as returned by :func:`record_verdict`."""

    id: int
    step_id: int
    reviewer_id: int
    verdict: Verdict
    corrected_text: str | None
    comment: str
    request_id: str
    created_at: dt.datetime


def _record(row: StepVerdict) -> VerdictRecord:
    return VerdictRecord(
        row.id,
        row.step_id,
        row.reviewer_id,
        row.verdict,
        row.corrected_text,
        row.comment,
        row.request_id,
        row.created_at,
    )


def record_verdict(
    *,
    session: Session,
    step_id: int,
    reviewer_id: int,
    verdict: Verdict | str,
    corrected_text: str | None = None,
    comment: str | None = None,
    request_id: str | None = None,
    lease: dt.timedelta,
) -> VerdictRecord:
    """Record a reviewer's verdict on a step (accept, correct with new text, or reject).

    Needs the reviewer to hold (or be able to re-take) the case's lease. Returns the stored
    verdict; with a ``request_id`` seen before, the verdict stored then.

    This is the app's hottest write, so in the common case (the reviewer's lease has more than
    half to run) it is one statement: INSERT ... SELECT over the step and the lease ... ON
    CONFLICT (request_id) DO NOTHING, audited by a database trigger. Anything else (no such
    step, a bad correction, a lease to renew or re-take, a repeated request) takes the checked
    path, which says what is wrong or retries after fixing the lease.
    """
    try:
        verdict = Verdict(verdict)
    except ValueError:
        raise ValidationError(
            f"unknown verdict {verdict!r}; one of {', '.join(v.value for v in Verdict)}"
        ) from None
    corrected = _clean_text(corrected_text, "the corrected step")
    comment = _clean_text(comment, "the comment")
    now = utcnow()
    values = dict(
        step_id=step_id,
        reviewer_id=reviewer_id,
        verdict=verdict,
        corrected_text=corrected or None,
        comment=comment,
        request_id=request_id or uuid.uuid4().hex,
        created_at=now,
    )
    if verdict.facts.needs_text == bool(corrected):
        new_id = _insert_if_leased(session, values, lease_until=now + lease / 2)
        if new_id is not None:  # the common case: one statement, audited by its trigger
            return VerdictRecord(id=new_id, **values)
    return _record_verdict_checked(session, values, lease=lease, now=now)


_VERDICT_COLUMNS = (
    "step_id",
    "reviewer_id",
    "verdict",
    "corrected_text",
    "comment",
    "request_id",
    "created_at",
)


@functools.cache
def _leased_insert(dialect: str, correction: bool):  # noqa: ANN202 - an Insert statement
    """The fast path's statement, built once per dialect (bound parameters; no per-call building)."""
    cols = StepVerdict.__table__.c
    conditions = [
        Step.id == bindparam("step_id"),
        CaseLock.reviewer_id == bindparam("reviewer_id"),
        CaseLock.expires_at > bindparam("lease_until", type_=cols.created_at.type),
        ~_final_review_exists(Step.chain_id, bindparam("reviewer_id")),
    ]
    if correction:
        conditions.append(func.trim(Step.text) != bindparam("corrected_text"))
    source = (
        select(*(bindparam(name, type_=cols[name].type) for name in _VERDICT_COLUMNS))
        .select_from(Step)
        .join(Chain, Chain.id == Step.chain_id)
        .join(CaseLock, CaseLock.case_id == Chain.case_id)
        .where(*conditions)
    )
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # On the Table, not the mapped class: a plain Core INSERT ... SELECT, not an ORM bulk insert.
    return (
        insert(StepVerdict.__table__)
        .from_select(list(_VERDICT_COLUMNS), source)
        .on_conflict_do_nothing(index_elements=["request_id"])
        .returning(cols.id)
    )


def _insert_if_leased(session: Session, values: dict, *, lease_until: dt.datetime) -> int | None:
    """INSERT the verdict only if its step exists, the reviewer's lease runs past ``lease_until``,
    a correction differs from the step, and the request id is new; returns the new id or None
    (then :func:`_record_verdict_checked` finds out why, or renews the lease, and retries)."""
    stmt = _leased_insert(session.get_bind().dialect.name, values["corrected_text"] is not None)
    return session.execute(stmt, {**values, "lease_until": lease_until}).scalar()


def _record_verdict_checked(
    session: Session, values: dict, *, lease: dt.timedelta, now: dt.datetime
) -> VerdictRecord:
    """The careful path: say exactly what is wrong, renew or re-take the lease, then insert."""
    step_id, reviewer_id = values["step_id"], values["reviewer_id"]
    verdict, corrected = values["verdict"], values["corrected_text"]
    found = session.execute(
        select(Step.text, Chain.case_id, CaseLock.reviewer_id, CaseLock.expires_at)
        .join(Chain, Chain.id == Step.chain_id)
        .outerjoin(CaseLock, CaseLock.case_id == Chain.case_id)
        .where(Step.id == step_id)
    ).one_or_none()
    if found is None:
        raise NotFound(f"no step {step_id}")
    step_text, case_id, holder, expires_at = found
    if verdict.facts.needs_text:
        if not corrected:
            raise ValidationError("a correction needs the corrected text")
        if corrected == step_text.strip():
            raise ValidationError("the correction is identical to the step; accept it instead")
    elif corrected:
        texts = ", ".join(repr(v.value) for v in Verdict if v.facts.needs_text)
        raise ValidationError(f"corrected text only goes with {texts}, not {verdict.value!r}")
    _require_open_review(session, chain_of_step(session, step_id), reviewer_id, case_id)
    if holder != reviewer_id or expires_at is None or expires_at - now < lease / 2:
        require_lease(session=session, case_id=case_id, reviewer_id=reviewer_id, lease=lease)
    new_id = session.execute(
        _insert_for(session)(StepVerdict)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["request_id"])
        .returning(StepVerdict.id)
    ).scalar()
    if new_id is None:  # this request was stored before (a retry, or a concurrent duplicate)
        seen = session.scalars(
            select(StepVerdict).where(StepVerdict.request_id == values["request_id"])
        ).one()
        return _record(_same_request(seen, step_id, reviewer_id))
    return VerdictRecord(id=new_id, **values)


def _final_review_exists(chain_id, reviewer_id):  # noqa: ANN001, ANN202 - SQL expressions
    """EXISTS: the reviewer's review of the chain is submitted (and not reopened for amendment)."""
    return exists().where(
        ChainReview.chain_id == chain_id,
        ChainReview.reviewer_id == reviewer_id,
        ChainReview.reopened_at.is_(None),
    )


def chain_of_step(session: Session, step_id: int) -> int:
    return session.scalar(select(Step.chain_id).where(Step.id == step_id))


def _require_open_review(session: Session, chain_id: int, reviewer_id: int, case_id: int) -> None:
    """Refuse a change to a chain whose review this reviewer has submitted (and not reopened)."""
    if session.scalar(select(_final_review_exists(chain_id, reviewer_id))):
        raise ReviewSubmitted(case_id)


def _insert_for(session: Session):  # noqa: ANN202
    """The dialect's INSERT construct (both SQLite and PostgreSQL know ON CONFLICT DO NOTHING)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _same_request(seen: StepVerdict, step_id: int, reviewer_id: int) -> StepVerdict:
    if seen.step_id != step_id or seen.reviewer_id != reviewer_id:
        raise ConflictError("request id reused for a different verdict")
    return seen


def add_step(
    *, session: Session, chain_id: int, reviewer_id: int, after_position: int, text: str, lease: dt.timedelta
) -> Step:
    """Insert a step the model missed, after model step ``after_position`` (-1: before the first)."""
    text = _clean_text(text, "the added step")
    if not text:
        raise ValidationError("an added step needs text")
    chain = get_or_raise(session, Chain, chain_id)
    positions = {s.position for s in chain.steps if s.kind is StepKind.model}
    if after_position != -1 and after_position not in positions:
        raise ValidationError(f"chain {chain_id} has no step at position {after_position}")
    _require_open_review(session, chain_id, reviewer_id, chain.case_id)
    require_lease(session=session, case_id=chain.case_id, reviewer_id=reviewer_id, lease=lease)
    step = Step(
        chain_id=chain_id,
        position=None,
        kind=StepKind.added,
        inserted_after=after_position,
        author_id=reviewer_id,
        text=text,
    )
    session.add(step)
    session.flush()
    return step


def remove_added_step(*, session: Session, step_id: int, reviewer_id: int, lease: dt.timedelta) -> None:
    """Delete a step this reviewer added (before submitting); model steps cannot be deleted."""
    step = get_or_raise(session, Step, step_id)
    if step.kind is not StepKind.added or step.author_id != reviewer_id:
        raise ValidationError("only a step you added yourself can be removed")
    _require_open_review(session, step.chain_id, reviewer_id, step.chain.case_id)
    require_lease(session=session, case_id=step.chain.case_id, reviewer_id=reviewer_id, lease=lease)
    session.delete(step)
    session.flush()


def effective_verdicts(
    *, session: Session, chain_id: int, reviewer_id: int | None = None
) -> dict[tuple[int, int], StepVerdict]:
    """The latest verdict per (step, reviewer) on a chain's steps."""
    latest = (
        select(func.max(StepVerdict.id))
        .join(Step, Step.id == StepVerdict.step_id)
        .where(Step.chain_id == chain_id)
        .group_by(StepVerdict.step_id, StepVerdict.reviewer_id)
    )
    if reviewer_id is not None:
        latest = latest.where(StepVerdict.reviewer_id == reviewer_id)
    rows = session.scalars(select(StepVerdict).where(StepVerdict.id.in_(latest)))
    return {(v.step_id, v.reviewer_id): v for v in rows}


def verdict_history(*, session: Session, step_ids: Iterable[int]) -> list[StepVerdict]:
    return list(
        session.scalars(
            select(StepVerdict).where(StepVerdict.step_id.in_(list(step_ids))).order_by(StepVerdict.id)
        )
    )


def unverifiable_reason(chain: Chain) -> str | None:
    """Why a chain cannot be verified (agreed or disagreed with), or None when it can be."""
    if not any(s.kind is StepKind.model for s in chain.steps):
        return "the chain has no reasoning steps"
    if not (chain.final_answer or "").strip():
        return "the chain has no final answer"
    if chain.status is ChainStatus.malformed:
        return "the model's output is malformed"
    return None


def submit_review(
    *,
    session: Session,
    chain_id: int,
    reviewer_id: int,
    answer_verdict: AnswerVerdict | str,
    corrected_answer: str | None = None,
    comment: str | None = None,
    time_spent_s: float = 0.0,
    require_all_steps: bool = True,
    expected_version: int | None = None,
    is_adjudication: bool = False,
    lease: dt.timedelta,
) -> ChainReview:
    """Submit a reviewer's review of a chain (or re-submit one reopened by :func:`reopen_review`).

    ``agree`` / ``disagree`` (with ``corrected_answer``) verify: every model step must carry this
    reviewer's verdict unless ``require_all_steps`` is False, and the review counts towards the
    case, which is verified once it has its required number. ``unusable`` (the reason in
    ``comment``) counts for nothing: the case waits for a fresh chain. A chain without steps,
    answer or well-formed output can only be judged unusable. A submitted review is final:
    submitting again needs :func:`reopen_review` first (``expected_version``, if given, must match
    the reopened review). Releases the reviewer's lease.
    """
    try:
        answer_verdict = AnswerVerdict(answer_verdict)
    except ValueError:
        choices = ", ".join(v.value for v in AnswerVerdict)
        raise ValidationError(f"unknown answer verdict {answer_verdict!r}; one of {choices}") from None
    chain = get_or_raise(session, Chain, chain_id)
    case = get_or_raise(session, Case, chain.case_id, for_update=True)
    review = session.scalar(
        select(ChainReview).where(ChainReview.chain_id == chain_id, ChainReview.reviewer_id == reviewer_id)
    )
    if review is not None and review.reopened_at is None:
        raise ReviewSubmitted(case.id)
    comment = _clean_text(comment, "the comment")
    if answer_verdict is AnswerVerdict.unusable:
        if not comment:
            raise ValidationError("say why the chain is unusable (the note is the reason)")
        corrected_answer = None
    else:
        why = unverifiable_reason(chain)
        if why:
            raise ValidationError(f"{why}, so it cannot be verified: mark it unusable, with a reason")
        corrected_answer = _answer_of(answer_verdict, corrected_answer, case.options)
        if require_all_steps:
            _require_every_step_judged(session, chain, reviewer_id)
    require_lease(session=session, case_id=case.id, reviewer_id=reviewer_id, lease=lease)
    fields = dict(
        answer_verdict=answer_verdict,
        corrected_answer=corrected_answer,
        comment=comment,
        time_spent_s=max(0.0, float(time_spent_s)),
        is_adjudication=is_adjudication,
        submitted_at=utcnow(),
    )
    if review is not None:  # re-submitting an amendment
        check_version(review, expected_version)
        for key, value in fields.items():
            setattr(review, key, value)
        review.reopened_at = None
    else:
        review = ChainReview(chain_id=chain_id, reviewer_id=reviewer_id, **fields)
        if not try_insert(session, review):
            raise ConflictError("this review was submitted from another window already")
    if answer_verdict is not AnswerVerdict.unusable:
        case.review_count += 1
        if case.review_count >= case.required_reviews and case.status is CaseStatus.open:
            case.status = CaseStatus.verified
    release_case(session=session, case_id=case.id, reviewer_id=reviewer_id)
    session.flush()
    return review


def _answer_of(verdict: AnswerVerdict, corrected_answer: str | None, options: list) -> str | None:
    """The right answer a disagreeing review gives (normalised to the options); None when agreeing."""
    if verdict is AnswerVerdict.agree:
        return None
    corrected_answer = normalise_answer(corrected_answer, options)
    if not corrected_answer:
        raise ValidationError("disagreeing with the answer needs the right answer")
    return _clean_text(corrected_answer, "the corrected answer")


def _require_every_step_judged(session: Session, chain: Chain, reviewer_id: int) -> None:
    judged = {
        step_id
        for step_id, _ in effective_verdicts(session=session, chain_id=chain.id, reviewer_id=reviewer_id)
    }
    missing = [s.position + 1 for s in chain.steps if s.kind is StepKind.model and s.id not in judged]
    if missing:
        raise ValidationError(f"steps {', '.join(map(str, missing))} have no verdict yet")


def reopen_review(*, session: Session, chain_id: int, reviewer_id: int, lease: dt.timedelta) -> ChainReview:
    """Reopen a submitted review so its reviewer can amend it ("Amend my review"; audited).

    Until it is submitted again the review does not count: the case loses it from its count
    (and is open again if that leaves it short of its required reviews), and exports and
    dashboards leave it out. Takes the case's lease for the reviewer (CaseLocked if someone else
    holds it). Reopening a review that is already reopened changes nothing.
    """
    chain = get_or_raise(session, Chain, chain_id)
    case = get_or_raise(session, Case, chain.case_id, for_update=True)
    review = session.scalar(
        select(ChainReview).where(ChainReview.chain_id == chain_id, ChainReview.reviewer_id == reviewer_id)
    )
    if review is None:
        raise NotFound(f"you have not submitted a review of case {case.id}")
    if review.reopened_at is not None:
        claim_case(session=session, case_id=case.id, reviewer_id=reviewer_id, lease=lease)
        return review
    if case.status is CaseStatus.archived:
        raise ValidationError(f"case {case.id} is archived: its reviews can no longer be amended")
    before = {"answer_verdict": review.answer_verdict.value, "case_status": case.status.value}
    review.reopened_at = utcnow()
    session.flush()  # the lease below sees the review as reopened
    claim_case(session=session, case_id=case.id, reviewer_id=reviewer_id, lease=lease)
    if review.answer_verdict is not AnswerVerdict.unusable:
        case.review_count = max(0, case.review_count - 1)
        if case.status is CaseStatus.verified and case.review_count < case.required_reviews:
            case.status = CaseStatus.open
    audit.record(
        session,
        action="review_reopened",
        entity="chain_reviews",
        entity_id=str(review.id),
        before=before,
        after={"case_id": case.id, "case_status": case.status.value},
    )
    session.flush()
    return review


def reviews_of_case(*, session: Session, case_id: int) -> list[ChainReview]:
    return list(
        session.scalars(
            select(ChainReview).join(Chain).where(Chain.case_id == case_id).order_by(ChainReview.id)
        )
    )


def reviewable_chain(*, session: Session, case_id: int) -> Chain | None:
    return current_chain(session=session, case_id=case_id)
