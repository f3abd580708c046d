"""A downgrade that would delete data names it and changes nothing unless confirmed (SQLite and
PostgreSQL), through the service and through ``chestx db downgrade``."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from migrations import runner as migrate
from migrations.runner import DataLoss, DowngradeDropsData, current_revision, downgrade, head_revision
from review_db.engine import session_scope
from review_db.errors import ValidationError
from tests import factories


def _counts(db) -> dict[str, int]:  # noqa: ANN001
    names = [t for t in inspect(db.engine).get_table_names() if t != "alembic_version"]
    with db.engine.connect() as conn:
        return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in names}


def _populate(db) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        factories.user(s, name="ann")
        factories.case(s)


def test_a_downgrade_that_would_drop_data_is_refused_naming_tables_and_rows(db) -> None:  # noqa: ANN001
    _populate(db)
    before = _counts(db)
    with pytest.raises(DowngradeDropsData) as refused:
        downgrade(db.url, "base")
    named = {loss.table: loss.count for loss in refused.value.losses}
    assert named == {t: n for t, n in before.items() if n}  # every non-empty table, with its rows
    assert named["users"] == 1 and named["audit_log"] == before["audit_log"] > 0
    assert "audit_log (" in str(refused.value) and "users (1 row)" in str(refused.value)
    assert "--yes-drop-data" in str(refused.value)
    db.engine.dispose()
    assert _counts(db) == before  # nothing dropped, nothing deleted
    assert current_revision(db.engine) == head_revision(db.url)


def test_a_confirmed_downgrade_drops_and_reports_what_it_dropped(db) -> None:  # noqa: ANN001
    _populate(db)
    before = _counts(db)
    dropped = downgrade(db.url, "base", allow_data_loss=True)
    assert {loss.table: loss.count for loss in dropped} == {t: n for t, n in before.items() if n}
    db.engine.dispose()
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(db.engine) is None


def test_a_downgrade_that_keeps_every_row_needs_no_confirmation(db) -> None:  # noqa: ANN001
    _populate(db)
    before = _counts(db)
    assert downgrade(db.url, "0001") == []  # indexes, columns nobody filled, empty tables only
    db.engine.dispose()
    after = _counts(db)
    assert current_revision(db.engine) == "0001" and set(after) < set(before)
    assert after == {t: before[t] for t in after}  # every row of 0001's tables is still there
    assert all(before[t] == 0 for t in set(before) - set(after))  # what went was empty


def test_deleted_rows_and_dropped_columns_with_values_count_as_loss(db, monkeypatch) -> None:  # noqa: ANN001
    """Not only dropped tables: a downgrade that deletes rows or drops a filled column is named."""
    _populate(db)
    with session_scope(db.factory, actor="test") as s:
        factories.case(s)

    def destructive(conn, revision) -> None:  # noqa: ANN001 - stands in for a migration's downgrade
        conn.execute(text("DELETE FROM steps"))
        conn.execute(text("ALTER TABLE users DROP COLUMN display_name"))

    monkeypatch.setattr(migrate, "_downgrade_on", destructive)
    with db.engine.connect() as conn, conn.begin():
        losses = migrate.data_loss(conn, "0001")
    assert DataLoss("users", 1, "display_name") in losses
    assert [loss for loss in losses if loss.table == "steps"] == [DataLoss("steps", 6)]
    assert str(DataLoss("steps", 6)) == "steps (6 rows)"
    db.engine.dispose()
    assert _counts(db)["steps"] == 6  # the dry run was rolled back


def test_a_migration_refusing_to_downgrade_is_a_message_and_changes_nothing(db, monkeypatch) -> None:  # noqa: ANN001
    _populate(db)
    before = _counts(db)

    def refuses(conn, revision) -> None:  # noqa: ANN001 - as 0003 does with 'unusable' reviews
        conn.execute(text("DELETE FROM steps"))
        raise RuntimeError("2 reviews mark a chain unusable, which revision 0002 cannot store")

    monkeypatch.setattr(migrate, "_downgrade_on", refuses)
    with pytest.raises(ValidationError, match="cannot downgrade to 0002: 2 reviews mark a chain unusable"):
        downgrade(db.url, "0002", allow_data_loss=True)
    db.engine.dispose()
    assert _counts(db) == before


def test_cli_refuses_then_drops_with_yes_drop_data(db, settings, monkeypatch) -> None:  # noqa: ANN001
    from chestx.cli import app
    from chestx.settings import get_settings

    _populate(db)
    monkeypatch.setenv("CHESTX_DATABASE_URL", db.url)
    get_settings.cache_clear()
    db.engine.dispose()
    refused = CliRunner().invoke(app, ["db", "downgrade", "base"])
    assert refused.exit_code == 1
    assert "would delete data" in refused.output and "users (1 row)" in refused.output
    assert "Nothing was changed" in refused.output
    assert current_revision(db.engine) == head_revision(db.url) and _counts(db)["users"] == 1

    done = CliRunner().invoke(app, ["db", "downgrade", "base", "--yes-drop-data"])
    assert done.exit_code == 0, done.output
    assert "deleted: " in done.output and "users (1 row)" in done.output
    assert "database at base" in done.output
    db.engine.dispose()
    assert current_revision(db.engine) is None
