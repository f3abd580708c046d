"""Which chains an export takes: filters, their SQL, and watermarks for incremental exports.

Contract: functions take a session (read-only; the caller opens it) and never write. The chain
selection is one SQL condition set (:func:`selection_conditions`, over ``chains`` joined with
``cases``) shared by every export kind; :mod:`exports.loading` and
:mod:`exports.records` read through it. A :class:`Watermark` records how far the database
had got when an export read it; an incremental export selects only the chains that changed after
a watermark (a new chain, step, verdict or review, a revised review, an edited case).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import String, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from review_db.errors import ValidationError
from review_db.models import AuditLog, Case, Chain, ChainReview, ModelVersion, Step, StepVerdict, User
from review_db.types import AnswerVerdict, CaseStatus, TaskType


@dataclass(frozen=True)
class ExportFilter:
    """Which chains an export takes. Empty tuples mean no restriction.

    ``reviewed_from`` / ``reviewed_to`` bound the time of a chain's latest submitted review
    (``from`` inclusive, ``to`` exclusive). ``reviewers`` are usernames: only their reviews and
    verdicts count, and a chain needs at least one of them. ``min_reviews`` and ``only_verified``
    default (None) to 1 and True for the training kinds and to 0 and False for records.
    ``only_agreed`` keeps only chains on which all their reviewers gave identical verdicts and
    answers. Demo cases are left out unless ``include_demo``.
    """

    reviewed_from: dt.datetime | None = None
    reviewed_to: dt.datetime | None = None
    task_types: tuple[str, ...] = ()
    model_versions: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    min_reviews: int | None = None
    only_agreed: bool = False
    only_verified: bool | None = None
    include_demo: bool = False

    def __post_init__(self) -> None:
        for name in ("reviewed_from", "reviewed_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=dt.UTC))
        bad = [t for t in self.task_types if t not in {x.value for x in TaskType}]
        if bad:
            raise ValidationError(f"unknown task type {bad[0]!r}")
        if self.min_reviews is not None and self.min_reviews < 0:
            raise ValidationError("min_reviews must be >= 0")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("reviewed_from", "reviewed_to"):
            out[name] = out[name].isoformat() if out[name] else None
        # Usernames never go into an export: the card and manifest get a count.
        out["reviewers"] = len(self.reviewers)
        return out


@dataclass(frozen=True)
class Watermark:
    """The largest ids (and review time) the database held when an export read it."""

    chain: int = 0
    step: int = 0
    verdict: int = 0
    review: int = 0
    audit: int = 0
    review_at: str | None = None  # ISO time of the latest review submission (revisions keep their id)

    @classmethod
    def capture(cls, session: Session) -> Watermark:
        def top(column) -> int:  # noqa: ANN001
            return int(session.scalar(select(func.coalesce(func.max(column), 0))))

        latest = session.scalar(select(func.max(ChainReview.submitted_at)))
        return cls(
            chain=top(Chain.id),
            step=top(Step.id),
            verdict=top(StepVerdict.id),
            review=top(ChainReview.id),
            audit=top(AuditLog.id),
            review_at=latest.isoformat() if latest else None,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Watermark:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class Resolved:
    """An :class:`ExportFilter` with names turned into ids and the kind's defaults applied."""

    filters: ExportFilter
    reviewer_ids: tuple[int, ...] | None
    model_version_ids: tuple[int, ...] | None
    min_reviews: int
    only_verified: bool
    since: Watermark | None = None


def resolve(
    session: Session, filters: ExportFilter, *, records: bool, since: Watermark | None = None
) -> Resolved:
    """Apply the kind's defaults and look up reviewer and model-version names (unknown: an error)."""
    reviewer_ids = model_ids = None
    if filters.reviewers:
        found = dict(
            session.execute(select(User.username, User.id).where(User.username.in_(filters.reviewers)))
            .tuples()
            .all()
        )
        missing = sorted(set(filters.reviewers) - set(found))
        if missing:
            raise ValidationError(f"no user named {missing[0]!r}")
        reviewer_ids = tuple(sorted(found.values()))
    if filters.model_versions:
        found = dict(
            session.execute(
                select(ModelVersion.name, ModelVersion.id).where(
                    ModelVersion.name.in_(filters.model_versions)
                )
            )
            .tuples()
            .all()
        )
        missing = sorted(set(filters.model_versions) - set(found))
        if missing:
            raise ValidationError(f"no model version named {missing[0]!r}")
        model_ids = tuple(sorted(found.values()))
    default_min = 0 if records else 1
    return Resolved(
        filters=filters,
        reviewer_ids=reviewer_ids,
        model_version_ids=model_ids,
        min_reviews=default_min if filters.min_reviews is None else filters.min_reviews,
        only_verified=(not records) if filters.only_verified is None else filters.only_verified,
        since=since,
    )


