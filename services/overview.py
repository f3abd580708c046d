"""Read models for the educator's replay and the admin page (see :mod:`services.screens`).

Contract: keyword-only functions that take a session and never commit, returning frozen
dataclasses or plain dicts, never ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review_db.models import Case, ChainReview, LoginSession, ModelVersion, StepVerdict, TrainingRun, User
from review_db.store.cases import current_chain, ordered_steps
from review_db.store.reviews import effective_verdicts
from review_db.types import CaseStatus, utcnow
from services.screens import StudyFacts, facts, step_number


@dataclass(frozen=True)
class ReviewerVerdict:
    reviewer: str
    verdict: str
    corrected_text: str | None
    comment: str


@dataclass(frozen=True)
class ReplayStep:
    """A step for the educator's replay: the model's text and every reviewer's verdict."""

    id: int
    number: str
    kind: str
    text: str
    author: str | None
    verdicts: tuple[ReviewerVerdict, ...] = ()


@dataclass(frozen=True)
class ReplayReview:
    reviewer: str
    answer_verdict: str
    corrected_answer: str | None
    comment: str
    time_spent_s: float


@dataclass(frozen=True)
class ReplayDetail:
    case_id: int
    task_type: str
    question: str
    options: tuple[str, ...]
    reference_answer: str | None
    model_answer: str | None
    report: str | None
    study: StudyFacts | None
    prior: StudyFacts | None
    steps: tuple[ReplayStep, ...]
    reviews: tuple[ReplayReview, ...] = field(default_factory=tuple)


def replay_detail(*, session: Session, case_id: int) -> ReplayDetail | None:
    """A verified case with all reviewers' verdicts and added steps; None unless it is verified."""
    case = session.get(Case, case_id)
    if case is None or case.status is not CaseStatus.verified:
        return None
    chain = current_chain(session=session, case_id=case_id)
    names = {u.id: u.username for u in session.scalars(select(User))}
    steps: list[ReplayStep] = []
    reviews: list[ReplayReview] = []
    if chain is not None:
        verdicts = effective_verdicts(session=session, chain_id=chain.id)
        by_step: dict[int, list[ReviewerVerdict]] = {}
        for (step_id, reviewer_id), v in sorted(verdicts.items()):
            by_step.setdefault(step_id, []).append(
                ReviewerVerdict(names.get(reviewer_id, "?"), v.verdict.value, v.corrected_text, v.comment)
            )
        for step in ordered_steps(chain):
            steps.append(
                ReplayStep(
                    id=step.id,
                    number=step_number(step),
                    kind=step.kind.value,
                    text=step.text,
                    author=names.get(step.author_id) if step.author_id else None,
                    verdicts=tuple(by_step.get(step.id, ())),
                )
            )
        for r in session.scalars(
            select(ChainReview).where(ChainReview.chain_id == chain.id).order_by(ChainReview.id)
        ):
            reviews.append(
                ReplayReview(
                    names.get(r.reviewer_id, "?"),
                    r.answer_verdict.value,
                    r.corrected_answer,
                    r.comment,
                    r.time_spent_s,
                )
            )
    return ReplayDetail(
        case_id=case.id,
        task_type=case.task_type.value,
        question=case.question,
        options=tuple(case.options or ()),
        reference_answer=case.reference_answer,
        model_answer=chain.final_answer if chain else None,
        report=case.report,
        study=facts(case.study),
        prior=facts(case.prior_study),
        steps=tuple(steps),
        reviews=tuple(reviews),
    )


def admin_overview(*, session: Session, limit: int = 200) -> dict[str, list[dict[str, Any]]]:
    """Users (with their open login count), model versions and training runs, newest first."""
    now = utcnow()
    logins = dict(
        session.execute(
            select(LoginSession.user_id, func.count())
            .where(LoginSession.revoked_at.is_(None), LoginSession.expires_at > now)
            .group_by(LoginSession.user_id)
        ).all()
    )
    verdict_counts = dict(
        session.execute(select(StepVerdict.reviewer_id, func.count()).group_by(StepVerdict.reviewer_id)).all()
    )
    users = [
        {
            "id": u.id,
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role.value,
            "active": u.active,
            "sessions": logins.get(u.id, 0),
            "verdicts": verdict_counts.get(u.id, 0),
            "created": u.created_at,
        }
        for u in session.scalars(select(User).order_by(User.username).limit(limit))
    ]
    models = [
        {
            "name": m.name,
            "status": m.status.value,
            "base_model": m.base_model,
            "adapter": m.adapter_path or "",
            "metrics": m.metrics or {},
            "created": m.created_at,
            "promoted": m.promoted_at,
        }
        for m in session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()).limit(limit))
    ]
    runs = [
        {
            "id": r.id,
            "kind": r.kind.value,
            "status": r.status.value,
            "created_by": r.created_by,
            "created": r.created_at,
            "started": r.started_at,
            "finished": r.finished_at,
            "metrics": r.metrics or {},
            "error": r.error or "",
        }
        for r in session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit))
    ]
    return {"users": users, "models": models, "runs": runs}


def verdict_count(*, session: Session, reviewer_id: int | None = None) -> int:
    """Stored verdict rows (all, or one reviewer's): what the benchmark checks against."""
    query = select(func.count()).select_from(StepVerdict)
    if reviewer_id is not None:
        query = query.where(StepVerdict.reviewer_id == reviewer_id)
    return session.scalar(query) or 0
