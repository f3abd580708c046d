"""Helpers shared by the CLI commands: settings, database sessions and clean error exits."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import typer
from sqlalchemy.orm import Session, sessionmaker

from chestx.compose import ready_database
from chestx.settings import Settings, get_settings
from review_db.errors import ChestXError, SchemaOutOfDate


def settings() -> Settings:
    return get_settings()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` to stderr and return an Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def clean_errors() -> Iterator[None]:
    """Turn the project's expected errors into a one-line message and exit 1, never a traceback."""
    try:
        yield
    except ChestXError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


def database() -> sessionmaker[Session]:
    """The session factory for the configured database, migrated and ready.

    A SQLite database is created and migrated on first use (the one-workstation case); a
    PostgreSQL database must be migrated explicitly with ``chestx db upgrade``.
    """
    try:
        return ready_database(settings())
    except SchemaOutOfDate as exc:
        raise fail(str(exc)) from None
