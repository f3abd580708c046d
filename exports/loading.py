"""Loading pages of reviewed chains for the row kinds: steps, effective verdicts, reviews.

Contract: :func:`iter_reviewed_chains` walks the selection (:mod:`exports.source`) by
keyset pages of ``batch_size`` chains (``id > last ORDER BY id LIMIT n``) and loads the steps,
verdicts and reviews of one page at a time with a few ``IN (...)`` queries, so memory is bounded
by the page whatever the database holds. Each chain becomes a plain
:class:`~exports.consolidate.ReviewedChain` (reviewers as export pseudonyms) inside a
:class:`Candidate` that also names its split group and its studies. Read-only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from exports import ids
from exports.consolidate import Review, ReviewedChain, ReviewedStep, Vote
from exports.rows import AddedStep
from exports.source import Resolved, counted_reviews, selection_conditions
from exports.tables import raw
from review_db.models import Case, Chain, ChainReview, ModelVersion, Step, StepVerdict, Study
from vocab import AnswerVerdict, StepKind


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
                # "" rather than null: a split holding only chains without a version would
                # otherwise type the column null there and string elsewhere (datasets refuses).
                "model_version": names.get(model_version_id) or "",
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
        .where(ChainReview.chain_id.in_(chain_ids), *counted_reviews())
        .order_by(ChainReview.submitted_at, ChainReview.id)
    )
    if reviewer_ids is not None:
        query = query.where(ChainReview.reviewer_id.in_(reviewer_ids))
    out: dict[int, list[tuple]] = defaultdict(list)
    for chain_id, *rest in session.execute(query).tuples():
        out[chain_id].append(tuple(rest))
    return out
