"""``chestx db upgrade|downgrade|current``: schema migrations."""

from __future__ import annotations

import typer

from chestx.cli.common import clean_errors, settings


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)

    @db.command()
    def upgrade(revision: str = typer.Argument("head")) -> None:
        """Migrate the database to REVISION (default: the newest)."""
        from migrations.runner import upgrade as run

        s = settings()
        s.home.mkdir(parents=True, exist_ok=True)
        run(s.sqlalchemy_url, revision)
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
        from migrations.runner import current_revision
        from migrations.runner import downgrade as run
        from review_db.engine import make_engine

        url = settings().sqlalchemy_url
        with clean_errors():
            dropped = run(url, revision, allow_data_loss=yes_drop_data)
        if dropped:
            typer.echo(f"deleted: {', '.join(map(str, dropped))}")
        engine = make_engine(url)
        now = current_revision(engine)
        engine.dispose()
        typer.echo(f"database at {now or 'base'}")

    @db.command()
    def current() -> None:
        """Print the database's revision and whether it is the newest."""
        from migrations.runner import current_revision, head_revision
        from review_db.engine import make_engine

        s = settings()
        engine = make_engine(s.sqlalchemy_url)
        rev, head = current_revision(engine), head_revision(s.sqlalchemy_url)
        engine.dispose()
        typer.echo(f"{rev or 'empty'} ({'up to date' if rev == head else f'head is {head}'})")

    app.add_typer(db, name="db")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
