"""The model registry: model versions, their lineage, and which one is promoted.

Contract: keyword-only functions that take a session and never commit. A model version is a base
model plus at most one LoRA adapter (``adapter_path``), trained from its ``parent`` by the run in
``training_run_id``. At most one version is ``promoted`` (the current model); promoting another
retires it in the same transaction, so a reader never sees two or none mid-change; a partial
unique index makes "at most one" a constraint, so of two promotions at the same moment (two
admins, or an admin and the loop, on PostgreSQL) one wins and the other gets a
:class:`~review_db.errors.ConflictError` and changes nothing. A candidate
that loses its evaluation becomes ``rejected`` and the current model stays as it was.

The first loop on a fresh database registers the configured base model (no adapter) as the
initial promoted version (:func:`ensure_current`), so every candidate has a parent to beat.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from review_db.errors import ConflictError, NotFound, ValidationError
from review_db.models import ModelVersion
from review_db.store.common import get_or_raise, savepoint
from review_db.types import ModelStatus, utcnow


def current_version(*, session: Session, for_update: bool = False) -> ModelVersion | None:
    """The promoted version, or None before the first one."""
    stmt = select(ModelVersion).where(ModelVersion.status == ModelStatus.promoted).order_by(ModelVersion.id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    promoted = session.scalars(stmt).all()
    if len(promoted) > 1:  # cannot happen through this module; say so loudly if it ever does
        raise ConflictError(f"{len(promoted)} model versions are promoted: {[m.name for m in promoted]}")
    return promoted[0] if promoted else None


def version_by_name(*, session: Session, name: str) -> ModelVersion:
    version = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
    if version is None:
        raise NotFound(f"no model version named {name!r}")
    return version


def resolve_version(*, session: Session, ref: str | int | None) -> ModelVersion:
    """A version by id, by name, or (``ref`` None) the promoted one."""
    if ref is None:
        version = current_version(session=session)
        if version is None:
            raise NotFound("no model version is promoted yet; run `chestx loop --once` or name a version")
        return version
    if isinstance(ref, int) or str(ref).isdigit():
        return get_or_raise(session, ModelVersion, int(ref))
    return version_by_name(session=session, name=str(ref))


def ensure_current(*, session: Session, base_model: str, name: str = "base") -> ModelVersion:
    """The promoted version; on a fresh database, ``base_model`` registered and promoted first."""
    current = current_version(session=session, for_update=True)
    if current is not None:
        return current
    existing = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
    version = existing or ModelVersion(
        name=name, base_model=base_model, adapter_path=None, metrics={}, notes=""
    )
    if existing is None:
        version.notes = "the configured base model, registered as the first current version"
        session.add(version)
    version.status = ModelStatus.promoted
    version.promoted_at = utcnow()
    session.flush()
    return version


def register_version(
    *,
    session: Session,
    name: str,
    base_model: str,
    adapter_path: str | None,
    parent_id: int | None,
    training_run_id: int | None,
    metrics: Mapping[str, Any] | None = None,
    notes: str = "",
) -> ModelVersion:
    """Register a trained model as a candidate version."""
    if session.scalar(select(ModelVersion.id).where(ModelVersion.name == name)) is not None:
        raise ValidationError(f"a model version named {name!r} already exists")
    if parent_id is not None:
        get_or_raise(session, ModelVersion, parent_id)
    version = ModelVersion(
        name=name,
        base_model=base_model,
        adapter_path=adapter_path,
        parent_id=parent_id,
        training_run_id=training_run_id,
        status=ModelStatus.candidate,
        metrics=dict(metrics or {}),
        notes=notes,
    )
    session.add(version)
    session.flush()
    return version


def add_metrics(*, session: Session, version_id: int, metrics: Mapping[str, Any]) -> ModelVersion:
    """Merge ``metrics`` into the version's metrics (e.g. ``{"eval": {...}}`` per snapshot)."""
    version = get_or_raise(session, ModelVersion, version_id)
    version.metrics = {**(version.metrics or {}), **dict(metrics)}
    session.flush()
    return version


def promote(*, session: Session, version_id: int, note: str = "") -> ModelVersion:
    """Make ``version_id`` the current model; the previously promoted one is retired."""
    version = get_or_raise(session, ModelVersion, version_id, for_update=True)
    if version.status is ModelStatus.promoted:
        return version
    if version.status is ModelStatus.rejected:
        raise ValidationError(f"model version {version.name} was rejected; it cannot be promoted")
    previous = current_version(session=session, for_update=True)
    if previous is not None:
        previous.status = ModelStatus.retired
        session.flush()  # one promoted row at a time, even mid-transaction
    version.status = ModelStatus.promoted
    version.promoted_at = utcnow()
    if note:
        version.notes = (version.notes + "\n" + note).strip()
    name = version.name  # the savepoint's rollback expires the object
    try:
        with savepoint(session):  # the outer transaction stays usable to roll back cleanly
            session.flush()
    except IntegrityError as exc:  # uq_model_versions_one_promoted: another promotion won
        raise ConflictError(
            f"another model version was promoted while {name} was being promoted; reload and decide again"
        ) from exc
    return version


def reject(*, session: Session, version_id: int, note: str = "") -> ModelVersion:
    """Mark a candidate rejected (it lost its evaluation); the current model is untouched."""
    version = get_or_raise(session, ModelVersion, version_id)
    if version.status is not ModelStatus.candidate:
        raise ValidationError(f"model version {version.name} is {version.status.value}, not a candidate")
    version.status = ModelStatus.rejected
    if note:
        version.notes = (version.notes + "\n" + note).strip()
    session.flush()
    return version


def lineage(*, session: Session, version_id: int) -> list[ModelVersion]:
    """The version and its ancestors, newest first."""
    out: list[ModelVersion] = []
    version: ModelVersion | None = get_or_raise(session, ModelVersion, version_id)
    while version is not None and len(out) < 10_000:
        out.append(version)
        version = session.get(ModelVersion, version.parent_id) if version.parent_id else None
    return out
