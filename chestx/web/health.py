"""Health probes for a load balancer or an orchestrator; they need no login.

Contract: ``GET /healthz`` answers 200 while the process serves (liveness: nothing is checked).
``GET /readyz`` answers 200 only when the database answers and its schema is at the revision
this code expects (:func:`migrations.runner.current_revision` against the head of the
migrations shipped with the code), else 503 with a short reason: a replica whose database is
down or not yet migrated takes no traffic. Neither says anything a stranger could use (no URL,
host or library message).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from migrations.runner import current_revision

log = logging.getLogger(__name__)


def router(*, engine: Engine, head: str | None) -> APIRouter:
    """The two probes for the database behind ``engine``; ``head`` is the migrations' head."""
    api = APIRouter()

    @api.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        try:
            current = current_revision(engine)
        except Exception as exc:  # noqa: BLE001 - any failure to reach the database means not ready
            log.warning("readyz: the database does not answer (%s)", type(exc).__name__)
            return _unready("the database does not answer")
        if current != head:
            needs = f"the database is at revision {current}, this code needs {head}"
            return _unready(needs + ": run chestx db upgrade")
        return JSONResponse({"status": "ready", "revision": current})

    return api


def _unready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "detail": reason}, status_code=503)
