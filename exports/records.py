"""The records export: every selected study, case, chain, step, verdict and review, as tables.

Contract: :func:`write_records` writes ``records/<table><suffix>`` for each of :data:`TABLES` and
returns the row counts. Reviewers appear only as export pseudonyms (a keyed HMAC of the user id,
see :mod:`exports.ids`), never as usernames; patients and studies only as export
pseudonyms. The tables hold everything needed to rebuild the other kinds: the prompt (question,
options, task type), the model's steps, every verdict (append-only; the effective one is the
latest ``id`` per (``step_id``, ``reviewer``)), the reviewer-added steps and every review.
Streaming and serialisation are in :mod:`exports.tables`.

Which rows: chains of the selection (:func:`~exports.source.selection_conditions`), with
their steps, verdicts and reviews (only the named reviewers' when the filter names some); cases
with a selected chain (and, when no chain-level filter is set, cases without chains too); the
studies of those cases; the reviewers involved; all model versions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from exports import ids
from exports.groups import SplitGroups
from exports.placement import Layout
from exports.source import Resolved, count_selected, selection_conditions
from exports.tables import (
    BOOL,
    F64,
    I64,
    STR,
    STR_LIST,
    Column,
    Dialect,
    Table,
    mapped,
    raw,
    write_table,
)
from exports.writers import Files
from review_db.models import Case, Chain, ChainReview, ModelVersion, Step, StepVerdict, Study, User
from review_db.types import CaseStatus, TaskType

TABLES = ("studies", "cases", "chains", "steps", "verdicts", "reviews", "reviewers", "model_versions")


@dataclass
class RecordsContext:
    """What the Python-computed columns need: the key, the splits, and where images go."""

    key: bytes
    splits: ids.SplitSpec | SplitGroups  # .assign(split unit) -> split
    image_path: Callable[..., str | None]  # (id, patient, source_format, stored_path, sha) -> path
    include_reports: bool = False
    split_counts: Counter = field(default_factory=Counter)  # cases per split, for the card


def write_records(
    session: Session,
    resolved: Resolved,
    files: Files,
    *,
    layout: Layout,
    ctx: RecordsContext,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write every records table; returns rows per table. ``progress(n)`` ticks on steps written."""
    d = Dialect(session.get_bind().dialect.name)
    rows = {}
    for t in build_tables(session, resolved, d, ctx):
        sink = layout.format.open(files, layout.table_path(t.name), schema=lambda t=t: t.schema)
        rows[t.name] = write_table(session, t, sink, d, progress if t.name == "steps" else None)
    return rows


def build_tables(session: Session, resolved: Resolved, d: Dialect, ctx: RecordsContext) -> list[Table]:
    """The :data:`TABLES`, in that order, for this selection (the benchmark scans the same)."""
    pseudonyms = ids.Pseudonyms(ctx.key)
    reviewers = {uid: pseudonyms.reviewer(uid) for uid in session.scalars(select(User.id))}
    total = session.scalar(select(func.count()).select_from(Chain)) or 0
    dense = count_selected(session, resolved) * 5 >= total
    by_name = {t.name: t for t in _chain_tables(resolved, d, reviewers, dense=dense)}
    by_name.update({t.name: t for t in _case_tables(resolved, d, ctx, pseudonyms)})
    return [by_name[name] for name in TABLES]


