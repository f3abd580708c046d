"""Who is asking: login cookies, the middleware that guards every route, role checks.

Contract:

- A login is a random token in an HttpOnly, SameSite=Lax cookie (``chestx_session``); the
  database keeps only its hash (:func:`review_db.store.create_login`), with an expiry, and
  logout revokes it. :class:`LoginResolver` turns a token into a :class:`UserInfo` by asking the
  database at every request (one indexed query): a logout, a deactivation or a role change is
  in force at the next request, on every replica. Nothing about logins is cached in a process.
- :class:`AuthMiddleware` (pure ASGI, so streaming responses are untouched) runs before every
  route, Gradio's own included (pages, ``/gradio_api/*``, the queue, assets, ``/config``):
  without a valid login a page request is redirected to ``/login`` and anything else gets 401;
  a page whose role does not match gets 403. Gradio routes the app never uses (uploads, files
  from Gradio's cache, its proxy, media streams, MCP, monitoring) answer 404 outright. Only the
  login page and the health probes (``/healthz``, ``/readyz``) are open. The middleware also
  records the client's address (:mod:`chestx.web.proxies`) in the request's state.
- Handlers still check the role themselves (:func:`require`): the path guard is the outer wall,
  not the only one.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker

from chestx.web.proxies import STATE_KEY, TrustedProxies
from review_db.engine import read_session
from review_db.errors import PermissionDenied
from review_db.store import users as user_store
from review_db.types import Role

COOKIE = "chestx_session"
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
PUBLIC_PATHS = frozenset({"/login", "/favicon.ico"}) | HEALTH_PATHS
# Gradio routes the app never uses, refused (404) before any login check: uploads into, and files
# out of, Gradio's shared cache (``file=`` and its deprecated ``file/`` form), its URL proxy, media
# streams, recordings, MCP, the AI editing routes and the monitoring dashboard.
BLOCKED_FRAGMENTS = (
    "/gradio_api/upload",
    "/gradio_api/file=",
    "/gradio_api/file/",
    "/gradio_api/proxy=",
    "/gradio_api/stream/",
    "/gradio_api/process_recording",
    "/gradio_api/mcp",
    "/gradio_api/vibe-",
    "/gradio_api/undo-vibe-",
    "/file=",
    "/monitoring",
)
_SLASHES = re.compile(r"/{2,}")


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
    """Token -> user, asked of the database every time (see the module docstring)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def peek(self, token: str | None) -> tuple[bool, UserInfo | None]:
        """(True, None) when the token cannot be anyone's (none, or too long), else (False, None):
        the answer needs the database."""
        if not token or len(token) > 256:
            return True, None
        return False, None

    def resolve(self, token: str | None) -> UserInfo | None:
        """The active user behind an open login ``token`` now, else None."""
        known, info = self.peek(token)
        if known:
            return info
        with read_session(self.factory) as session:
            row = user_store.login_user(session=session, token=token)
        return None if row is None else UserInfo(row.id, row.username, row.role, row.display_name)


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
        proxies: TrustedProxies | None = None,
    ) -> None:
        self.app = app
        self.resolver = resolver
        self.page_roles = page_roles
        self.proxies = proxies or TrustedProxies()

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})[STATE_KEY] = self.proxies.client(scope)
        path = _SLASHES.sub("/", scope.get("path", ""))
        if any(fragment in path for fragment in BLOCKED_FRAGMENTS):
            await _respond(scope, send, 404, {"detail": "not found"})
            return
        if path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        token = cookie_from_headers(scope.get("headers", ()))
        known, user = self.resolver.peek(token)
        if not known:
            user = await anyio.to_thread.run_sync(self.resolver.resolve, token)
        if user is None:
            await _unauthenticated(scope, send)
            return
        scope["state"]["chestx_user"] = user
        allowed = self._allowed_roles(path)
        if allowed is not None and not user.may(*allowed):
            await _respond(scope, send, 403, {"detail": f"{user.role.value} accounts may not open this page"})
            return
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
            f"<p>{html.escape(payload['detail'], quote=True)}.</p>"
            "<p><a href='/'>Back to your start page</a></p>"
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
