"""Migrations: round trip, agreement with the models, and the insert-only audit table."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from migrations.runner import current_revision, downgrade, head_revision, upgrade
from review_db.engine import session_scope
from review_db.models import Base
from tests import factories


def test_upgrade_downgrade_upgrade_round_trip(db) -> None:
    db.engine.dispose()
    downgrade(db.url, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(db.url)
    assert current_revision(db.engine) == head_revision(db.url)
    assert {"users", "cases", "chains", "steps", "step_verdicts", "audit_log"} <= set(
        inspect(db.engine).get_table_names()
    )


def test_models_and_migrations_agree(db) -> None:
    from migrations.env_opts import DESC_INDEXES, include_object

    opts = {"compare_type": True, "include_object": include_object}
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []
    # The indexes Alembic cannot compare: present, on the right columns.
    indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("cases")}
    for name in DESC_INDEXES:
        assert indexes[name]["column_names"] == ["status", "priority", "id"]


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'forger'", "DELETE FROM audit_log"])
def test_audit_log_refuses_update_and_delete(db, statement: str) -> None:
    with session_scope(db.factory, actor="test") as s:
        factories.user(s)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() >= 1
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text(statement))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE actor = 'forger'")).scalar() == 0


def test_sqlite_connection_settings(sqlite_db) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_ready_factory_migrates_sqlite_and_refuses_an_unmigrated_postgres(db, tmp_path) -> None:  # noqa: ANN001
    """What `python app.py` and every `chestx` command do at start: a SQLite database is created
    and migrated on first use; a PostgreSQL one behind the migrations is refused, untouched."""
    from chestx.compose import ready_database
    from chestx.settings import Settings
    from review_db.engine import make_engine
    from review_db.errors import SchemaOutOfDate

    if db.backend == "sqlite":
        fresh = Settings(home=tmp_path / "home", pseudonym_key="test-key-0123456789", database_url=None)
        factory = ready_database(fresh)
        engine = factory.kw["bind"]
        assert current_revision(engine) == head_revision(fresh.sqlalchemy_url)
        assert "step_verdicts" in inspect(engine).get_table_names()
        return
    downgrade(db.url, "base")  # an empty department database nobody migrated yet
    behind = Settings(home=tmp_path / "home", pseudonym_key="test-key-0123456789", database_url=db.url)
    with pytest.raises(SchemaOutOfDate, match="chestx db upgrade"):
        ready_database(behind)
    engine = make_engine(db.url)
    try:
        assert current_revision(engine) is None  # nothing was migrated behind the user's back
    finally:
        engine.dispose()
