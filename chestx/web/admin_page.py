"""The admin page (``/admin/``): users, model versions and training runs, read from the database.

Contract: :func:`build_admin_page` returns the page; admins only (path guard and handler check).
Accounts are managed with ``chestx users ...``; this page shows them.
"""

from __future__ import annotations

import json

import gradio as gr

from chestx.web.auth import require
from chestx.web.common import PRIVATE, guarded, nav_html, page
from chestx.web.context import AppContext
from chestx.web.html import table
from review_db.services import app_overview


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def _metrics(value: dict) -> str:
    return json.dumps(value, sort_keys=True)[:120] if value else ""


def _tables(data: dict) -> tuple[str, str, str]:
    users = [
        (
            u["username"],
            u["role"],
            "yes" if u["active"] else "no",
            u["sessions"],
            u["verdicts"],
            _when(u["created"]),
        )
        for u in data["users"]
    ]
    models = [
        (
            m["name"], m["status"], m["base_model"], m["adapter"], _metrics(m["metrics"]),
            _when(m["created"]), _when(m["promoted"]),
        )
        for m in data["models"]
    ]  # fmt: skip
    runs = [
        (
            r["id"], r["kind"], r["status"], r["created_by"], _when(r["created"]), _when(r["started"]),
            _when(r["finished"]), _metrics(r["metrics"]), r["error"][:80],
        )
        for r in data["runs"]
    ]  # fmt: skip
    return (
        table(["User", "Role", "Active", "Open logins", "Verdicts", "Created"], users),
        table(
            ["Name", "Status", "Base model", "Adapter", "Metrics", "Created", "Promoted"],
            models,
            empty="No model version registered yet.",
        ),
        table(
            ["Run", "Kind", "Status", "By", "Created", "Started", "Finished", "Metrics", "Error"],
            runs,
            empty="No training run yet.",
        ),
    )


def build_admin_page(ctx: AppContext) -> gr.Blocks:
    """Who can log in, which models exist, which training runs ran."""
    with page("Admin") as demo:
        nav = gr.HTML()
        gr.HTML(
            '<h2 class="cx-h">Users</h2>'
            '<p class="cx-muted">Add and deactivate accounts with <code>chestx users</code>.</p>'
        )
        users = gr.HTML(elem_id="cx-admin-users")
        gr.HTML('<h2 class="cx-h">Model versions</h2>')
        models = gr.HTML(elem_id="cx-admin-models")
        gr.HTML('<h2 class="cx-h">Training runs</h2>')
        runs = gr.HTML(elem_id="cx-admin-runs")
        refresh = gr.Button("Refresh", size="sm")

        def render(request: gr.Request) -> tuple[str, str, str, str]:
            user = require(ctx.user(request))  # no roles named: only admins pass
            with ctx.read() as session:
                data = app_overview.admin_overview(session=session)
            return nav_html(ctx, user, "/admin/"), *_tables(data)

        demo.load(guarded(render), None, [nav, users, models, runs], **PRIVATE)
        refresh.click(guarded(render), None, [nav, users, models, runs], **PRIVATE)
    demo.queue(default_concurrency_limit=4)
    return demo
