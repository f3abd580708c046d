"""Assemble the web app: FastAPI routes, one Gradio Blocks per page, and the login wall.

Contract: :func:`create_app` returns a FastAPI app with

- ``/login``, ``/logout``, ``/``: our own login (:mod:`chestx.web.login`);
- ``/healthz``, ``/readyz``: the health probes, open without a login (:mod:`chestx.web.health`);
- ``/img/{case_id}``: the authorised image route (:mod:`chestx.web.images`);
- ``/download/{token}``: files built for one user (export zips, chart HTML;
  :mod:`chestx.web.downloads`), researchers and admins only;
- ``/review/``, ``/teach/``, ``/dashboards/``, ``/export/``, ``/admin/``: one Gradio Blocks each,
  mounted with ``gr.mount_gradio_app``; a page's Blocks, queue and API live under its path, so
  the middleware can refuse a whole page (API included) to a role by path;
- :class:`chestx.web.auth.AuthMiddleware` in front of all of it (trusting ``X-Forwarded-For``
  only from ``CHESTX_TRUSTED_PROXIES``), and in front of that the JSON access log
  (:mod:`chestx.web.access_log`) unless ``CHESTX_ACCESS_LOG`` is off.

It touches no global state: several apps (tests, the benchmark) can live in one process. At
start-up it folds the dashboards' verdict rollup in a background thread (``warm_dashboards``),
removes export zips an earlier process left behind, and starts the download sweeper.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import EllipsisType

import gradio as gr
from fastapi import FastAPI

from chestx import compose
from chestx.compose import reasoner_config
from chestx.settings import Settings
from chestx.web import downloads, health, images, login
from chestx.web.access_log import AccessLogMiddleware
from chestx.web.admin.page import build_admin_page
from chestx.web.auth import AuthMiddleware, LoginResolver
from chestx.web.common import css, head
from chestx.web.context import AppContext, BackendFactory
from chestx.web.dashboards.page import build_dashboard_page, warm_up
from chestx.web.export.page import build_export_page, export_root
from chestx.web.proxies import TrustedProxies
from chestx.web.review.page import build_review_page
from chestx.web.study.page import build_study_page
from chestx.web.teach.page import build_teach_page
from imaging import RenderCache
from migrations.runner import head_revision
from review_db.types import Role
from services.generation import configured, make_backend

# path -> (page builder, roles besides admin that may open it)
PAGES: dict[str, tuple[Callable[[AppContext], gr.Blocks], frozenset[Role]]] = {
    "/review": (build_review_page, frozenset({Role.reviewer})),
    "/teach": (build_teach_page, frozenset({Role.educator})),
    "/dashboards": (build_dashboard_page, frozenset({Role.researcher})),
    "/export": (build_export_page, frozenset({Role.researcher})),
    "/study": (build_study_page, frozenset({Role.reviewer, Role.researcher})),
    "/admin": (build_admin_page, frozenset()),
}
# Routes outside the pages that the middleware also guards by role (admins: all).
ROUTE_ROLES: dict[str, frozenset[Role]] = {downloads.PREFIX: frozenset({Role.researcher})}


def _skip_missing_matplotlib() -> None:
    """Make ``import matplotlib`` fail at once when it is not installed.

    Gradio wraps every event in a context manager that tries ``import matplotlib``; a failed
    import is not cached, so without matplotlib each event re-scans ``sys.path`` on the
    server's event loop (measured: tens of milliseconds of stalls under load). A ``None`` in
    ``sys.modules`` is Python's documented way to say "this module is absent".
    """
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]


def _gradio_user(request) -> str | None:  # noqa: ANN001 - fastapi.Request
    """Gradio's view of the login: the middleware has already resolved it."""
    user = (request.scope.get("state") or {}).get("chestx_user")
    return user.username if user is not None else None


def create_app(
    settings: Settings,
    *,
    backend_factory: BackendFactory | None | EllipsisType = ...,
    demo_hint: str = "",
    loop_config: Path | None = None,
    warm_dashboards: bool = True,
) -> FastAPI:
    """The whole web app for ``settings`` (the database must already be migrated).

    ``backend_factory``: builds the reasoner for "Ask the model for a fresh chain"; by default the
    one the settings name (:func:`services.generation.make_backend`), none when they name none.

    ``loop_config``: the loop YAML behind the admin page's "Run loop now" (default
    :data:`chestx.web.admin.training_panel.DEFAULT_LOOP_CONFIG`, the shipped
    ``training/configs/loop.yaml``).
    """
    _skip_missing_matplotlib()
    if backend_factory is ...:
        config = reasoner_config(settings)
        backend_factory = functools.partial(make_backend, config) if configured(config) else None
    factory = compose.database(settings)
    ctx = AppContext(
        settings=settings,
        factory=factory,
        resolver=LoginResolver(factory),
        render_cache=RenderCache(max(1, settings.render_cache_items)),
        backend_factory=backend_factory,
        demo_hint=demo_hint,
        loop_config=loop_config,
    )
    app = FastAPI(title="ChestX Review", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(login.router(ctx))
    app.include_router(health.router(engine=factory.kw["bind"], head=head_revision(settings.sqlalchemy_url)))
    app.include_router(images.router(ctx))
    app.include_router(downloads.router(ctx))
    theme = gr.themes.Default(primary_hue="blue", neutral_hue="slate")
    for path, (build, _roles) in PAGES.items():
        gr.mount_gradio_app(
            app,
            build(ctx),
            path=path,
            auth_dependency=_gradio_user,
            footer_links=[],
            run_history=False,
            show_error=True,
            max_file_size=settings.max_upload_bytes,
            theme=theme,
            css=css(),
            head=head(),
        )
    guarded_paths = {path: roles for path, (_b, roles) in PAGES.items()} | ROUTE_ROLES
    proxies = TrustedProxies(settings.trusted_proxies)
    app.add_middleware(AuthMiddleware, resolver=ctx.resolver, page_roles=guarded_paths, proxies=proxies)
    if settings.access_log:  # added last: the outermost, so the login wall's refusals are logged
        app.add_middleware(AccessLogMiddleware)
    app.state.chestx = ctx
    _start_background(ctx, warm_dashboards=warm_dashboards)
    return app


def _start_background(ctx: AppContext, *, warm_dashboards: bool) -> None:
    """Start-up chores that must not delay serving: old zips, the download sweeper, the rollup."""
    downloads.remove_orphans(export_root(ctx))
    downloads.start_sweeper(ctx.downloads)
    if warm_dashboards:
        warm_up(ctx.factory)  # a background thread: start-up does not wait for it
