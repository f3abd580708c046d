"""What every page and route of one app instance shares: settings, the database, caches.

Contract: one :class:`AppContext` per :func:`chestx.web.server.create_app` call. It holds no
per-user state except :attr:`AppContext.open_cases` (which case each browser session has open,
so that closing the tab gives the lease back) and :attr:`AppContext.downloads` (files built for
one user, by token); everything else lives in the database.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from chestx.settings import Settings
from chestx.web.auth import LoginResolver, UserInfo, token_of
from chestx.web.downloads import DownloadRegistry
from imaging import RenderCache
from review_db.engine import read_session, session_scope

# Builds the reasoner backend for "ask for a fresh chain" (the app passes None when no model is
# configured, and the page then offers no button).
BackendFactory = Callable[[], Any]


@dataclass
class AppContext:
    settings: Settings
    factory: sessionmaker[Session]
    resolver: LoginResolver
    render_cache: RenderCache
    backend_factory: BackendFactory | None = None
    demo_hint: str = ""  # shown on the login page when the demo was seeded
    loop_config: Path | None = None  # the loop YAML the admin page's "Run loop now" starts
    downloads: DownloadRegistry = field(default_factory=DownloadRegistry)
    open_cases: dict[str, tuple[int, int]] = field(default_factory=dict)  # session hash -> (user, case)
    _backend: Any = None
    _backend_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def lease(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.settings.lock_minutes)

    @property
    def cache_dir(self) -> Path:
        """Files the app writes for its pages (chart HTML, export zips): ``<home>/cache``."""
        return self.settings.cache_dir

    @property
    def renew_every_s(self) -> float:
        """How often an open case renews its lease: a third of the lease, at most a minute."""
        return max(5.0, min(60.0, self.settings.lock_minutes * 60 / 3))

    def user(self, request: object) -> UserInfo | None:
        """The logged-in user behind a FastAPI or Gradio request (None if the login ended).

        A request the auth middleware let through carries the user it resolved for this very
        request (the same check, not a cached one); anything else asks the database.
        """
        inner = getattr(request, "request", None) or request
        scope = getattr(inner, "scope", None)
        state = scope.get("state") if isinstance(scope, dict) else None
        user = state.get("chestx_user") if isinstance(state, dict) else None
        return user if isinstance(user, UserInfo) else self.resolver.resolve(token_of(request))

    def write(self, user: UserInfo) -> AbstractContextManager[Session]:
        """One unit of work on behalf of ``user`` (audited as ``user:<id>``)."""
        return self.write_as(user.id)

    def write_as(self, user_id: int) -> AbstractContextManager[Session]:
        """One unit of work on behalf of the user with this id (audited as ``user:<id>``)."""
        return session_scope(self.factory, actor=f"user:{user_id}")

    def read(self) -> AbstractContextManager[Session]:
        return read_session(self.factory)

    @property
    def can_generate(self) -> bool:
        """Whether "ask for a fresh chain" has a model to ask."""
        return self.backend_factory is not None

    def backend(self) -> Any:
        """The reasoner backend, built once on first use; None when none is configured."""
        if self.backend_factory is None:
            return None
        with self._backend_lock:
            if self._backend is None:
                self._backend = self.backend_factory()
            return self._backend
