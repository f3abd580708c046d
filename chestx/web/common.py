"""Pieces every Gradio page shares: the Blocks shell, static CSS/JS, the nav bar, error mapping.

Contract: each page module has a ``build_*(ctx) -> gr.Blocks`` that starts with :func:`page`
and wires its events with :func:`guarded` handlers: a :class:`~review_db.errors.ChestXError`
(a permission refused, a case locked...) becomes a visible ``gr.Error`` message, never a stack
trace. Every event is ``api_visibility="private"`` unless the page documents it as public API.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from chestx.web.auth import UserInfo
from chestx.web.context import AppContext
from chestx.web.html import nav
from review_db.errors import ChestXError
from vocab.browser import for_browser

STATIC = Path(__file__).resolve().parent / "static"
PRIVATE: dict[str, Any] = {"api_visibility": "private"}


@functools.cache
def static_text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def css() -> str:
    return static_text("app.css")


def vocab_json() -> str:
    """The shared vocabulary as a JSON island (``#cx-vocab``): the scripts read it, keep no copy."""
    # "<" escaped: text inside a <script> element ends at the first "</script", whatever quotes it.
    data = json.dumps(for_browser(), ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/json" id="cx-vocab">{data}</script>'


def head() -> str:
    """What every page loads in <head>: the vocabulary, the login guard, the keyboard help overlay."""
    scripts = "".join(f"<script>{static_text(name)}</script>" for name in ("session.js", "help.js"))
    return vocab_json() + scripts


def page(title: str) -> gr.Blocks:
    return gr.Blocks(title=f"{title} · ChestX Review", analytics_enabled=False, fill_width=True)


def nav_html(ctx: AppContext, user: UserInfo | None, active: str) -> str:
    if user is None:
        return ""
    return nav(username=user.display_name or user.username, role=user.role, active=active)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a handler; expected errors become a message in the page (``gr.Error``)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ChestXError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    return wrapper


def guarded_gen(fn: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`guarded` for generator handlers (streaming)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            yield from fn(*args, **kwargs)
        except ChestXError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    return wrapper


def table_js() -> str:
    """js_on_load for case tables: a click or Enter on a row asks to open that case."""
    return static_text("table.js")
