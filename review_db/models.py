"""Typed SQLAlchemy 2 models of the review database (see docs/ARCHITECTURE.md).

No column holds PHI: studies carry only pseudonyms, shifted dates and technical facts.
Rows that people edit concurrently carry a ``version`` column (SQLAlchemy's version counter),
so a second writer working from a stale copy gets a conflict instead of overwriting.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    desc,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from review_db.types import (
    AnswerVerdict,
    CaseStatus,
    ChainSource,
    ChainStatus,
    ModelStatus,
    Role,
    RunKind,
    RunStatus,
    StepKind,
    TaskType,
    UTCDateTime,
    Verdict,
    utcnow,
)
from vocab.imports import ImportKind, ImportStatus
from vocab.priority import PriorityStrategy

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # VARCHAR + CHECK rather than a native ENUM: identical on SQLite and PostgreSQL, and adding a
    # value is a plain migration.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Versioned:
    """Optimistic concurrency: UPDATE ... WHERE version = :seen; zero rows means a conflict."""

    version: Mapped[int] = mapped_column(Integer, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}


class User(Versioned, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """A browser login: only the sha256 of the token is stored."""

    __tablename__ = "login_sessions"
    __audit__ = False  # logins are recorded as explicit audit actions instead

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """One failed login, by the name typed and the client address: the throttle's memory, in the
    database so that every app replica counts the same failures. Old rows are pruned as new
    ones come; a success clears its (name, address)."""

    __tablename__ = "login_failures"
    __audit__ = False  # a flood of guesses must not flood the append-only audit log
    __table_args__ = (Index("ix_login_failures_key", "username", "address", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128))  # as typed (normalised), maybe no account
    address: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class Study(Base):
    """One de-identified image. ``image_sha256`` is the hash of the decoded pixels."""

    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    image_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    stored_path: Mapped[str] = mapped_column(String(255))  # relative to Settings.image_dir
    source_format: Mapped[str] = mapped_column(String(16))  # dicom | png | jpeg
    patient_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    study_pseudonym: Mapped[str | None] = mapped_column(String(64))
    modality: Mapped[str | None] = mapped_column(String(16))
    view: Mapped[str | None] = mapped_column(String(32))
    body_part: Mapped[str | None] = mapped_column(String(64))
    acquisition_date: Mapped[dt.date | None]  # shifted by a keyed per-patient offset
    width: Mapped[int]
    height: Mapped[int]
    bits_stored: Mapped[int | None]
    photometric: Mapped[str | None] = mapped_column(String(16))
    window_presets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Case(Versioned, Base):
    """A question about a study (and, for temporal tasks, a prior study)."""

    __tablename__ = "cases"
    # The worklist walks open cases in (priority desc, id) order and stops at the first match.
    # Column order and directions match that ORDER BY, so neither database sorts.
    __table_args__ = (Index("ix_cases_worklist", "status", desc("priority"), "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for imported predictions whose image is not available: the reasoning can still be
    # checked against the report, and the case says so.
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id", ondelete="RESTRICT"), index=True)
    prior_study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id", ondelete="RESTRICT"))
    task_type: Mapped[TaskType] = mapped_column(_enum(TaskType, "task_type"))
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list[Any]] = mapped_column(default=list)  # option texts, A first
    reference_answer: Mapped[str | None] = mapped_column(Text)  # "C", "A,C", or free text (open questions)
    report: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"), default=CaseStatus.open)
    required_reviews: Mapped[int] = mapped_column(Integer, default=1)
    review_count: Mapped[int] = mapped_column(Integer, default=0)  # submitted reviews, denormalised
    priority: Mapped[int] = mapped_column(Integer, default=0)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    study: Mapped[Study | None] = relationship(foreign_keys=[study_id])
    prior_study: Mapped[Study | None] = relationship(foreign_keys=[prior_study_id])
    chains: Mapped[list[Chain]] = relationship(back_populates="case", order_by="Chain.id")


_ONE_PROMOTED = "status = 'promoted'"


class ModelVersion(Versioned, Base):
    __tablename__ = "model_versions"
    # At most one promoted version, as a constraint: two promotions at the same moment cannot
    # both win, whatever the isolation level (training.registry.promote maps the violation).
    __table_args__ = (
        Index(
            "uq_model_versions_one_promoted",
            "status",
            unique=True,
            sqlite_where=text(_ONE_PROMOTED),
            postgresql_where=text(_ONE_PROMOTED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    base_model: Mapped[str] = mapped_column(String(512))  # local dir or hub id
    adapter_path: Mapped[str | None] = mapped_column(String(512))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    training_run_id: Mapped[int | None] = mapped_column(ForeignKey("training_runs.id"))
    status: Mapped[ModelStatus] = mapped_column(
        _enum(ModelStatus, "model_status"), default=ModelStatus.candidate
    )
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[dt.datetime | None]

    parent: Mapped[ModelVersion | None] = relationship(remote_side=[id])


class Chain(Base):
    """An ordered chain of reasoning steps and a final answer for a case."""

    __tablename__ = "chains"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    source: Mapped[ChainSource] = mapped_column(_enum(ChainSource, "chain_source"))
    source_detail: Mapped[str] = mapped_column(String(512), default="")  # model id, endpoint, file
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), index=True)
    raw_output: Mapped[str] = mapped_column(Text, default="")
    final_answer: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ChainStatus] = mapped_column(
        _enum(ChainStatus, "chain_status"), default=ChainStatus.complete
    )
    flags: Mapped[list[Any]] = mapped_column(default=list)
    generation_params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="chains")
    steps: Mapped[list[Step]] = relationship(
        back_populates="chain", order_by="Step.id", cascade="all, delete-orphan"
    )
    model_version: Mapped[ModelVersion | None] = relationship()


class Step(Base):
    """A step of a chain: the model's (``position`` 0..n-1) or one a reviewer added."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("chain_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"), index=True)
    position: Mapped[int | None] = mapped_column(Integer)  # None for added steps
    kind: Mapped[StepKind] = mapped_column(_enum(StepKind, "step_kind"), default=StepKind.model)
    inserted_after: Mapped[int | None] = mapped_column(Integer)  # added: after this position (-1: first)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    chain: Mapped[Chain] = relationship(back_populates="steps")


