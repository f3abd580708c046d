"""``chestx serve``: the web app, the same as ``python app.py`` (both run :mod:`chestx.web.launch`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option(None, "--host", help="Address to listen on (default CHESTX_HOST)."),
        port: int = typer.Option(None, "--port", help="Port (default CHESTX_PORT)."),
        demo: bool | None = typer.Option(
            None,
            "--demo/--no-demo",
            help="Seed the offline demo (accounts with a published password, and cases). "
            "Default: only on a loopback address with SQLite.",
        ),
    ) -> None:
        """Serve the review app (creates and migrates a SQLite database on first use)."""
        from chestx.web import launch  # lazy: gradio and the web stack load only to serve

        launch.serve(host=host, port=port, demo=demo)