def _chain_tables(resolved: Resolved, d: Dialect, reviewers: dict[int, str], *, dense: bool) -> list[Table]:
    """Chains, steps, verdicts, reviews, reviewers: serialised by the database.

    ``dense`` (the selection holds a fifth of all chains or more): each table is read in id order
    and membership tested per row. Why: given ``chain_id IN (...)``, SQLite searches the
    chain_id index and then sorts every row for ``ORDER BY id``; at a million rows the sort costs
    more than the scan and holds the whole result in memory. ``chain_id + 0`` cannot use the index,
    so SQLite walks the table in id order and streams (PostgreSQL plans a hash semi-join anyway).
    A small selection (an incremental export) searches the index instead.
    """
    chains_sel = select(Chain.id).join(Case, Case.id == Chain.case_id).where(*selection_conditions(resolved))

    def member(col: Any) -> Any:
        return (col + 0).in_(chains_sel) if dense else col.in_(chains_sel)

    verdict_where = [member(Step.chain_id)]
    # A review being amended is not in its submitted state: left out until submitted again.
    review_where = [member(ChainReview.chain_id), ChainReview.reopened_at.is_(None)]
    if resolved.reviewer_ids is not None:
        verdict_where.append(StepVerdict.reviewer_id.in_(resolved.reviewer_ids))
        review_where.append(ChainReview.reviewer_id.in_(resolved.reviewer_ids))
    reviewer_ids = _involved_reviewers(resolved, chains_sel)
    chains = Chain.__table__
    return [
        Table(
            "chains",
            (
                Column("id", Chain.id, I64),
                Column("case_id", Chain.case_id, I64),
                Column("source", raw(Chain.source), STR),
                Column("model_version_id", Chain.model_version_id, I64),
                Column("model_version", ModelVersion.name, STR),
                Column("final_answer", Chain.final_answer, STR),
                Column("status", raw(Chain.status), STR),
                Column("flags", raw(Chain.flags), STR_LIST, "json"),
                Column("created_at", d.ts(Chain.created_at), STR),
            ),
            chains.outerjoin(ModelVersion, ModelVersion.id == Chain.model_version_id),
            (Chain.id.in_(chains_sel),),
            Chain.id,
            chains,
        ),
        Table(
            "steps",
            (
                Column("id", Step.id, I64),
                Column("chain_id", Step.chain_id, I64),
                Column("position", Step.position, I64),
                Column("kind", raw(Step.kind), STR),
                Column("inserted_after", Step.inserted_after, I64),
                Column("author", mapped(Step.author_id, reviewers), STR),
                Column("text", Step.text, STR),
                Column("created_at", d.ts(Step.created_at), STR),
            ),
            Step.__table__,
            (member(Step.chain_id),),
            Step.id,
            Step.__table__,
        ),
        Table(
            "verdicts",
            (
                Column("id", StepVerdict.id, I64),
                Column("step_id", StepVerdict.step_id, I64),
                Column("reviewer", mapped(StepVerdict.reviewer_id, reviewers), STR),
                Column("verdict", raw(StepVerdict.verdict), STR),
                Column("corrected_text", StepVerdict.corrected_text, STR),
                Column("comment", StepVerdict.comment, STR),
                Column("created_at", d.ts(StepVerdict.created_at), STR),
            ),
            StepVerdict.__table__.join(Step, Step.id == StepVerdict.step_id),
            tuple(verdict_where),
            StepVerdict.id,
            StepVerdict.__table__,
        ),
        Table(
            "reviews",
            (
                Column("id", ChainReview.id, I64),
                Column("chain_id", ChainReview.chain_id, I64),
                Column("reviewer", mapped(ChainReview.reviewer_id, reviewers), STR),
                Column("answer_verdict", raw(ChainReview.answer_verdict), STR),
                Column("corrected_answer", ChainReview.corrected_answer, STR),
                Column("is_adjudication", ChainReview.is_adjudication, BOOL, "bool"),
                Column("time_spent_s", ChainReview.time_spent_s, F64),
                Column("comment", ChainReview.comment, STR),
                Column("submitted_at", d.ts(ChainReview.submitted_at), STR),
            ),
            ChainReview.__table__,
            tuple(review_where),
            ChainReview.id,
            ChainReview.__table__,
        ),
        Table(
            "reviewers",
            (Column("reviewer", mapped(User.id, reviewers), STR), Column("role", raw(User.role), STR)),
            User.__table__,
            (User.id.in_(reviewer_ids),),
            User.id,
            User.__table__,
        ),
    ]


def _involved_reviewers(resolved: Resolved, chains_sel: Any) -> Any:
    """ids of users with a verdict, review or added step on a selected chain."""
    user = User.id
    named = [User.id.in_(resolved.reviewer_ids)] if resolved.reviewer_ids is not None else []
    return select(User.id).where(
        *named,
        or_(
            exists().where(ChainReview.reviewer_id == user, ChainReview.chain_id.in_(chains_sel)),
            exists().where(
                StepVerdict.reviewer_id == user, StepVerdict.step_id == Step.id, Step.chain_id.in_(chains_sel)
            ),
            exists().where(Step.author_id == user, Step.chain_id.in_(chains_sel)),
        ),
    )


