"""What checking the login in the database at every request costs (issue 16).

    python -m bench.bench_login_check [--requests 2000]

Revocation (a logout, a deactivation, a role change) now takes effect at the next request on
every replica: :class:`chestx.web.auth.LoginResolver` asks the database each time instead of
keeping answers for 10 s. On a fresh database (SQLite file, and PostgreSQL at 127.0.0.1:5432
when it answers) with one user logged in, it measures:

- **resolve**: one ``LoginResolver.resolve(token)`` (the indexed query), median;
- **request**: one GET of a login-guarded route through the real ``AuthMiddleware`` (ASGI, in
  process, no network), median, with the database check and with the old 10 s cache (the
  baseline: a hit costs a dict lookup), and the difference: what each request pays now.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from sqlalchemy.exc import OperationalError

from bench.common import fresh_pg_database, machine
from chestx.web.auth import COOKIE, AuthMiddleware, LoginResolver, UserInfo, token_key
from migrations.runner import upgrade
from review_db.engine import session_factory, session_scope
from review_db.store import users


class CachedResolver(LoginResolver):
    """The resolver as it was before issue 16: answers kept for 10 s (the baseline)."""

    def __init__(self, factory) -> None:  # noqa: ANN001
        super().__init__(factory)
        self._cache: dict[str, tuple[float, UserInfo | None]] = {}

    def peek(self, token: str | None) -> tuple[bool, UserInfo | None]:
        hit = self._cache.get(token_key(token)) if token else None
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return super().peek(token)

    def resolve(self, token: str | None) -> UserInfo | None:
        known, info = self.peek(token)
        if known:
            return info
        info = super().resolve(token)
        self._cache[token_key(token)] = (time.monotonic() + 10.0, info)
        return info


def _token(url: str) -> tuple[object, str]:
    upgrade(url)
    factory = session_factory(url)
    with session_scope(factory, actor="bench") as s:
        user = users.add_user(session=s, username="bench", password="bench-password", role="reviewer")
        return factory, users.create_login(session=s, user=user, hours=1)


def _median_us(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def _request_us(resolver: LoginResolver, token: str, n: int) -> float:
    app = FastAPI()
    app.add_api_route("/review/x", lambda: PlainTextResponse("ok"))
    app.add_middleware(AuthMiddleware, resolver=resolver, page_roles={})

    async def run() -> float:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://app", cookies={COOKIE: token}
        ) as client:
            times = []
            for _ in range(n):
                started = time.perf_counter()
                assert (await client.get("/review/x")).status_code == 200
                times.append(time.perf_counter() - started)
            return statistics.median(times) * 1e6

    return asyncio.run(run())


def measure(name: str, url: str, n: int) -> list[str]:
    factory, token = _token(url)
    resolver = LoginResolver(factory)
    resolve = _median_us(lambda: resolver.resolve(token), n)
    now = _request_us(resolver, token, n)
    before = _request_us(CachedResolver(factory), token, n)
    return [
        f"| {name} | {resolve:.0f} µs | {now:.0f} µs | {before:.0f} µs | +{now - before:.0f} µs "
        f"({now / before:.2f}x) |"
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args(argv)
    rows = [
        "| database | resolve | request (checked) | request (10 s cache) | per request |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        rows += measure("SQLite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", args.requests)
    try:
        with fresh_pg_database() as url:
            rows += measure("PostgreSQL", url, args.requests)
    except OperationalError:
        rows.append("| PostgreSQL | not reachable at 127.0.0.1:5432 | | | |")
    print(f"Login check per request ({machine()}), median of {args.requests}:\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
