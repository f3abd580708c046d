"""The dashboards page (``/dashboards/``): a placeholder that issue 7 fills with charts.

Contract: :func:`build_dashboard_page` returns the page; researchers and admins only. Until the
charts exist it shows the review progress figures the worklist already computes.
"""

from __future__ import annotations

import gradio as gr

from chestx.web.auth import require
from chestx.web.common import PRIVATE, guarded, nav_html, page
from chestx.web.context import AppContext
from chestx.web.html import table
from review_db import services
from review_db.types import Role

VIEWERS = (Role.researcher,)


def build_dashboard_page(ctx: AppContext) -> gr.Blocks:
    """Review progress now; agreement, acceptance by step and model quality to come."""
    with page("Dashboards") as demo:
        nav = gr.HTML()
        gr.HTML(
            '<h2 class="cx-h">Dashboards</h2><p class="cx-muted">Progress over time, acceptance by step '
            "position and finding, reviewer agreement and model quality across versions will appear here.</p>"
        )
        figures = gr.HTML()

        def render(request: gr.Request) -> tuple[str, str]:
            user = require(ctx.user(request), *VIEWERS)
            with ctx.read() as session:
                counts = services.status_counts(session=session)
            rows = [(status, n) for status, n in sorted(counts.items())]
            return nav_html(ctx, user, "/dashboards/"), table(["Cases", "Count"], rows)

        demo.load(guarded(render), None, [nav, figures], **PRIVATE)
    demo.queue(default_concurrency_limit=4)
    return demo
