"""Files the server wrote for one user (export zips, chart HTML), handed out by random token.

Contract: :class:`DownloadRegistry` maps an unguessable token (``secrets.token_urlsafe``) to a
file the server itself wrote, for one user, until an expiry. ``GET /download/{token}``
(:func:`router`) serves it as an attachment only to that user and only while their role still
allows it; to anyone else, or after expiry, the token does not exist (404). The client names a
token, never a path: Gradio's file routes stay closed. The middleware also refuses the whole
``/download`` path to roles other than researcher and admin.

Files the registry owns (an export zip and its build folder: ``remove``) are deleted after their
one download or when the offer expires; shared files (the dashboards' chart HTML, which the
dashboards prune themselves) are only forgotten. Offers live in this process: with several app
replicas, sticky sessions keep a user on the replica that built their file.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from chestx.web.auth import UserInfo
from review_db.types import Role

if TYPE_CHECKING:
    from chestx.web.context import AppContext

PREFIX = "/download"
MAX_OFFERS_PER_USER = 64  # the oldest is dropped first: a page left refreshing cannot grow memory
SERVED_GRACE_S = 600.0  # a served one-time file is deleted now, or at the latest after this
ORPHAN_AGE_S = 24 * 3600.0  # build folders left by an earlier process (their tokens died with it)
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",  # an HTML download never runs as this site
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Offer:
    """One file offered to one user."""

    token: str
    user_id: int
    roles: tuple[Role, ...]  # the user must still hold one of these (admins always pass)
    path: Path
    filename: str  # the name the browser saves it under
    media_type: str
    expires: float  # time.monotonic()
    once: bool  # the token works for one download
    remove: Path | None  # deleted (a file or a folder) when the offer ends


class DownloadRegistry:
    """Token -> :class:`Offer`, thread-safe; expired offers are swept on every access."""

    def __init__(self, *, clock=time.monotonic) -> None:  # noqa: ANN001 - a test clock
        self._clock = clock
        self._offers: dict[str, Offer] = {}
        self._doomed: list[tuple[float, Path]] = []  # (delete at, path) of served one-time files
        self._lock = threading.Lock()

    def offer(
        self,
        *,
        user: UserInfo,
        path: Path,
        filename: str,
        media_type: str,
        roles: Iterable[Role],
        ttl_s: float,
        once: bool = False,
        remove: Path | None = None,
    ) -> str:
        """Offer ``path`` to ``user`` for ``ttl_s`` seconds; returns the token for the URL."""
        token = secrets.token_urlsafe(32)
        expires = self._clock() + ttl_s
        entry = Offer(token, user.id, tuple(roles), Path(path), filename, media_type, expires, once, remove)
        with self._lock:
            doomed = self._sweep_locked()
            mine = [o for o in self._offers.values() if o.user_id == user.id]
            for old in mine[: max(0, len(mine) - MAX_OFFERS_PER_USER + 1)]:  # insertion order: oldest first
                doomed.append(self._offers.pop(old.token).remove)
            self._offers[token] = entry
        _delete(doomed)
        return token

    def take(self, *, token: str, user: UserInfo) -> Offer | None:
        """The offer behind ``token`` if it is ``user``'s and still valid, else None.

        A one-time offer is used up here; call :meth:`served` once its file has been sent.
        Raises PermissionError when the owner's role no longer allows the download.
        """
        denied = False
        with self._lock:
            doomed = self._sweep_locked()
            entry = self._offers.get(token)
            if entry is None or entry.user_id != user.id:
                entry = None
            elif not user.may(*entry.roles):
                denied = True
            elif entry.once:
                del self._offers[token]
                if entry.remove is not None:  # deleted when served, or after the grace at the latest
                    self._doomed.append((self._clock() + SERVED_GRACE_S, entry.remove))
        _delete(doomed)
        if denied:
            raise PermissionError(f"{user.role.value} accounts may not download this")
        return entry

    def served(self, entry: Offer) -> None:
        """A one-time offer's file was sent: delete what it owned now."""
        if entry.remove is None:
            return
        with self._lock:
            self._doomed = [(at, p) for at, p in self._doomed if p != entry.remove]
        _delete([entry.remove])

    def sweep(self) -> None:
        """End expired offers now (deleting the files they own)."""
        with self._lock:
            doomed = self._sweep_locked()
        _delete(doomed)

    def close(self) -> None:
        """End every offer and delete every owned file (the app is shutting down)."""
        with self._lock:
            doomed = [o.remove for o in self._offers.values()] + [p for _at, p in self._doomed]
            self._offers.clear()
            self._doomed.clear()
        _delete(doomed)

    def __len__(self) -> int:
        with self._lock:
            return len(self._offers)

    def _sweep_locked(self) -> list[Path | None]:
        """End expired offers; returns what to delete (outside the lock: deleting can be slow)."""
        now = self._clock()
        ended = [o for o in self._offers.values() if o.expires <= now]
        for o in ended:
            del self._offers[o.token]
        due = [p for at, p in self._doomed if at <= now]
        self._doomed = [(at, p) for at, p in self._doomed if at > now]
        return [o.remove for o in ended] + due


def _delete(paths: Iterable[Path | None]) -> None:
    for path in paths:
        if path is None:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def remove_orphans(folder: Path, *, older_than_s: float = ORPHAN_AGE_S) -> int:
    """Delete entries of ``folder`` older than ``older_than_s`` (left by a process that ended)."""
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for entry in folder.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                _delete([entry])
                removed += 1
        except OSError:  # removed concurrently
            continue
    return removed


def start_sweeper(registry: DownloadRegistry, *, every_s: float = 60.0) -> threading.Thread:
    """Sweep ``registry`` every ``every_s`` in a daemon thread, so expired zips do not wait for
    the next visitor; the thread ends when the registry is garbage collected."""
    ref = weakref.ref(registry)
    del registry

    def run() -> None:
        while True:
            time.sleep(every_s)
            live = ref()
            if live is None:
                return
            live.sweep()
            del live

    thread = threading.Thread(target=run, name="chestx-download-sweeper", daemon=True)
    thread.start()
    return thread


def url(token: str) -> str:
    return f"{PREFIX}/{token}"


def router(ctx: AppContext) -> APIRouter:
    api = APIRouter()

    @api.get(PREFIX + "/{token}", include_in_schema=False)
    def download(request: Request, token: str) -> FileResponse:
        user = ctx.user(request)
        if user is None:
            raise HTTPException(401, "login required")
        try:
            entry = ctx.downloads.take(token=token, user=user)
        except PermissionError as exc:
            raise HTTPException(403, str(exc)) from None
        if entry is None or not entry.path.is_file():
            raise HTTPException(404, "no such download: it was used, it expired or it is not yours")
        return FileResponse(
            entry.path,
            media_type=entry.media_type,
            filename=entry.filename,
            headers=HEADERS,
            background=BackgroundTask(ctx.downloads.served, entry) if entry.once else None,
        )

    return api
