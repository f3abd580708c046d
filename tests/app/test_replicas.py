"""Two app replicas over one database, each served by uvicorn as ``chestx serve`` runs it
(:func:`chestx.web.launch.server_config`): what one replica or the CLI changes holds on the other
at its next request (logout, deactivation, a new role, failed logins), ``X-Forwarded-For`` from a
client that is not a trusted proxy changes nothing, the unused Gradio routes are closed, the
health probes need no login, and every request is one JSON line of the access log.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from review_db.engine import session_scope
from review_db.models import User
from review_db.store import users
from tests.app.conftest import PASSWORD, free_port


@dataclass
class Replica:
    url: str
    server: object
    thread: threading.Thread


@dataclass
class Pair:
    a: Replica
    b: Replica
    factory: object
    settings: object

    def user(self, name: str, role: str = "reviewer") -> int:
        with session_scope(self.factory, actor="test") as s:
            return users.add_user(session=s, username=name, password=PASSWORD, role=role).id

    def change(self, name: str, **what: object) -> None:
        """What ``chestx users ...`` (another process) does to the account ``name``."""
        with session_scope(self.factory, actor="cli:users") as s:
            uid = s.scalar(select(User.id).where(User.username == name))
            if "active" in what:
                users.set_active(session=s, user_id=uid, active=bool(what["active"]))
            if "role" in what:
                users.set_role(session=s, user_id=uid, role=str(what["role"]))


def _start(app) -> Replica:  # noqa: ANN001
    import uvicorn

    from chestx.web.launch import server_config

    port = free_port()
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the replica did not start"
        time.sleep(0.05)
    return Replica(f"http://127.0.0.1:{port}", server, thread)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    from chestx.compose import database
    from chestx.settings import Settings
    from chestx.web.launch import build_app, prepare_database

    home = tmp_path_factory.mktemp("replicas")
    settings = Settings(home=home, pseudonym_key="test-key-0123456789", database_url=None)
    prepare_database(settings)
    a, b = (_start(build_app(settings, backend_factory=None)) for _ in range(2))
    yield Pair(a, b, database(settings), settings)
    for replica in (a, b):
        replica.server.should_exit = True
        replica.thread.join(timeout=10)


def _login(replica: Replica, name: str, password: str = PASSWORD, **kw) -> httpx.Response:  # noqa: ANN003
    form = {"username": name, "password": password}
    return httpx.post(replica.url + "/login", data=form, follow_redirects=False, timeout=30, **kw)


def _get(replica: Replica, path: str, cookie: str | None = None) -> httpx.Response:
    jar = {"chestx_session": cookie} if cookie else None
    return httpx.get(replica.url + path, cookies=jar, follow_redirects=False, timeout=30)


def test_a_logout_on_one_replica_is_refused_at_the_next_request_on_the_other(pair: Pair) -> None:
    pair.user("rep-leaver")
    cookie = _login(pair.a, "rep-leaver").cookies["chestx_session"]
    assert _get(pair.b, "/review/config", cookie).status_code == 200  # B has seen this login
    out = httpx.post(pair.a.url + "/logout", cookies={"chestx_session": cookie}, follow_redirects=False)
    assert out.status_code == 303
    assert _get(pair.b, "/review/config", cookie).status_code == 401
    assert _get(pair.a, "/review/config", cookie).status_code == 401


def test_a_deactivation_or_a_new_role_holds_at_the_next_request_on_every_replica(pair: Pair) -> None:
    pair.user("rep-moved")
    pair.user("rep-gone")
    moved = _login(pair.a, "rep-moved").cookies["chestx_session"]
    gone = _login(pair.b, "rep-gone").cookies["chestx_session"]
    for replica in (pair.a, pair.b):
        assert _get(replica, "/review/config", moved).status_code == 200
        assert _get(replica, "/review/config", gone).status_code == 200
    pair.change("rep-moved", role="researcher")
    pair.change("rep-gone", active=False)
    for replica in (pair.a, pair.b):
        assert _get(replica, "/review/config", moved).status_code == 403  # a researcher now
        assert _get(replica, "/dashboards/config", moved).status_code == 200
        assert _get(replica, "/review/config", gone).status_code == 401


def test_thirty_forwarded_for_headers_do_not_escape_the_throttle(pair: Pair) -> None:
    """The issue's attack: a local client names a new address in every request."""
    pair.user("rep-guess")
    codes = [
        _login(pair.a, "rep-guess", f"guess-{i}", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
        for i in range(30)
    ]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    right = _login(pair.a, "rep-guess", headers={"X-Forwarded-For": "198.51.100.7"})
    assert right.status_code == 429 and "chestx_session" not in right.cookies
    assert right.headers["retry-after"] == "60"


def test_the_replicas_share_the_failure_counts(pair: Pair) -> None:
    pair.user("rep-shared")
    codes = [_login(replica, "rep-shared", "wrong-pw").status_code for replica in (pair.a, pair.b) * 2]
    codes.append(_login(pair.b, "rep-shared", "wrong-pw").status_code)
    assert codes == [401] * 5
    assert _login(pair.a, "rep-shared").status_code == 429  # the fifth failure was on B
    assert _login(pair.b, "rep-shared").status_code == 429


@pytest.mark.parametrize(
    "path",
    [
        "/review/gradio_api/file/etc/passwd",  # Gradio's deprecated file route
        "/review//gradio_api/file/etc/passwd",
        "/review/gradio_api/file=/etc/passwd",
        "/review/gradio_api/proxy=https://example.org/x",
        "/review/gradio_api/stream/abc/0/1/playlist.m3u8",
        "/review/monitoring",
    ],
)
def test_gradio_routes_the_app_never_uses_answer_404(pair: Pair, admin_cookie: str, path: str) -> None:
    response = _get(pair.a, path, admin_cookie)
    assert response.status_code == 404 and response.json() == {"detail": "not found"}


@pytest.fixture(scope="module")
def admin_cookie(pair: Pair) -> str:
    pair.user("rep-admin", "admin")
    return _login(pair.a, "rep-admin").cookies["chestx_session"]


def test_health_probes_need_no_login(pair: Pair) -> None:
    from migrations.runner import head_revision

    live = _get(pair.a, "/healthz")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = _get(pair.b, "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "revision": head_revision(pair.settings.sqlalchemy_url)}


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_every_request_is_one_json_line_of_the_access_log(pair: Pair) -> None:
    from chestx.web.access_log import LOGGER

    uid = pair.user("rep-logged")
    cookie = _login(pair.a, "rep-logged").cookies["chestx_session"]
    seen = _Lines()
    LOGGER.addHandler(seen)
    try:
        assert _get(pair.a, "/review/config?search=Smith^John", cookie).status_code == 200
        assert _get(pair.a, "/download/" + "t0k3n" * 9, cookie).status_code == 403  # a reviewer
        assert _get(pair.a, "/review/config").status_code == 401
        deadline = time.monotonic() + 10  # a line is written once its response has gone out
        while len([line for line in seen.lines if '"GET"' in line]) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        LOGGER.removeHandler(seen)
    entries = [json.loads(line) for line in seen.lines]
    entries = [e for e in entries if e["path"] != "/login"]  # the login's line may come late
    assert [(e["method"], e["path"], e["status"], e["user"]) for e in entries] == [
        ("GET", "/review/config", 200, uid),
        ("GET", "/download/<redacted>", 403, uid),
        ("GET", "/review/config", 401, None),
    ]
    assert entries[0]["query"] == ["search"] and not any("Smith" in line for line in seen.lines)
    assert all(
        e["client"] == "127.0.0.1" and e["duration_ms"] >= 0 and e["time"].endswith("Z") for e in entries
    )