class StepVerdict(Base):
    """A reviewer's verdict on a step. Append-only: the latest per (step, reviewer) counts."""

    __tablename__ = "step_verdicts"
    __audit__ = False  # audited by a database trigger (see the initial migration), ORM or not
    __table_args__ = (Index("ix_step_verdicts_step_reviewer", "step_id", "reviewer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    verdict: Mapped[Verdict] = mapped_column(_enum(Verdict, "verdict"))
    corrected_text: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text, default="")
    # Client-generated id: a retried request stores its verdict once, never twice.
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class ChainReview(Versioned, Base):
    """A reviewer's submitted review of a chain: the answer verdict and the time spent.

    A submitted review is final. ``reopened_at`` is set while its reviewer amends it (an explicit,
    audited step); until it is submitted again it does not count: not towards the case's reviews,
    not in exports or dashboards.
    """

    __tablename__ = "chain_reviews"
    __table_args__ = (UniqueConstraint("chain_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    answer_verdict: Mapped[AnswerVerdict] = mapped_column(_enum(AnswerVerdict, "answer_verdict"))
    corrected_answer: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text, default="")
    time_spent_s: Mapped[float] = mapped_column(Float, default=0.0)
    is_adjudication: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    reopened_at: Mapped[dt.datetime | None]


class CaseLock(Versioned, Base):
    """A reviewer's lease on a case; renewed while they work, taken over only after expiry."""

    __tablename__ = "case_locks"
    __audit_ignore__ = frozenset({"expires_at", "version"})  # renewals are not audited

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    acquired_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)

    reviewer: Mapped[User] = relationship()


class AuditLog(Base):
    """Who changed what, when. Insert-only: triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class TrainingRun(Versioned, Base):
    __tablename__ = "training_runs"
    __audit_ignore__ = frozenset({"progress", "heartbeat_at", "version"})  # progress ticks

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RunKind] = mapped_column(_enum(RunKind, "run_kind"))
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus, "run_status"), default=RunStatus.queued)
    parent_run_id: Mapped[int | None] = mapped_column(ForeignKey("training_runs.id"))
    # Not a foreign key: model_versions already points here, and a cycle would need ALTERs.
    base_model_version_id: Mapped[int | None] = mapped_column(Integer)
    snapshot_hash: Mapped[str | None] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)  # step, total, loss, eta_s
    log_path: Mapped[str | None] = mapped_column(String(512))
    checkpoint: Mapped[str | None] = mapped_column(String(512))
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]


class ReaderStudy(Base):
    """A reader study: the same readers read the same cases under several arms (docs/READER_STUDIES.md).

    ``design`` freezes what the study was created with (arms, cases with the chain shown and the
    truth, readers, periods, the randomization's method and seed), so results never shift when a
    case or its reviews change later; the randomization itself is the assignment rows.
    """

    __tablename__ = "reader_studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    seed: Mapped[int] = mapped_column(Integer)
    washout_days: Mapped[int] = mapped_column(Integer)
    design: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: from the command line
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReaderAssignment(Base):
    """One read to do: a reader, a case (and the chain shown), a period, its place, the arm.

    ``served_at`` is set once, when the read is first shown: the read's time runs from it.
    """

    __tablename__ = "reader_study_assignments"
    __table_args__ = (
        UniqueConstraint("study_id", "reader_id", "case_id", "period"),
        UniqueConstraint("study_id", "reader_id", "period", "sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("reader_studies.id", ondelete="RESTRICT"))
    reader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="RESTRICT"))
    period: Mapped[int] = mapped_column(Integer)  # 0-based
    sequence: Mapped[int] = mapped_column(Integer)  # 0-based place in the reader's period
    arm: Mapped[str] = mapped_column(String(64))  # the arm's key in the study's design
    served_at: Mapped[dt.datetime | None]


class ReaderRead(Base):
    """A reader's read of an assignment. Append-only: triggers refuse UPDATE and DELETE."""

    __tablename__ = "reader_study_reads"
    __table_args__ = (CheckConstraint("confidence BETWEEN 1 AND 5", name="confidence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("reader_study_assignments.id", ondelete="RESTRICT"), unique=True
    )
    answer: Mapped[str] = mapped_column(Text)  # normal form: "C", "A,C"
    confidence: Mapped[int] = mapped_column(Integer)  # 1 (guessing) .. 5 (certain)
    time_s: Mapped[float] = mapped_column(Float)  # server-measured: served_at -> submitted_at
    step_marks: Mapped[dict[str, Any]] = mapped_column(default=dict)  # step id -> helpful | wrong
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ImportRun(Base):
    """One import of images (``chestx import images|dicomweb``, or one association of a sender to
    ``chestx receive``): what it read from, how it stands, and what became of its items.

    No PHI: ``source`` is a URL without credentials or query, or AE titles; ``problems`` names items
    by position or keyed pseudonym, never by file name or DICOM UID, with the reason in words.
    """

    __tablename__ = "imports"
    # Counters move with every item: the start and the end are audited, not each tick.
    __audit_ignore__ = frozenset(
        {"total", "imported", "recognised", "skipped", "rejected", "problems", "updated_at"}
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(_enum(ImportKind, "import_kind"))
    source: Mapped[str] = mapped_column(String(512))
    status: Mapped[ImportStatus] = mapped_column(
        _enum(ImportStatus, "import_status"), default=ImportStatus.running, index=True
    )
    actor: Mapped[str] = mapped_column(String(128))
    total: Mapped[int | None] = mapped_column(Integer)  # None until known (a receiver never knows)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    recognised: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[Any]] = mapped_column(default=list)  # [outcome, item, reason], the first 200
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class ImportedInstance(Base):
    """A DICOM instance already imported, by a keyed hash of its SOP Instance UID: a re-run of a
    DICOMweb import skips it without retrieving it again."""

    __tablename__ = "import_instances"
    __audit__ = False  # the study it became is audited

    instance_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # HMAC of the SOP UID
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AppSetting(Base):
    """A setting an admin changes at run time, in the database so every replica reads the same
    (keys in :mod:`vocab.priority`: the worklist's strategy, step hints for everyone). Audited."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    updated_by: Mapped[str] = mapped_column(String(128), default="system")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UserPreference(Base):
    """A user's own choices on the review page (step hints are off until they turn them on)."""

    __tablename__ = "user_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    step_hints: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StepScore(Base):
    """The PRM's probability that a model step is correct, from the latest scoring of its chain."""

    __tablename__ = "step_scores"
    # Machine output rewritten for every open step at each scoring: the scoring itself is what is
    # recorded (case_priorities, and the loop run's metrics), not thousands of rows per run.
    __audit__ = False

    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"), primary_key=True)
    p_correct: Mapped[float] = mapped_column(Float)
    prm: Mapped[str] = mapped_column(String(128))  # which PRM: "PRM run 12"
    scored_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CasePriority(Base):
    """Why a case sits where it does in the worklist: the strategy, its score and a short reason.

    ``cases.priority`` stays the ordering key; a strategy writes it as ``tier * 1000 + score``
    (:func:`training.active_learning.strategy.priority_value`), where the tier is the priority the
    case had by hand (``base_priority``) when a strategy first ordered it, and ``fifo`` writes the
    tier back. ``written_priority`` is what was last written, so a priority changed by hand since
    is taken as the new tier.
    """

    __tablename__ = "case_priorities"
    __audit__ = False  # rewritten for every open case at each prioritization (see StepScore)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"), index=True)
    strategy: Mapped[PriorityStrategy] = mapped_column(_enum(PriorityStrategy, "priority_strategy"))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[str] = mapped_column(String(256), default="")
    prm: Mapped[str | None] = mapped_column(String(128))
    base_priority: Mapped[int] = mapped_column(Integer, default=0)
    written_priority: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
