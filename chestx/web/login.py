"""Login, logout and the start page: plain FastAPI routes, no Gradio.

Contract: ``POST /login`` checks the password (argon2, same answer for every failure), starts a
login session (:func:`review_db.store.create_login`) and sets the HttpOnly, SameSite=Lax
cookie. After :data:`MAX_FAILURES` failures for one name from one client address within
:data:`FAILURE_WINDOW`, further tries answer 429 without a password check, the right password
included, until the window has passed. The failures are rows in the database, so every replica
counts the same ones; the address is the connection's peer unless that is a trusted proxy
(:mod:`chestx.web.proxies`). ``/logout`` revokes the login in the database and clears the
cookie. ``/`` sends each role to its page.
"""

from __future__ import annotations

import datetime as dt
import threading

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chestx.web.auth import COOKIE, safe_next
from chestx.web.context import AppContext
from chestx.web.html import esc
from chestx.web.proxies import client_of
from review_db import store
from review_db.engine import read_session, session_scope
from review_db.errors import AuthenticationFailed
from review_db.store import users as user_store
from review_db.types import Role

HOME = {
    Role.reviewer: "/review/",
    Role.educator: "/teach/",
    Role.researcher: "/dashboards/",
    Role.admin: "/review/",
}
MAX_FAILURES = 5  # per name and address within FAILURE_WINDOW
FAILURE_WINDOW = dt.timedelta(minutes=1)
# argon2id checks use 64 MiB each: a burst of logins (a department arriving at 9 am) would
# otherwise hold that much per concurrent login. A few at a time bounds it and costs little.
PASSWORD_CHECKS = threading.BoundedSemaphore(4)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · ChestX Review</title>
<style>
:root {{ color-scheme: light dark; }}
body {{ margin:0; min-height:100vh; display:grid; place-items:center; background:#0f172a;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:#0f172a; }}
main {{ background:#fff; padding:2.2rem 2.4rem; border-radius:14px; width:min(92vw,380px);
  box-shadow:0 20px 50px rgba(0,0,0,.35); }}
h1 {{ margin:0 0 .2rem; font-size:1.5rem; }} p.sub {{ margin:0 0 1.4rem; color:#475569; font-size:.95rem; }}
label {{ display:block; font-weight:600; font-size:.9rem; margin:.9rem 0 .3rem; }}
input {{ width:100%; box-sizing:border-box; padding:.65rem .75rem; font-size:1rem; border:1px solid #cbd5e1;
  border-radius:8px; }} input:focus {{ outline:3px solid #93c5fd; border-color:#2563eb; }}
button {{ margin-top:1.4rem; width:100%; padding:.75rem; font-size:1rem; font-weight:600; color:#fff;
  background:#2563eb; border:0; border-radius:8px; cursor:pointer; }} button:hover {{ background:#1d4ed8; }}
.err {{ background:#fef2f2; color:#991b1b; border:1px solid #fecaca; padding:.6rem .75rem;
  border-radius:8px; }}
.demo {{ margin-top:1.2rem; font-size:.85rem; color:#475569; background:#f1f5f9; padding:.6rem .75rem;
  border-radius:8px; }} code {{ font-size:.9rem; }}
</style></head>
<body><main>
<h1>ChestX Review</h1><p class="sub">Step-by-step review of chest X-ray model reasoning</p>
{error}
<form method="post" action="/login" autocomplete="on">
<input type="hidden" name="next" value="{next}">
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required autofocus value="{username}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>{demo}
</main></body></html>"""


def _blocked(ctx: AppContext, name: str, address: str) -> bool:
    """Whether ``name`` from ``address`` has used up its tries (a read: no write lock taken)."""
    with read_session(ctx.factory) as session:
        failures = user_store.count_login_failures(
            session=session, username=name, address=address, within=FAILURE_WINDOW
        )
    return failures >= MAX_FAILURES


def _failed(ctx: AppContext, name: str, address: str) -> None:
    with session_scope(ctx.factory, actor="web:login") as session:
        user_store.record_login_failure(session=session, username=name, address=address, keep=FAILURE_WINDOW)


def login_page(*, next_path: str = "", error: str = "", username: str = "", demo_hint: str = "") -> str:
    return _PAGE.format(
        next=esc(next_path),
        username=esc(username),
        error=f'<p class="err" role="alert">{esc(error)}</p>' if error else "",
        demo=f'<p class="demo">{esc(demo_hint)}</p>' if demo_hint else "",
    )


def router(ctx: AppContext) -> APIRouter:
    """The login, logout and start-page routes for one app."""
    api = APIRouter()

    @api.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def get_login(request: Request, next: str = "") -> Response:  # noqa: A002 - the query name
        user = ctx.user(request)
        if user is not None:  # already logged in: straight on
            return RedirectResponse(safe_next(next) or HOME[user.role], status_code=303)
        # Never stored: a Back onto this page asks again, and a reviewer still logged in goes on.
        page = login_page(next_path=safe_next(next) or "", demo_hint=ctx.demo_hint)
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @api.post("/login", include_in_schema=False)
    def post_login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        next: str = Form(""),  # noqa: A002
    ) -> Response:
        address = client_of(request.scope)
        if _blocked(ctx, username, address):
            page = login_page(
                next_path=safe_next(next) or "", username=username, error="Too many attempts: wait a minute."
            )
            return HTMLResponse(
                page, status_code=429, headers={"Retry-After": str(int(FAILURE_WINDOW.total_seconds()))}
            )
        try:
            with PASSWORD_CHECKS, session_scope(ctx.factory, actor="web:login") as session:
                user = store.authenticate(session=session, username=username.strip(), password=password)
                token = store.create_login(session=session, user=user, hours=ctx.settings.session_hours)
                user_store.clear_login_failures(session=session, username=username, address=address)
                role = user.role
        except AuthenticationFailed:
            _failed(ctx, username, address)
            page = login_page(
                next_path=safe_next(next) or "",
                username=username,
                error="Unknown user or wrong password.",
                demo_hint=ctx.demo_hint,
            )
            return HTMLResponse(page, status_code=401)
        response = RedirectResponse(safe_next(next) or HOME[role], status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(ctx.settings.session_hours * 3600),
            httponly=True,
            samesite="lax",
            secure=ctx.settings.cookie_secure,
            path="/",
        )
        return response

    def logout(request: Request) -> Response:
        token = request.cookies.get(COOKIE)
        if token:
            with session_scope(ctx.factory, actor="web:logout") as session:
                store.revoke_login(session=session, token=token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="lax", secure=ctx.settings.cookie_secure
        )
        return response

    api.add_api_route("/logout", logout, methods=["POST", "GET"], include_in_schema=False)

    @api.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @api.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        user = ctx.user(request)
        return RedirectResponse(HOME[user.role] if user else "/login", status_code=303)

    return api
