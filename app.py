"""ChestX Review's web app: ``python app.py`` is the main job.

With no arguments, on a fresh machine: creates ``./chestx-data`` (``CHESTX_HOME``), creates and
migrates the SQLite database, seeds the offline demo (a reviewer account ``demo`` whose password
is printed, the real chest radiograph from ``pydicom-data`` and more demo cases) and serves the
app on http://127.0.0.1:7860 . ``--no-demo`` skips the demo; ``--host``/``--port`` override the
settings. ``chestx serve`` is the same command.

:func:`build_app` builds the FastAPI app (Gradio mounted inside, behind our own login) for tests,
benchmarks and other ASGI servers; :func:`main` is the command line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Gradio's only call home; set before gradio is first imported. A constant, not configuration.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from fastapi import FastAPI  # noqa: E402

from chestx.settings import Settings, get_settings  # noqa: E402


def prepare_database(settings: Settings) -> None:
    """Create and migrate a SQLite database; refuse a PostgreSQL one that is not migrated."""
    from migrations.runner import ready_factory
    from review_db.errors import SchemaOutOfDate

    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        ready_factory(settings)
    except SchemaOutOfDate as exc:
        raise SystemExit(f"error: {exc}") from None


def seed_demo(settings: Settings) -> str:
    """Seed the offline demo; returns the login hint shown on the login page."""
    from review_db.engine import session_factory
    from services.demo import DEMO_EDUCATOR, DEMO_PASSWORD, DEMO_USER
    from services.demo import seed_demo as seed

    info = seed(factory=session_factory(settings), settings=settings)
    if info.created_cases:
        print(f"demo: seeded {len(info.created_cases)} demo cases", flush=True)
    return (
        f"Demo: log in as {DEMO_USER} / {DEMO_PASSWORD} (reviewer) or "
        f"{DEMO_EDUCATOR} / {DEMO_PASSWORD} (educator)."
    )


def build_app(
    settings: Settings | None = None,
    *,
    demo_hint: str = "",
    backend_factory=...,  # noqa: ANN001
    loop_config: Path | None = None,
) -> FastAPI:
    """The web app for ``settings`` (default: the environment's). The database must be ready.

    ``loop_config``: the loop YAML behind the admin page's "Run loop now" (default: the shipped
    ``training/configs/loop.yaml``).
    """
    from chestx.web.server import create_app

    kwargs = {} if backend_factory is ... else {"backend_factory": backend_factory}
    return create_app(settings or get_settings(), demo_hint=demo_hint, loop_config=loop_config, **kwargs)


def serve(*, host: str | None = None, port: int | None = None, demo: bool = True) -> None:
    """Prepare the database (and demo), then serve until interrupted."""
    import uvicorn

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


if __name__ == "__main__":
    sys.exit(main())
