"""Launching the web app: prepare the database, seed the demo, build and serve (the composition root).

Contract: :func:`build_app` builds the FastAPI app (Gradio mounted inside, behind our own login)
for tests, benchmarks and other ASGI servers; :func:`serve` prepares the database (SQLite:
created and migrated; PostgreSQL: refused unless migrated), seeds the offline demo unless told
not to, and serves until interrupted. ``python app.py`` and ``chestx serve`` both call
:func:`main` / :func:`serve`; this module reads the settings and passes plain values down.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import EllipsisType

import uvicorn
from fastapi import FastAPI

from chestx import compose
from chestx.settings import Settings, get_settings
from chestx.web.context import BackendFactory
from chestx.web.server import create_app
from review_db.errors import SchemaOutOfDate
from services import demo


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
    return create_app(
        settings or get_settings(),
        demo_hint=demo_hint,
        loop_config=loop_config,
        backend_factory=backend_factory,
    )


def serve(*, host: str | None = None, port: int | None = None, demo: bool = True) -> None:
    """Prepare the database (and demo), then serve until interrupted."""
    settings = get_settings()
    prepare_database(settings)
    hint = seed_demo(settings) if demo else ""
    app = build_app(settings, demo_hint=hint)
    host, port = host or settings.host, port or settings.port
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"ChestX Review: http://{shown}:{port}/  (data in {settings.home})", flush=True)
    if hint:
        print(hint, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="app.py", description="Serve ChestX Review.")
    parser.add_argument("--host", help="address to listen on (default CHESTX_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default CHESTX_PORT or 7860)")
    parser.add_argument("--demo", action=argparse.BooleanOptionalAction, default=True, help="seed the demo")
    args = parser.parse_args(argv)
    serve(host=args.host, port=args.port, demo=args.demo)
