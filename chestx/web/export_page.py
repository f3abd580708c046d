"""The researcher's export page (``/export/``): a placeholder that issue 5 fills.

Contract: :func:`build_export_page` returns the page; researchers and admins only (the path is
guarded by the middleware, and each handler checks the role again). Its one public API endpoint,
``list_exports``, lists the finished exports under ``CHESTX_HOME/exports``: scripts call it with
``gradio_client`` and a researcher's login cookie.
"""

from __future__ import annotations

import gradio as gr

from chestx.web.auth import require
from chestx.web.common import PRIVATE, guarded, nav_html, page
from chestx.web.context import AppContext
from chestx.web.html import table
from review_db.types import Role

RESEARCHERS = (Role.researcher,)


def list_exports(ctx: AppContext, request: gr.Request) -> list[list[str]]:
    """(name, files, bytes) of each export folder, newest first."""
    require(ctx.user(request), *RESEARCHERS)
    root = ctx.settings.exports_dir
    if not root.is_dir():
        return []
    rows = []
    for folder in sorted(
        (p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True
    ):
        files = [f for f in folder.rglob("*") if f.is_file()]
        rows.append([folder.name, str(len(files)), str(sum(f.stat().st_size for f in files))])
    return rows


def build_export_page(ctx: AppContext) -> gr.Blocks:
    """Exports of verified data (SFT, PRM, preference pairs, records) for researchers."""
    with page("Export") as demo:
        nav = gr.HTML()
        gr.HTML(
            '<h2 class="cx-h">Exports</h2><p class="cx-muted">De-identified datasets of verified chains '
            "(SFT rows, stepwise supervision for a process reward model, preference pairs, full records). "
            "Until this page offers downloads, create exports with <code>chestx export</code>.</p>"
        )
        listing = gr.HTML()
        refresh = gr.Button("Refresh", size="sm")
        rows = gr.JSON(visible=False)

        def exports(request: gr.Request) -> list[list[str]]:
            return list_exports(ctx, request)

        def render(request: gr.Request) -> tuple[str, str]:
            found = list_exports(ctx, request)
            return nav_html(ctx, ctx.user(request), "/export/"), table(
                ["Export", "Files", "Bytes"], found, empty="No export yet."
            )

        demo.load(guarded(render), None, [nav, listing], **PRIVATE)
        refresh.click(guarded(render), None, [nav, listing], **PRIVATE)
        # The page's public API for scripts: role-checked like everything else.
        refresh.click(guarded(exports), None, [rows], api_name="list_exports", api_visibility="public")
    demo.queue(default_concurrency_limit=4)
    return demo
