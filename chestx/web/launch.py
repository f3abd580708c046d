"""Launching the web app: prepare the database, seed the demo, build and serve (the composition root).

Contract: :func:`build_app` builds the FastAPI app (Gradio mounted inside, behind our own login)
for tests, benchmarks and other ASGI servers, and points the access log at stderr;
:func:`serve` prepares the database (SQLite: created and migrated; PostgreSQL: refused unless
migrated) and serves until interrupted. ``python app.py`` and ``chestx serve`` both call
:func:`main` / :func:`serve`; this module reads the settings and passes plain values down.

Safe by default: the demo (accounts with a published password) is seeded only when asked
(``--demo``) or, by default, when the app listens on a loopback address with SQLite (one
workstation); the development pseudonym key is refused on PostgreSQL and on an address other
machines can reach; with no admin account yet, the start-up says how to create one.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import EllipsisType

import uvicorn
from fastapi import FastAPI

from chestx import compose
from chestx.settings import Settings, UnsafeSettings, get_settings, is_loopback
from chestx.web import access_log
from chestx.web.context import BackendFactory
from chestx.web.server import create_app
from review_db.engine import read_session
from review_db.errors import SchemaOutOfDate
from review_db.store.users import count_active_admins
from services import demo
from services.demo import DemoUnavailable

FIRST_ADMIN = (
    "No admin account yet: create the first one with  chestx users add NAME --role admin  "
    "(same CHESTX_HOME / CHESTX_DATABASE_URL), then log in as NAME."
)
PUBLIC_DEMO = (
    "warning: the demo's accounts have a published password and {host} is reachable from other "
    "machines; serve the demo on 127.0.0.1, or without --demo."
)


def prepare_database(settings: Settings) -> None:
    """Create and migrate a SQLite database; refuse a PostgreSQL one that is not migrated."""
    try:
        compose.ready_database(settings)
    except SchemaOutOfDate as exc:
        raise SystemExit(f"error: {exc}") from None


def seed_demo(settings: Settings) -> str:
    """Seed the offline demo; returns the login hint shown on the login page."""
    info = demo.seed_demo(factory=compose.database(settings), intake=compose.intake(settings))
    if info.created_cases:
        print(f"demo: seeded {len(info.created_cases)} demo cases", flush=True)
    return (
        f"Demo: log in as {demo.DEMO_USER} / {demo.DEMO_PASSWORD} (reviewer) or "
        f"{demo.DEMO_EDUCATOR} / {demo.DEMO_PASSWORD} (educator)."
    )


def build_app(
    settings: Settings | None = None,
    *,
    demo_hint: str = "",
    backend_factory: BackendFactory | None | EllipsisType = ...,
    loop_config: Path | None = None,
) -> FastAPI:
    """The web app for ``settings`` (default: the environment's). The database must be ready.

    ``backend_factory``: the reasoner behind "Ask the model" (default: the one the settings name);
    ``loop_config``: the loop YAML behind the admin page's "Run loop now" (default: the shipped
    ``training/configs/loop.yaml``).
    """
    settings = settings or get_settings()
    access_log.configure(enabled=settings.access_log)
    return create_app(
        settings,
        demo_hint=demo_hint,
        loop_config=loop_config,
        backend_factory=backend_factory,
    )


def wants_demo(settings: Settings, *, host: str, demo: bool | None) -> bool:
    """Whether to seed the demo: as asked, else (None) only on a loopback address with SQLite."""
    if demo is not None:
        return demo
    return is_loopback(host) and settings.uses_sqlite


def server_config(app: FastAPI, *, host: str, port: int) -> uvicorn.Config:
    """How uvicorn runs the app. ``proxy_headers=False``: uvicorn would otherwise believe
    ``X-Forwarded-For`` from 127.0.0.1 and hand the app a client address any local process can
    choose; the app trusts only ``CHESTX_TRUSTED_PROXIES`` (:mod:`chestx.web.proxies`). Its own
    access log is off: the app writes the structured one (:mod:`chestx.web.access_log`)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=3,
        proxy_headers=False,
        access_log=False,
    )


def serve(*, host: str | None = None, port: int | None = None, demo: bool | None = None) -> None:
    """Prepare the database (and the demo, see :func:`wants_demo`), then serve until interrupted.

    Exits with a message, starting nothing, when the development pseudonym key would be used on
    PostgreSQL or on an address other machines can reach.
    """
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    try:
        settings.require_own_key(host=host)
    except UnsafeSettings as exc:
        raise SystemExit(f"error: {exc}") from None
    prepare_database(settings)
    hint = ""
    if wants_demo(settings, host=host, demo=demo):
        try:
            hint = seed_demo(settings)
        except DemoUnavailable as exc:
            if demo:  # asked for explicitly: say why not, and stop
                raise SystemExit(f"error: {exc}") from None
            print(f"no demo: {exc}", flush=True)  # the default: serve without it
    app = build_app(settings, demo_hint=hint)
    for line in announcement(settings, host=host, port=port, demo_hint=hint):
        print(line, flush=True)
    uvicorn.Server(server_config(app, host=host, port=port)).run()


def announcement(settings: Settings, *, host: str, port: int, demo_hint: str) -> list[str]:
    """What :func:`serve` prints before serving: the address, the demo's logins (and a warning
    when they are reachable from other machines), and how to create the first admin when the
    database has no active admin yet."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    lines = [f"ChestX Review: http://{shown}:{port}/  (data in {settings.home})"]
    if demo_hint:
        lines.append(demo_hint)
        if not is_loopback(host):
            lines.append(PUBLIC_DEMO.format(host=host))
    with read_session(compose.database(settings)) as session:
        if not count_active_admins(session=session):
            lines.append(FIRST_ADMIN)
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="app.py", description="Serve ChestX Review.")
    parser.add_argument("--host", help="address to listen on (default CHESTX_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default CHESTX_PORT or 7860)")
    parser.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="seed the demo (default: only on a loopback address with SQLite)",
    )
    args = parser.parse_args(argv)
    serve(host=args.host, port=args.port, demo=args.demo)