def _case_conditions(resolved: Resolved) -> list[Any]:
    """Cases with a selected chain; with no chain-level filter, every case the case filters pass."""
    f = resolved.filters
    case_level = []
    if not f.include_demo:
        case_level.append(Case.is_demo.is_(False))
    if f.task_types:
        case_level.append(Case.task_type.in_([TaskType(t) for t in f.task_types]))
    if resolved.only_verified:
        case_level.append(Case.status == CaseStatus.verified)
    chain_filtered = (
        resolved.reviewer_ids is not None
        or resolved.model_version_ids is not None
        or resolved.min_reviews > 0
        or f.reviewed_from is not None
        or f.reviewed_to is not None
        or resolved.since is not None
    )
    if not chain_filtered:
        return case_level
    chosen = select(Chain.case_id).join(Case, Case.id == Chain.case_id).where(*selection_conditions(resolved))
    return [Case.id.in_(chosen)]


def _case_tables(
    resolved: Resolved, d: Dialect, ctx: RecordsContext, pseudonyms: ids.Pseudonyms
) -> list[Table]:
    """Studies, cases, model versions: keyed pseudonyms, splits and image paths come from Python."""
    case_conds = _case_conditions(resolved)
    study_ids = select(Case.study_id).where(*case_conds).union(select(Case.prior_study_id).where(*case_conds))
    patients: dict[str, tuple[str, str]] = {}

    def patient(group: str) -> tuple[str, str]:
        if group not in patients:
            patients[group] = (pseudonyms.patient(group), ctx.splits.assign(group))
        return patients[group]

    def study_values(k: Sequence[Any]) -> tuple:
        # k: id, patient_pseudonym, study_pseudonym, source_format, stored_path, image_sha256
        pseud, split = patient(k[1])
        return (
            pseud,
            pseudonyms.study(k[2] or f"study:{k[0]}"),
            split,
            ctx.image_path(k[0], k[1], k[3], k[4], k[5]),
        )

    def case_values(k: Sequence[Any]) -> tuple:
        pseud, split = patient(ids.patient_group(k[1], k[0]))
        ctx.split_counts[split] += 1
        return pseud, split

    case_columns = (
        Column("id", Case.id, I64),
        Column("study_id", Case.study_id, I64),
        Column("prior_study_id", Case.prior_study_id, I64),
        Column("task_type", raw(Case.task_type), STR),
        Column("question", Case.question, STR),
        Column("options", raw(Case.options), STR_LIST, "json"),
        Column("reference_answer", Case.reference_answer, STR),
        Column("status", raw(Case.status), STR),
        Column("required_reviews", Case.required_reviews, I64),
        Column("review_count", Case.review_count, I64),
        Column("is_demo", Case.is_demo, BOOL, "bool"),
        Column("created_at", d.ts(Case.created_at), STR),
    )
    if ctx.include_reports:
        case_columns += (Column("report", Case.report, STR),)
    return [
        Table(
            "studies",
            (
                Column("id", Study.id, I64),
                Column("modality", Study.modality, STR),
                Column("view", Study.view, STR),
                Column("body_part", Study.body_part, STR),
                Column("acquisition_date", d.date(Study.acquisition_date), STR),
                Column("width", Study.width, I64),
                Column("height", Study.height, I64),
                Column("bits_stored", Study.bits_stored, I64),
                Column("photometric", Study.photometric, STR),
                Column("source_format", Study.source_format, STR),
            ),
            Study.__table__,
            (Study.id.in_(study_ids),),
            Study.id,
            Study.__table__,
            keys=(
                Study.id,
                Study.patient_pseudonym,
                Study.study_pseudonym,
                Study.source_format,
                Study.stored_path,
                Study.image_sha256,
            ),
            computed=(("patient", STR), ("study", STR), ("split", STR), ("image", STR)),
            compute=study_values,
        ),
        Table(
            "cases",
            case_columns,
            Case.__table__.outerjoin(Study, Study.id == Case.study_id),
            tuple(case_conds),
            Case.id,
            Case.__table__,
            keys=(Case.id, Study.patient_pseudonym),
            computed=(("patient", STR), ("split", STR)),
            compute=case_values,
        ),
        Table(
            "model_versions",
            (
                Column("id", ModelVersion.id, I64),
                Column("name", ModelVersion.name, STR),
                Column("parent_id", ModelVersion.parent_id, I64),
                Column("status", raw(ModelVersion.status), STR),
                Column("created_at", d.ts(ModelVersion.created_at), STR),
                Column("promoted_at", d.ts(ModelVersion.promoted_at), STR),
            ),
            ModelVersion.__table__,
            (),
            ModelVersion.id,
            ModelVersion.__table__,
        ),
    ]
