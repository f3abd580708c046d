"""Run Alembic migrations programmatically (``chestx db upgrade`` and the app's start-up).

A downgrade that would remove data is refused unless asked for (:func:`downgrade`): it runs
once inside a savepoint, the tables and columns before and after are compared, and what would
go (tables with rows, rows deleted, columns with values) is named with its counts. The check
and the downgrade itself happen in one transaction (on PostgreSQL with every table locked; on
SQLite under ``BEGIN IMMEDIATE``), so nothing written in between can be lost unseen. No
migration has to declare what it drops: the comparison finds it, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, column, func, inspect, select, table
from sqlalchemy.orm import Session, sessionmaker

import migrations
from review_db.engine import make_engine, session_factory
from review_db.errors import SchemaOutOfDate, ValidationError

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is interpolation syntax in ConfigParser.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


@dataclass(frozen=True)
class DataLoss:
    """What a downgrade would remove from one table: its rows, or one column's values."""

    table: str
    count: int
    column: str | None = None

    def __str__(self) -> str:
        if self.column:
            return f"{self.table}.{self.column} ({self.count} {'value' if self.count == 1 else 'values'})"
        return f"{self.table} ({self.count} {'row' if self.count == 1 else 'rows'})"


class DowngradeDropsData(ValidationError):
    """The downgrade would remove data and was not confirmed; nothing was changed."""

    def __init__(self, revision: str, losses: list[DataLoss]) -> None:
        self.losses = losses
        super().__init__(
            f"downgrading to {revision} would delete data: {', '.join(map(str, losses))}. "
            "Nothing was changed; back the database up and confirm with --yes-drop-data"
        )


_VERSION_TABLE = "alembic_version"


def downgrade(url: str, revision: str = "base", *, allow_data_loss: bool = False) -> list[DataLoss]:
    """Migrate down to ``revision``; returns the data it removed ([] when none).

    Raises :class:`DowngradeDropsData` (database untouched) when data would be removed and
    ``allow_data_loss`` is false. See the module docstring for how the loss is found.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            if conn.dialect.name == "postgresql":  # no writer may slip in between count and drop
                names = ", ".join(f'"{t}"' for t in _columns(conn))
                if names:
                    conn.exec_driver_sql(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
            losses = data_loss(conn, revision)
            if losses and not allow_data_loss:
                raise DowngradeDropsData(revision, losses)
            _downgrade_on(conn, revision)
        return losses
    except RuntimeError as exc:  # a migration refusing (e.g. rows the older schema cannot store)
        raise ValidationError(f"cannot downgrade to {revision}: {exc}") from None
    finally:
        engine.dispose()


def data_loss(conn: Connection, revision: str) -> list[DataLoss]:
    """What downgrading ``conn``'s database to ``revision`` would remove (a dry run in a savepoint,
    rolled back; ``conn`` must be in a transaction)."""
    before = _columns(conn)
    rows = {t: _count(conn, t) for t in before}
    savepoint = conn.begin_nested()
    try:
        _downgrade_on(conn, revision)
        after = _columns(conn)
        rows_after = {t: _count(conn, t) for t in after if t in before}
    finally:
        savepoint.rollback()
    losses = []
    for name, cols in before.items():
        if name not in after:
            losses.append(DataLoss(name, rows[name]))
            continue
        losses.append(DataLoss(name, rows[name] - rows_after[name]))
        losses += [DataLoss(name, _count(conn, name, c), c) for c in sorted(cols - after[name])]
    return [loss for loss in losses if loss.count > 0]


def _downgrade_on(conn: Connection, revision: str) -> None:
    cfg = alembic_config(conn.engine.url.render_as_string(hide_password=False))
    cfg.attributes["connection"] = conn  # env.py runs on it, inside the caller's transaction
    command.downgrade(cfg, revision)


def _columns(conn: Connection) -> dict[str, set[str]]:
    insp = inspect(conn)  # a fresh inspector: it caches what it reflected
    return {
        t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names() if t != _VERSION_TABLE
    }


def _count(conn: Connection, name: str, col: str | None = None) -> int:
    counted = func.count(column(col)) if col else func.count()  # count(col) skips NULLs
    return int(conn.execute(select(counted).select_from(table(name))).scalar_one())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def is_up_to_date(engine: Engine, url: str) -> bool:
    return current_revision(engine) == head_revision(url)


def ready_factory(url: str, *, busy_timeout_ms: int = 30_000) -> sessionmaker[Session]:
    """The session factory for the database at ``url``, migrated and ready.

    A SQLite database (the one-workstation case) is created and migrated on first use (its folder
    too); a PostgreSQL database must be migrated explicitly (``chestx db upgrade``), else
    :class:`~review_db.errors.SchemaOutOfDate`.
    """
    factory = session_factory(url, busy_timeout_ms=busy_timeout_ms)
    engine = factory.kw["bind"]
    if current_revision(engine) != head_revision(url):
        if engine.dialect.name != "sqlite":
            raise SchemaOutOfDate("the database schema is not up to date: run `chestx db upgrade`")
        upgrade(url)
    return factory
