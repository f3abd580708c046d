"""The health probes (chestx.web.health): ready only with a database that answers and is at the
head revision; the reasons name no URL, host or library message."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from chestx.web import health
from migrations.runner import downgrade, head_revision
from review_db.engine import make_engine
from tests.app.asgi import run as run_async


def _get(engine, path: str) -> httpx.Response:  # noqa: ANN001
    app = FastAPI()
    app.include_router(health.router(engine=engine, head=head_revision("sqlite://")))

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get(path)

    return run_async(fetch())


def test_ready_at_the_head_revision(sqlite_db) -> None:  # noqa: ANN001
    r = _get(sqlite_db.engine, "/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


def test_not_ready_behind_the_migrations(sqlite_db) -> None:  # noqa: ANN001
    sqlite_db.engine.dispose()
    downgrade(sqlite_db.url, "-1")
    r = _get(sqlite_db.engine, "/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable" and "chestx db upgrade" in r.json()["detail"]
    assert _get(sqlite_db.engine, "/healthz").status_code == 200  # alive all the same


def test_not_ready_without_a_database_and_saying_nothing_of_it() -> None:
    engine = make_engine("postgresql+psycopg://chestx:s3cret@127.0.0.1:1/nowhere")
    try:
        r = _get(engine, "/readyz")
    finally:
        engine.dispose()
    assert r.status_code == 503 and r.json() == {
        "status": "unavailable",
        "detail": "the database does not answer",
    }
    assert _get(engine, "/healthz").json() == {"status": "ok"}
