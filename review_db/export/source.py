"""Reading reviewed chains out of the database for an export: filters, selection, streaming.

Contract: functions take a session (read-only; the caller opens it) and never write. The chain
selection is one SQL condition set (:func:`selection_conditions`) shared by every export kind;
:func:`iter_reviewed_chains` walks it by keyset pages of ``batch_size`` chains (``id > last``
``ORDER BY id LIMIT n``), loading the steps, verdicts and reviews of one page at a time, so memory
stays bounded by the page whatever the database holds. A :class:`Watermark` records how far the
database had got when an export read it; an incremental export selects only the chains that
changed after a watermark.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import String, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from review_db.errors import ValidationError
from review_db.export import ids
from review_db.export.consolidate import Review, ReviewedChain, ReviewedStep, Vote
from review_db.export.rows import AddedStep
from review_db.export.tables import raw
from review_db.models import AuditLog, Case, Chain, ChainReview, ModelVersion, Step, StepVerdict, Study, User
from review_db.types import AnswerVerdict, CaseStatus, StepKind, TaskType


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


def _reviews_of_chain(resolved: Resolved):  # noqa: ANN202 - a Select
    query = select(func.count()).select_from(ChainReview).where(ChainReview.chain_id == Chain.id)
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
    if needed:
        conds.append(_reviews_of_chain(resolved).scalar_subquery() >= needed)
    if f.reviewed_from or f.reviewed_to:
        last = select(func.max(ChainReview.submitted_at)).where(ChainReview.chain_id == Chain.id)
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


@dataclass(frozen=True)
class StudyRef:
    """What an export needs of a study to place and write its image."""

    id: int
    patient: str
    stored_path: str
    source_format: str
    image_sha256: str


@dataclass(frozen=True)
class Candidate:
    """A reviewed chain with its split group and studies (images not placed yet)."""

    chain: ReviewedChain
    group: str
    studies: tuple[StudyRef, ...]  # prior first for a temporal question


def iter_reviewed_chains(
    session: Session,
    resolved: Resolved,
    *,
    key: bytes,
    prompt_of,
    batch_size: int = 500,  # noqa: ANN001
) -> Iterator[list[Candidate]]:
    """Pages of selected chains with every submitted reviewer's effective verdicts.

    ``prompt_of(task_type, question, options)`` builds the prompt text (the reasoner's format).
    Rows are read as plain tuples (no ORM objects: at a page of 500 chains and 5,000 steps, object
    loading would cost more than the queries).
    """
    names = dict(session.execute(select(ModelVersion.id, ModelVersion.name)).tuples().all())
    pseudonyms = ids.Pseudonyms(key)
    page_query = (
        select(
            Chain.id,
            Chain.final_answer,
            Chain.model_version_id,
            Case.id,
            raw(Case.task_type),
            Case.question,
            Case.options,
            Case.study_id,
            Case.prior_study_id,
        )
        .join(Case, Case.id == Chain.case_id)
        .where(*selection_conditions(resolved))
        .order_by(Chain.id)
        .limit(batch_size)
    )
    last = 0
    while True:
        page = session.execute(page_query.where(Chain.id > last)).tuples().all()
        if not page:
            return
        last = page[-1][0]
        yield _load_page(session, resolved, page, names=names, pseudonyms=pseudonyms, prompt_of=prompt_of)


def _load_page(session, resolved, page, *, names, pseudonyms, prompt_of) -> list[Candidate]:  # noqa: ANN001
    chain_ids = [row[0] for row in page]
    studies = _studies_of(session, {sid for row in page for sid in row[7:9] if sid})
    steps = _steps_of(session, chain_ids)
    votes = _votes_of(session, chain_ids, resolved.reviewer_ids)
    reviews = _reviews_of(session, chain_ids, resolved.reviewer_ids)
    reviewer = pseudonyms.reviewer
    out = []
    for (
        chain_id,
        final_answer,
        model_version_id,
        case_id,
        task_type,
        question,
        options,
        sid,
        prior_sid,
    ) in page:
        current, prior = studies.get(sid), studies.get(prior_sid)
        group = ids.patient_group(current.patient if current else None, case_id)
        added: dict[str, list[AddedStep]] = defaultdict(list)
        model = []
        for step_id, position, kind, after, author_id, text in steps[chain_id]:
            if kind == StepKind.model.value:
                votes_here = tuple(Vote(reviewer(r), v, fixed) for r, v, fixed in votes.get(step_id, ()))
                model.append(ReviewedStep(position=position, text=text, votes=votes_here))
            elif author_id is not None:
                added[reviewer(author_id)].append(AddedStep(after=after, text=text))
        chain_reviews = tuple(
            Review(
                reviewer=reviewer(r_id),
                answer=final_answer if verdict == AnswerVerdict.agree.value else corrected,
                agreed=verdict == AnswerVerdict.agree.value,
                is_adjudication=bool(adjudication),
                order=i,
            )
            for i, (r_id, verdict, corrected, adjudication) in enumerate(reviews.get(chain_id, ()))
        )
        options = tuple(options or ())
        reviewed = ReviewedChain(
            prompt=prompt_of(task_type, question, options),
            steps=tuple(model),
            reviews=chain_reviews,
            final_answer=final_answer,
            added={k: tuple(v) for k, v in added.items()},
            question=question,
            options=options,
            task_type=task_type,
            meta={
                "id": f"chain-{chain_id}",
                "case_id": case_id,
                "chain_id": chain_id,
                "patient": pseudonyms.patient(group),
                "task_type": task_type,
                "model_version": names.get(model_version_id),
            },
        )
        refs = tuple(s for s in (prior, current) if s is not None)
        out.append(Candidate(chain=reviewed, group=group, studies=refs))
    return out


def _studies_of(session: Session, study_ids: set[int]) -> dict[int, StudyRef]:
    if not study_ids:
        return {}
    query = select(
        Study.id, Study.patient_pseudonym, Study.stored_path, Study.source_format, Study.image_sha256
    ).where(Study.id.in_(study_ids))
    return {row[0]: StudyRef(*row) for row in session.execute(query).tuples()}


def _steps_of(session: Session, chain_ids: Sequence[int]) -> dict[int, list[tuple]]:
    """(id, position, kind, inserted_after, author_id, text) per chain: model steps by position."""
    query = (
        select(
            Step.chain_id,
            Step.id,
            Step.position,
            raw(Step.kind),
            Step.inserted_after,
            Step.author_id,
            Step.text,
        )
        .where(Step.chain_id.in_(chain_ids))
        .order_by(Step.chain_id, Step.position, Step.id)
    )
    out: dict[int, list[tuple]] = defaultdict(list)
    for chain_id, *rest in session.execute(query).tuples():
        out[chain_id].append(tuple(rest))
    return out


def _votes_of(session: Session, chain_ids: Sequence[int], reviewer_ids) -> dict[int, list[tuple]]:  # noqa: ANN001
    """The effective (latest) (reviewer_id, verdict, corrected_text) per (step, reviewer), by step."""
    query = (
        select(
            StepVerdict.step_id, StepVerdict.reviewer_id, raw(StepVerdict.verdict), StepVerdict.corrected_text
        )
        .join(Step, Step.id == StepVerdict.step_id)
        .where(Step.chain_id.in_(chain_ids))
        .order_by(StepVerdict.id)
    )
    if reviewer_ids is not None:
        query = query.where(StepVerdict.reviewer_id.in_(reviewer_ids))
    latest: dict[tuple[int, int], tuple] = {}
    for step_id, reviewer_id, verdict, corrected in session.execute(query).tuples():
        latest[(step_id, reviewer_id)] = (reviewer_id, verdict, corrected)  # later ids overwrite
    out: dict[int, list[tuple]] = defaultdict(list)
    for (step_id, _), vote in sorted(latest.items()):
        out[step_id].append(vote)
    return out


def _reviews_of(session: Session, chain_ids: Sequence[int], reviewer_ids) -> dict[int, list[tuple]]:  # noqa: ANN001
    """(reviewer_id, answer_verdict, corrected_answer, is_adjudication) per chain, in submission order."""
    query = (
        select(
            ChainReview.chain_id,
            ChainReview.reviewer_id,
            raw(ChainReview.answer_verdict),
            ChainReview.corrected_answer,
            ChainReview.is_adjudication,
        )
        .where(ChainReview.chain_id.in_(chain_ids))
        .order_by(ChainReview.submitted_at, ChainReview.id)
    )
    if reviewer_ids is not None:
        query = query.where(ChainReview.reviewer_id.in_(reviewer_ids))
    out: dict[int, list[tuple]] = defaultdict(list)
    for chain_id, *rest in session.execute(query).tuples():
        out[chain_id].append(tuple(rest))
    return out
