"""The dashboards page (``/dashboards/``): the charts of :mod:`services.dashboards`, for researchers
and admins.

Contract: :func:`build_dashboard_page` returns the page. The middleware refuses the path to other
roles; every refresh re-checks the role (``authorize``) before anything is read. Each chart's
HTML download is a link to ``/download/<token>`` (:mod:`chestx.web.downloads`): a random token
offered to the refreshing user alone, for :data:`LINK_TTL_S`, because Gradio's own file routes
are closed in this app. :func:`warm_up` folds the verdict rollup in the background at start-up.
"""

from __future__ import annotations

import threading
from pathlib import Path

import gradio as gr
from sqlalchemy.orm import Session, sessionmaker

from chestx.web import downloads
from chestx.web.auth import UserInfo, require
from chestx.web.common import PRIVATE, guarded, nav_html, page
from chestx.web.context import AppContext
from chestx.web.dashboards.charts import build_dashboards
from review_db.types import Role
from services.dashboards.queries import warm_up as fold_in_background

VIEWERS = (Role.researcher, Role.admin)
LINK_TTL_S = 30 * 60.0  # a chart link works this long after the refresh that made it


def _link(ctx: AppContext, request: gr.Request, name: str, path: Path) -> str:
    """The download URL of chart ``name`` (file ``path``) for the user behind ``request``."""
    user = require(ctx.user(request), *VIEWERS)
    token = ctx.downloads.offer(
        user=user,
        path=path,
        filename=f"chestx-{name}.html",
        media_type="text/html",
        roles=VIEWERS,
        ttl_s=LINK_TTL_S,
    )
    return downloads.url(token)


def build_dashboard_page(ctx: AppContext) -> gr.Blocks:
    """Review progress, acceptance by step/finding/task/model, agreement, model quality, loss."""
    with page("Dashboards") as demo:
        nav = gr.HTML()
        gr.HTML(
            '<h2 class="cx-h">Dashboards</h2><p class="cx-muted">Step verdicts and reviews as they '
            "stand now; Refresh reads the latest. Each chart downloads as a standalone HTML file; "
            "the camera button in a chart's toolbar saves a PNG.</p>"
        )

        def authorize(request: gr.Request) -> UserInfo:
            return require(ctx.user(request), *VIEWERS)

        build_dashboards(
            ctx.factory,
            authorize=authorize,
            load_on_start=True,
            download_dir=ctx.cache_dir / "dashboards",
            download_link=lambda request, name, path: _link(ctx, request, name, path),
        )

        def render_nav(request: gr.Request) -> str:
            return nav_html(ctx, authorize(request), "/dashboards/")

        demo.load(guarded(render_nav), None, [nav], **PRIVATE)
    demo.queue(default_concurrency_limit=4)
    return demo


def warm_up(factory: sessionmaker[Session]) -> threading.Thread:
    """Fold the dashboards' verdict rollup in a background thread (returns at once)."""
    return fold_in_background(factory)
