"""The access log: one JSON line per HTTP request, on by default (``CHESTX_ACCESS_LOG``).

Contract: :class:`AccessLogMiddleware` (pure ASGI, outermost, so refusals by the login wall are
logged too) writes to the ``chestx.access`` logger, after the response has been sent, a line
like::

    {"time": "2026-12-14T15:02:03.123Z", "method": "GET", "path": "/img/12", "query": ["window"],
     "status": 200, "duration_ms": 8.4, "user": 7, "client": "10.1.2.3"}

``path`` is the path without the query string; ``query`` holds the parameter names only (their
values may identify: a search, a return address); path segments that are secrets or session
handles (a download token, a Gradio session hash, any long opaque segment) read ``<redacted>``.
``user`` is the logged-in user's id (null before or without a login); ``client`` is the address
as :mod:`chestx.web.proxies` trusts it. Nothing from the request body is logged.
:func:`configure` sends the logger to stderr as bare lines (the app's launcher calls it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from chestx.web.proxies import client_of

LOGGER = logging.getLogger("chestx.access")
# A segment after one of these prefixes is a secret or a session handle.
_SECRET_AFTER = re.compile(r"(/download/|/gradio_api/heartbeat/)[^/]+")
# Any other long opaque segment (tokens, hashes): letters, digits, - and _ only, 24 or more.
_OPAQUE = re.compile(r"(?<=/)[A-Za-z0-9_-]{24,}(?=/|$)")
REDACTED = "<redacted>"


def safe_path(path: str) -> str:
    """``path`` with secrets and session handles replaced by ``<redacted>``."""
    return _OPAQUE.sub(REDACTED, _SECRET_AFTER.sub(lambda m: m.group(1) + REDACTED, path))


def query_names(query_string: bytes) -> list[str]:
    """The parameter names of a query string, in order, without their values."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return [name for name, _value in pairs][:20]


class AccessLogMiddleware:
    def __init__(self, app: Callable, *, logger: logging.Logger = LOGGER) -> None:
        self.app = app
        self.logger = logger

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI
        if scope["type"] != "http" or not self.logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started, at = time.perf_counter(), dt.datetime.now(dt.UTC)
        status = 500  # what the server answers when the app fails before starting a response

        async def send_and_note(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.logger.info(_line(scope, status, at, time.perf_counter() - started))


def _line(scope: dict, status: int, at: dt.datetime, seconds: float) -> str:
    user = (scope.get("state") or {}).get("chestx_user")
    entry = {
        "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": scope.get("method", ""),
        "path": safe_path(scope.get("path", "")),
        "query": query_names(scope.get("query_string", b"")),
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "user": getattr(user, "id", None),
        "client": client_of(scope),
    }
    return json.dumps(entry, ensure_ascii=True, separators=(",", ":"))


def configure(*, enabled: bool = True) -> None:
    """Send ``chestx.access`` to stderr, one bare JSON line per record (or switch it off)."""
    LOGGER.handlers.clear()
    LOGGER.propagate = False
    if not enabled:
        LOGGER.setLevel(logging.CRITICAL + 1)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
