"""The admin page (``/admin/``): users, and training (the active job, runs, model versions).

Contract: :func:`build_admin_page` returns the page; admins only (path guard and handler check).
Accounts are managed with ``chestx users ...``; this page shows them. The training section is
:mod:`chestx.web.training_panel` over :func:`training.jobs.overview`; a ``gr.Timer`` refreshes
it every :data:`TICK_S` seconds while a job is queued or running (and stops when none is).
"Run loop now" starts the loop in a detached worker process; "Cancel job" ends the active job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from chestx.web import training_panel
from chestx.web.auth import require
from chestx.web.common import PRIVATE, guarded, nav_html, page
from chestx.web.context import AppContext
from chestx.web.html import notice, table
from review_db.errors import ChestXError
from review_db.services import app_overview

TICK_S = 2.0


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def users_table(data: dict) -> str:
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
    return table(["User", "Role", "Active", "Open logins", "Verdicts", "Created"], users)


def _training(ctx: AppContext) -> list[Any]:
    """The training section's outputs: active job, runs, versions, and the timer (on while active)."""
    data = training_panel.overview(ctx)
    return [*training_panel.panel_html(data), gr.Timer(active=data["active"] is not None)]


def _action(ctx: AppContext, action: Callable[[AppContext, Any], str]) -> Callable[..., list[Any]]:
    """A button's handler: run ``action``, show its message (or its error), refresh the section."""

    def handler(request: gr.Request) -> list[Any]:
        user = require(ctx.user(request))  # no roles named: only admins pass
        try:
            shown = notice(action(ctx, user), "ok")
        except ChestXError as exc:
            shown = notice(str(exc), "error")
        return [shown, *_training(ctx)]

    return guarded(handler)


def _training_layout() -> tuple[gr.Button, gr.Button, gr.Button, gr.HTML, list[Any]]:
    """(run, cancel, refresh, message, outputs) of the training section, created in page order."""
    gr.HTML(
        '<h2 class="cx-h" id="cx-training">Training</h2><p class="cx-muted">The feedback loop runs in '
        "its own worker process (docs/TRAINING.md); this page follows it.</p>"
    )
    with gr.Row():
        run_now = gr.Button("Run loop now", variant="primary", size="sm", elem_id="cx-run-loop")
        cancel = gr.Button("Cancel job", variant="stop", size="sm", elem_id="cx-cancel-job")
        refresh = gr.Button("Refresh", size="sm")
    message = gr.HTML(elem_id="cx-train-notice")
    active = gr.HTML(elem_id="cx-admin-active")
    gr.HTML('<h3 class="cx-h">Recent runs</h3>')
    runs = gr.HTML(elem_id="cx-admin-runs")
    gr.HTML('<h3 class="cx-h">Model versions</h3>')
    models = gr.HTML(elem_id="cx-admin-models")
    return run_now, cancel, refresh, message, [active, runs, models, gr.Timer(TICK_S, active=False)]


def build_admin_page(ctx: AppContext) -> gr.Blocks:
    """Who can log in; which training job runs, which ran, which models exist."""
    with page("Admin") as demo:
        nav = gr.HTML()
        gr.HTML(
            '<h2 class="cx-h">Users</h2>'
            '<p class="cx-muted">Add and deactivate accounts with <code>chestx users</code>.</p>'
        )
        users = gr.HTML(elem_id="cx-admin-users")
        run_now, cancel, refresh, message, training = _training_layout()
        timer = training[-1]

        def render(request: gr.Request) -> list[Any]:
            user = require(ctx.user(request))  # no roles named: only admins pass
            with ctx.read() as session:
                data = app_overview.admin_overview(session=session)
            return [nav_html(ctx, user, "/admin/"), users_table(data), *_training(ctx)]

        def tick(request: gr.Request) -> list[Any]:
            require(ctx.user(request))
            return _training(ctx)

        demo.load(guarded(render), None, [nav, users, *training], **PRIVATE)
        refresh.click(guarded(render), None, [nav, users, *training], **PRIVATE)
        timer.tick(guarded(tick), None, training, show_progress="hidden", **PRIVATE)
        # One button press at a time (the job table serialises starts anyway).
        once = {"concurrency_limit": 1, "concurrency_id": "training", **PRIVATE}
        run_now.click(_action(ctx, training_panel.run_loop), None, [message, *training], **once)
        cancel.click(_action(ctx, training_panel.cancel_job), None, [message, *training], **once)
    demo.queue(default_concurrency_limit=4)
    return demo
