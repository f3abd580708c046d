"""``chestx users add|list|deactivate|passwd``: accounts."""

from __future__ import annotations

import sys

import typer

from chestx.cli.common import clean_errors, database
from review_db import store
from review_db.engine import read_session, session_scope
from review_db.store import users as user_svc


def _read_password(prompt: bool) -> str:
    if prompt and sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line:
        raise typer.BadParameter("no password on stdin")
    return line.rstrip("\n")


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="User accounts.", no_args_is_help=True)

    @users.command("add")
    def add(
        name: str,
        role: str = typer.Option(..., "--role", help="reviewer | educator | researcher | admin"),
        display_name: str = typer.Option("", "--display-name"),
    ) -> None:
        """Create an account; the password is read from the prompt, or from stdin when piped."""

        password = _read_password(prompt=True)
        with clean_errors(), session_scope(database(), actor="cli:users") as s:
            user = store.add_user(
                session=s, username=name, password=password, role=role, display_name=display_name
            )
            typer.echo(f"created {user.role.value} {user.username} (id {user.id})")

    @users.command("list")
    def list_() -> None:
        """List accounts."""

        with read_session(database()) as s:
            for u in store.list_users(session=s):
                typer.echo(
                    f"{u.id:>4}  {u.username:<24} {u.role.value:<10} {'active' if u.active else 'inactive'}"
                )

    @users.command("deactivate")
    def deactivate(name: str) -> None:
        """Deactivate an account and end its login sessions."""

        with clean_errors(), session_scope(database(), actor="cli:users") as s:
            user = user_svc.user_by_name(session=s, username=name)
            user_svc.set_active(session=s, user_id=user.id, active=False)
            typer.echo(f"deactivated {name}")

    @users.command("passwd")
    def passwd(name: str) -> None:
        """Set a new password (prompt, or stdin when piped)."""

        password = _read_password(prompt=True)
        with clean_errors(), session_scope(database(), actor="cli:users") as s:
            user = user_svc.user_by_name(session=s, username=name)
            user_svc.set_password(session=s, user_id=user.id, password=password)
            typer.echo(f"password changed for {name}")

    app.add_typer(users, name="users")
