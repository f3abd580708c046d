"""The composition root's adapters: deploy settings in, the plain configurations packages take out.

Contract: the only place (with :mod:`chestx.settings`) where a :class:`~chestx.settings.Settings`
becomes the typed values of the layers below; those layers never import ``chestx``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from chestx.settings import Settings
from migrations.runner import ready_factory
from review_db.engine import session_factory
from services.generation import ReasonerConfig
from services.importing import Intake
from training.context import WorkerConfig


def reasoner_config(
    settings: Settings,
    *,
    backend: str | None = None,
    model: str | None = None,
    adapter: Path | None = None,
    report_by_llm: bool = False,
    demo_text: bool = False,
) -> ReasonerConfig:
    """The reasoner the settings name, with a command's overrides (``model`` is the hf model or
    the served model's name, by backend)."""
    kind = backend or settings.reasoner_backend
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return ReasonerConfig(
        backend=kind,
        model_path=(model if kind == "hf" and model else settings.model_path),
        adapter=adapter,
        openai_base_url=settings.openai_base_url,
        openai_model=(model if kind != "hf" and model else settings.openai_model),
        openai_api_key=key,
        system_prompt=settings.system_prompt,
        report_by_llm=report_by_llm,
        demo_text=demo_text,
    )


def intake(settings: Settings) -> Intake:
    """How images come in (de-identification key, limits, image store, reviews per new case)."""
    return Intake(
        key=settings.key_bytes(),
        image_dir=settings.image_dir,
        date_shift_max_days=settings.date_shift_max_days,
        max_pixels=settings.max_image_pixels,
        max_bytes=settings.max_upload_bytes,
        required_reviews=settings.required_reviews,
    )


def database(settings: Settings) -> sessionmaker[Session]:
    """The session factory of the settings' database (not migrated here)."""
    return session_factory(settings.sqlalchemy_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)


def ready_database(settings: Settings) -> sessionmaker[Session]:
    """The settings' database, migrated when it is SQLite (SchemaOutOfDate for PostgreSQL)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    return ready_factory(settings.sqlalchemy_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)


def worker_config(settings: Settings) -> WorkerConfig:
    """What a training worker needs from the deploy settings (written to its private config file)."""
    return WorkerConfig(
        database_url=settings.sqlalchemy_url,
        runs_dir=settings.runs_dir,
        image_dir=settings.image_dir,
        cache_dir=settings.cache_dir,
        pseudonym_key=settings.key_bytes(),
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
