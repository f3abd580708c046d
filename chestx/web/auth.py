"""Who is asking: login cookies, the middleware that guards every route, role checks.

Contract:

- A login is a random token in an HttpOnly, SameSite=Lax cookie (``chestx_session``); the
  database keeps only its hash (:func:`review_db.store.create_login`), with an expiry, and
  logout revokes it. :class:`LoginResolver` turns a token into a :class:`UserInfo`, caching the
  answer for a few seconds so that a page load (dozens of asset requests) costs one query.
- :class:`AuthMiddleware` (pure ASGI, so streaming responses are untouched) runs before every
  route, Gradio's own included (pages, ``/gradio_api/*``, the queue, assets, ``/config``):
  without a valid login a page request is redirected to ``/login`` and anything else gets 401;
  a page whose role does not match gets 403. Gradio's upload and file routes are refused
  outright: the app has no uploads and never serves files from Gradio's cache.
- Handlers still check the role themselves (:func:`require`): the path guard is the outer wall,
  not the only one.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.orm import Session, sessionmaker

from review_db import store
from review_db.engine import read_session
from review_db.errors import PermissionDenied
from review_db.types import Role

COOKIE = "chestx_session"
PUBLIC_PATHS = frozenset({"/login", "/favicon.ico"})
# Gradio routes the app never uses: uploads into, and files out of, Gradio's shared cache.
BLOCKED_FRAGMENTS = ("/gradio_api/upload", "/gradio_api/file=", "/gradio_api/mcp", "/file=")


@dataclass(frozen=True)
class UserInfo:
    """The logged-in user as handlers see it (a plain value, safe to keep in state)."""

    id: int
    username: str
    role: Role
    display_name: str = ""

    def may(self, *roles: Role) -> bool:
        """Admins may do everything; others need one of ``roles``."""
        return self.role is Role.admin or self.role in roles


def require(user: UserInfo | None, *roles: Role) -> UserInfo:
    """``user`` if logged in with one of ``roles`` (or admin), else PermissionDenied."""
    if user is None:
        raise PermissionDenied("your login has ended; log in again")
    if not user.may(*roles):
        raise PermissionDenied(f"{user.username} ({user.role.value}) may not do this")
    return user


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginResolver:
    """Token -> user, through the database, with a short cache (revocation clears it here)."""

    def __init__(self, factory: sessionmaker[Session], *, ttl_s: float = 10.0, max_items: int = 4096) -> None:
        self.factory = factory
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._cache: dict[str, tuple[float, UserInfo | None]] = {}
        self._lock = threading.Lock()

    def peek(self, token: str | None) -> tuple[bool, UserInfo | None]:
        """(True, answer) when the answer is known without the database, else (False, None)."""
        if not token or len(token) > 256:
            return True, None
        with self._lock:
            hit = self._cache.get(token_key(token))
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def resolve(self, token: str | None) -> UserInfo | None:
        known, info = self.peek(token)
        if known:
            return info
        key = token_key(token)
        now = time.monotonic()
        with read_session(self.factory) as session:
            user = store.resolve_login(session=session, token=token)
            info = None if user is None else UserInfo(user.id, user.username, user.role, user.display_name)
        with self._lock:
            if len(self._cache) >= self.max_items:
                self._cache.clear()
            self._cache[key] = (now + self.ttl_s, info)
        return info

    def forget(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._cache.pop(token_key(token), None)

    def forget_user(self, user_id: int) -> None:
        """Drop every cached answer naming ``user_id`` (deactivated, or given another role): their
        next request asks the database. Other app processes still wait out :attr:`ttl_s`."""
        with self._lock:
            for key in [k for k, (_, info) in self._cache.items() if info is not None and info.id == user_id]:
                del self._cache[key]


def cookie_from_headers(headers: Iterable[tuple[bytes, bytes]], name: str = COOKIE) -> str | None:
    for key, value in headers:
        if key != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            k, sep, v = part.strip().partition("=")
            if sep and k == name:
                return v
    return None


def token_of(request: object) -> str | None:
    """The login token of a FastAPI or Gradio request (Gradio's wraps FastAPI's)."""
    inner = getattr(request, "request", None) or request
    cookies = getattr(inner, "cookies", None) or {}
    return cookies.get(COOKIE) if hasattr(cookies, "get") else None


def safe_next(path: str | None) -> str | None:
    """A local path to return to after login, or None (no open redirects)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return path


class AuthMiddleware:
    """Every HTTP request needs a valid login, except the login page itself."""

    def __init__(
        self,
        app: Callable,
        *,
        resolver: LoginResolver,
        page_roles: dict[str, frozenset[Role]],
    ) -> None:
        self.app = app
        self.resolver = resolver
        self.page_roles = page_roles

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if any(fragment in path for fragment in BLOCKED_FRAGMENTS):
            await _respond(scope, send, 404, {"detail": "not found"})
            return
        if path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        token = cookie_from_headers(scope.get("headers", ()))
        known, user = self.resolver.peek(token)
        if not known:
            user = await _in_thread(self.resolver.resolve, token)
        if user is None:
            await _unauthenticated(scope, send)
            return
        allowed = self._allowed_roles(path)
        if allowed is not None and not user.may(*allowed):
            await _respond(scope, send, 403, {"detail": f"{user.role.value} accounts may not open this page"})
            return
        scope.setdefault("state", {})["chestx_user"] = user
        await self.app(scope, receive, _no_store(send) if _wants_html(scope) else send)

    def _allowed_roles(self, path: str) -> frozenset[Role] | None:
        for prefix, roles in self.page_roles.items():
            if path == prefix or path.startswith(prefix + "/"):
                return roles
        return None


def _no_store(send: Callable) -> Callable:
    """``send`` that marks a page behind the login ``Cache-Control: no-store``: after logging out,
    the browser's Back asks the server again (and is sent to the login) instead of showing a
    stored copy whose every call fails."""

    async def wrapped(message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"cache-control"]
            message = {**message, "headers": [*headers, (b"cache-control", b"no-store")]}
        await send(message)

    return wrapped


async def _in_thread(fn: Callable, *args: object) -> object:
    import anyio.to_thread

    return await anyio.to_thread.run_sync(fn, *args)


def _wants_html(scope: dict) -> bool:
    if scope["type"] != "http" or scope.get("method") != "GET":
        return False
    path = scope.get("path", "")
    if "/gradio_api/" in path or path.startswith("/img/"):
        return False
    accept = dict(scope.get("headers", ())).get(b"accept", b"").decode("latin-1")
    return "text/html" in accept


async def _unauthenticated(scope: dict, send: Callable) -> None:
    if _wants_html(scope):
        target = scope.get("path", "/")
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            target += "?" + query
        await _redirect(send, "/login?next=" + quote(target, safe=""))
        return
    await _respond(scope, send, 401, {"detail": "login required"})


async def _redirect(send: Callable, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _respond(scope: dict, send: Callable, status: int, payload: dict) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 4401 if status == 401 else 4403})
        return
    body = json.dumps(payload).encode()
    if status == 403 and _wants_html(scope):
        body = (
            "<!doctype html><meta charset=utf-8><title>Not allowed</title>"
            '<body style="font-family:system-ui;margin:3rem"><h1>Not allowed</h1>'
            f"<p>{_html_escape(payload['detail'])}.</p><p><a href='/'>Back to your start page</a></p>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    else:
        content_type = b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)
