"""``chestx db upgrade|downgrade|current``: schema migrations."""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url

from chestx.cli.common import clean_errors, settings
from migrations.runner import current_revision, head_revision
from migrations.runner import downgrade as migrate_down
from migrations.runner import upgrade as migrate_up
from review_db.engine import make_engine


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)

    @db.command()
    def upgrade(revision: str = typer.Argument("head")) -> None:
        """Migrate the database to REVISION (default: the newest)."""

        s = settings()
        s.home.mkdir(parents=True, exist_ok=True)
        migrate_up(s.sqlalchemy_url, revision)
        typer.echo(f"database at {revision}: {_redacted(s.sqlalchemy_url)}")

    @db.command()
    def downgrade(
        revision: str = typer.Argument(..., help="Target revision, e.g. 'base', or '-- -1' for one step."),
        yes_drop_data: bool = typer.Option(
            False, "--yes-drop-data", help="Delete what the downgrade removes: tables, rows and all."
        ),
    ) -> None:
        """Migrate the database down to REVISION.

        A downgrade that would delete data (tables with rows, columns with values) names them
        with their counts and changes nothing, unless --yes-drop-data.
        """

        url = settings().sqlalchemy_url
        with clean_errors():
            dropped = migrate_down(url, revision, allow_data_loss=yes_drop_data)
        if dropped:
            typer.echo(f"deleted: {', '.join(map(str, dropped))}")
        engine = make_engine(url)
        now = current_revision(engine)
        engine.dispose()
        typer.echo(f"database at {now or 'base'}")

    @db.command()
    def current() -> None:
        """Print the database's revision and whether it is the newest."""

        s = settings()
        engine = make_engine(s.sqlalchemy_url)
        rev, head = current_revision(engine), head_revision(s.sqlalchemy_url)
        engine.dispose()
        typer.echo(f"{rev or 'empty'} ({'up to date' if rev == head else f'head is {head}'})")

    app.add_typer(db, name="db")


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