def counted_reviews() -> list[Any]:
    """Conditions on ``chain_reviews`` for the reviews an export counts: submitted (not reopened
    for amendment) and verifying (not judging the chain unusable)."""
    return [ChainReview.reopened_at.is_(None), ChainReview.answer_verdict != AnswerVerdict.unusable]


def _reviews_of_chain(resolved: Resolved):  # noqa: ANN202 - a Select
    query = (
        select(func.count())
        .select_from(ChainReview)
        .where(ChainReview.chain_id == Chain.id, *counted_reviews())
    )
    if resolved.reviewer_ids is not None:
        query = query.where(ChainReview.reviewer_id.in_(resolved.reviewer_ids))
    return query


def selection_conditions(resolved: Resolved) -> list[Any]:
    """SQL conditions on ``chains`` joined with ``cases`` that select an export's chains."""
    f = resolved.filters
    conds: list[Any] = []
    if not f.include_demo:
        conds.append(Case.is_demo.is_(False))
    if f.task_types:
        conds.append(Case.task_type.in_([TaskType(t) for t in f.task_types]))
    if resolved.model_version_ids is not None:
        conds.append(Chain.model_version_id.in_(resolved.model_version_ids))
    if resolved.only_verified:
        conds.append(Case.status == CaseStatus.verified)
    needed = max(resolved.min_reviews, 1 if resolved.reviewer_ids is not None else 0)
    if needed == 1:  # the usual case: EXISTS stops at the first review instead of counting
        conds.append(_reviews_of_chain(resolved).exists())
    elif needed:
        conds.append(_reviews_of_chain(resolved).scalar_subquery() >= needed)
    if f.reviewed_from or f.reviewed_to:
        last = select(func.max(ChainReview.submitted_at)).where(
            ChainReview.chain_id == Chain.id, *counted_reviews()
        )
        if resolved.reviewer_ids is not None:
            last = last.where(ChainReview.reviewer_id.in_(resolved.reviewer_ids))
        last = last.scalar_subquery()
        if f.reviewed_from:
            conds.append(last >= f.reviewed_from)
        if f.reviewed_to:
            conds.append(last < f.reviewed_to)
    if resolved.since is not None:
        conds.append(_changed_since(resolved.since))
    return conds


def _changed_since(w: Watermark) -> Any:
    """A chain changed after ``w``: new chain, step, verdict or review, a revised review, an edited case."""
    review_changed = ChainReview.id > w.review
    if w.review_at:
        review_changed = or_(
            review_changed, ChainReview.submitted_at > dt.datetime.fromisoformat(w.review_at)
        )
    return or_(
        Chain.id > w.chain,
        exists().where(Step.chain_id == Chain.id, Step.id > w.step),
        exists().where(StepVerdict.step_id == Step.id, Step.chain_id == Chain.id, StepVerdict.id > w.verdict),
        exists().where(ChainReview.chain_id == Chain.id, review_changed),
        exists().where(
            AuditLog.id > w.audit, AuditLog.entity == "cases", AuditLog.entity_id == cast(Case.id, String)
        ),
    )


def selected_chain_ids(resolved: Resolved):  # noqa: ANN201 - a Select of chain ids
    """``SELECT chains.id`` of the selection, for ``IN (...)`` in the records export."""
    return select(Chain.id).join(Case, Case.id == Chain.case_id).where(*selection_conditions(resolved))


def count_selected(session: Session, resolved: Resolved) -> int:
    return int(session.scalar(select(func.count()).select_from(selected_chain_ids(resolved).subquery())))
