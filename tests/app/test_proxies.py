"""Whose ``X-Forwarded-For`` is believed (chestx.web.proxies): nobody's by default; behind a
configured proxy, each client it forwards for is throttled on its own, and a client cannot
choose its address by adding the header itself."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from chestx.settings import Settings
from chestx.web import login
from chestx.web.auth import AuthMiddleware, LoginResolver
from chestx.web.context import AppContext
from chestx.web.proxies import TrustedProxies
from imaging import RenderCache
from review_db.engine import session_scope
from review_db.store import users
from tests.app.asgi import run as run_async
from tests.app.conftest import PASSWORD


def _scope(peer: str | None, *forwarded: str) -> dict:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return {"type": "http", "client": (peer, 5000) if peer else None, "headers": headers}


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "client"),
    [
        ((), "127.0.0.1", ("203.0.113.9",), "127.0.0.1"),  # the default: nobody is a proxy
        (("10.0.0.0/8",), "192.0.2.1", ("203.0.113.9",), "192.0.2.1"),  # not from the proxy
        (("10.0.0.0/8",), "10.0.0.5", ("203.0.113.9",), "203.0.113.9"),
        (("10.0.0.0/8",), "10.0.0.5", ("198.51.100.1, 203.0.113.9",), "203.0.113.9"),  # client-sent first
        (("10.0.0.0/8",), "10.0.0.5", ("198.51.100.1", "203.0.113.9, 10.0.0.7"), "203.0.113.9"),  # two hops
        (("10.0.0.0/8",), "10.0.0.5", ("10.0.0.6",), "10.0.0.6"),  # only proxies: the farthest
        (("10.0.0.0/8",), "10.0.0.5", (), "10.0.0.5"),
        (("10.0.0.0/8",), "10.0.0.5", ("not-an-address",), "10.0.0.5"),
        (("10.0.0.0/8",), "10.0.0.5", ("203.0.113.9:4711",), "203.0.113.9"),
        (("::1",), "::1", ("[2001:db8::7]:443",), "2001:db8::7"),
        (("10.0.0.0/8",), None, ("203.0.113.9",), "unknown"),
    ],
)
def test_the_client_address(trusted, peer, forwarded, client) -> None:  # noqa: ANN001
    assert TrustedProxies(trusted).client(_scope(peer, *forwarded)) == client


def test_trusted_proxies_come_from_a_comma_separated_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHESTX_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16,::1")
    assert Settings().trusted_proxies == ["10.0.0.1/32", "192.168.0.0/16", "::1/128"]
    monkeypatch.setenv("CHESTX_TRUSTED_PROXIES", "proxy.example.org")
    with pytest.raises(ValueError, match="not an address or CIDR"):
        Settings()
    monkeypatch.delenv("CHESTX_TRUSTED_PROXIES")
    assert Settings().trusted_proxies == []


def _login_app(db, settings, trusted: tuple[str, ...]) -> FastAPI:  # noqa: ANN001
    """The login routes behind the login wall, as the app mounts them (no Gradio pages)."""
    ctx = AppContext(
        settings=settings, factory=db.factory, resolver=LoginResolver(db.factory), render_cache=RenderCache(1)
    )
    app = FastAPI()
    app.include_router(login.router(ctx))
    app.add_middleware(AuthMiddleware, resolver=ctx.resolver, page_roles={}, proxies=TrustedProxies(trusted))
    return app


async def _codes(app: FastAPI, attempts: list[tuple[str, str]]) -> list[int]:
    """POST /login from the proxy at 10.0.0.5 for each (X-Forwarded-For, password)."""
    transport = httpx.ASGITransport(app=app, client=("10.0.0.5", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        codes = []
        for forwarded, password in attempts:
            form = {"username": "behind", "password": password}
            r = await client.post("/login", data=form, headers={"X-Forwarded-For": forwarded})
            codes.append(r.status_code)
        return codes


def test_behind_a_trusted_proxy_each_client_is_throttled_on_its_own(sqlite_db, settings) -> None:  # noqa: ANN001
    with session_scope(sqlite_db.factory, actor="test") as s:
        users.add_user(session=s, username="behind", password=PASSWORD, role="reviewer")
    app = _login_app(sqlite_db, settings, ("10.0.0.0/8",))
    attacker = [("203.0.113.66", f"guess-{i}") for i in range(6)]
    assert run_async(_codes(app, attacker)) == [401] * 5 + [429]
    # The attacker's own header is read past: the proxy appended the real address last.
    assert run_async(_codes(app, [("198.51.100.1, 203.0.113.66", PASSWORD)])) == [429]
    assert run_async(_codes(app, [("198.51.100.20", PASSWORD)])) == [303]  # someone else


def test_without_trusted_proxies_the_proxy_is_the_client(sqlite_db, settings) -> None:  # noqa: ANN001
    with session_scope(sqlite_db.factory, actor="test") as s:
        users.add_user(session=s, username="behind", password=PASSWORD, role="reviewer")
    app = _login_app(sqlite_db, settings, ())
    attempts = [(f"203.0.113.{i}", f"guess-{i}") for i in range(6)]
    assert run_async(_codes(app, attempts)) == [401] * 5 + [429]
