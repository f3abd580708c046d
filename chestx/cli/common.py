"""Helpers shared by the CLI commands: settings, database sessions and clean error exits."""

from __future__ import annotations

import contextlib
import sys
import unicodedata
from collections.abc import Iterator

import typer
from sqlalchemy.orm import Session, sessionmaker

from chestx.compose import ready_database
from chestx.settings import Settings, get_settings
from review_db.errors import ChestXError, SchemaOutOfDate


def settings() -> Settings:
    return get_settings()


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` safe to print on one terminal line: a backslash, a newline, other control
    characters and invisible format characters (bidi overrides) are written as escapes (``\\n``,
    ``\\x1b``, ``\\u202e``), so a file name cannot forge lines or colours in the output."""
    return "".join(_escape(ch) for ch in text)


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if unicodedata.category(ch)[0] != "C":  # Cc control, Cf format, Cs lone surrogate, Co, Cn
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


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
        typer.echo(printable(f"error: {exc}"), err=True)  # it may name a file (a newline in it)
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
