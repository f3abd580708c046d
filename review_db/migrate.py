"""Run Alembic migrations programmatically (``chestx db upgrade`` and the app's start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is interpolation syntax in ConfigParser.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def is_up_to_date(engine: Engine, url: str) -> bool:
    return current_revision(engine) == head_revision(url)


def ready_factory(settings) -> sessionmaker[Session]:  # noqa: ANN001 - chestx.settings.Settings
    """The session factory for ``settings``' database, migrated and ready.

    A SQLite database (the one-workstation case) is created and migrated on first use; a
    PostgreSQL database must be migrated explicitly (``chestx db upgrade``), else
    :class:`~review_db.errors.SchemaOutOfDate`.
    """
    from review_db.engine import session_factory
    from review_db.errors import SchemaOutOfDate

    factory = session_factory(settings)
    engine = factory.kw["bind"]
    if current_revision(engine) != head_revision(settings.sqlalchemy_url):
        if engine.dialect.name != "sqlite":
            raise SchemaOutOfDate("the database schema is not up to date: run `chestx db upgrade`")
        settings.home.mkdir(parents=True, exist_ok=True)
        upgrade(settings.sqlalchemy_url)
    return factory
