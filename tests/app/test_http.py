"""The login wall over HTTP: every route needs a login, roles per page, the image route, logout."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import select

from tests.app.conftest import PASSWORD


@pytest.fixture(scope="module")
def cookies(live) -> dict[str, str]:  # noqa: ANN001
    """A login cookie per role."""
    out = {}
    for role in ("reviewer", "educator", "researcher", "admin"):
        live.user(f"http-{role}", role)
        out[role] = live.login_cookie(f"http-{role}")
    return out


def _get(live, path: str, cookie: str | None = None, **kw) -> httpx.Response:  # noqa: ANN001
    jar = {"chestx_session": cookie} if cookie else None
    return httpx.get(live.url + path, cookies=jar, follow_redirects=False, timeout=30, **kw)


@pytest.mark.parametrize(
    "path",
    [
        "/review/config",
        "/review/gradio_api/info",
        "/review/gradio_api/queue/data?session_hash=x",
        "/teach/config",
        "/export/gradio_api/info",
        "/admin/config",
        "/img/1",
        "/download/abc",
        "/review/theme.css",
        "/review/gradio_api/heartbeat/x",
    ],
)
def test_without_login_every_route_answers_401(live, path: str) -> None:  # noqa: ANN001
    r = _get(live, path)
    assert r.status_code == 401
    assert r.json() == {"detail": "login required"}


def test_without_login_pages_redirect_to_the_login_page(live) -> None:  # noqa: ANN001
    r = _get(live, "/review/?x=1", headers={"accept": "text/html"})
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Freview%2F%3Fx%3D1"
    posted = httpx.post(live.url + "/review/gradio_api/queue/join", json={"data": [], "fn_index": 0})
    assert posted.status_code == 401
    assert _get(live, "/login").status_code == 200


def test_login_sets_a_safe_cookie_and_refuses_bad_passwords(live) -> None:  # noqa: ANN001
    live.user("http-cookie")
    bad = httpx.post(live.url + "/login", data={"username": "http-cookie", "password": "wrong-password"})
    assert bad.status_code == 401 and "chestx_session" not in bad.cookies
    ok = httpx.post(
        live.url + "/login", data={"username": "http-cookie", "password": PASSWORD, "next": "//evil.example/"}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/review/"  # no open redirect
    set_cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/" in set_cookie


def test_repeated_failures_are_slowed_down(live) -> None:  # noqa: ANN001
    live.user("http-guess")
    codes = [
        httpx.post(live.url + "/login", data={"username": "http-guess", "password": f"guess-{i}"}).status_code
        for i in range(6)
    ]
    assert codes[:5] == [401] * 5 and codes[5] == 429


def test_logout_revokes_the_session_in_the_database(live) -> None:  # noqa: ANN001
    from review_db.models import LoginSession, User

    live.user("http-leaver")
    cookie = live.login_cookie("http-leaver")
    assert _get(live, "/review/config", cookie).status_code == 200
    out = httpx.post(live.url + "/logout", cookies={"chestx_session": cookie}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert _get(live, "/review/config", cookie).status_code == 401
    with live.factory() as s:
        uid = s.scalar(select(User.id).where(User.username == "http-leaver"))
        assert s.scalar(select(LoginSession.revoked_at).where(LoginSession.user_id == uid)) is not None


def test_an_expired_session_is_refused(live) -> None:  # noqa: ANN001
    from review_db.engine import session_scope
    from review_db.models import LoginSession, User

    live.user("http-late")
    cookie = live.login_cookie("http-late")
    with session_scope(live.factory, actor="test") as s:
        uid = s.scalar(select(User.id).where(User.username == "http-late"))
        for login in s.scalars(select(LoginSession).where(LoginSession.user_id == uid)):
            login.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert _get(live, "/review/config", cookie).status_code == 401


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("reviewer", "/review/config", 200),
        ("reviewer", "/teach/config", 403),
        ("reviewer", "/export/config", 403),
        ("reviewer", "/dashboards/config", 403),
        ("reviewer", "/admin/config", 403),
        ("educator", "/teach/config", 200),
        ("educator", "/review/config", 403),
        ("researcher", "/export/config", 200),
        ("researcher", "/dashboards/config", 200),
        ("researcher", "/admin/gradio_api/info", 403),
        ("researcher", "/download/no-such-token", 404),
        ("reviewer", "/download/no-such-token", 403),
        ("educator", "/download/no-such-token", 403),
        ("admin", "/admin/config", 200),
        ("admin", "/export/config", 200),
        ("admin", "/dashboards/config", 200),
        ("admin", "/download/no-such-token", 404),
        ("admin", "/review/config", 200),
    ],
)
def test_each_page_is_open_to_its_roles_only(live, cookies, role: str, path: str, status: int) -> None:  # noqa: ANN001
    assert _get(live, path, cookies[role]).status_code == status


def test_gradio_upload_and_file_routes_are_closed(live, cookies) -> None:  # noqa: ANN001
    jar = {"chestx_session": cookies["admin"]}
    up = httpx.post(live.url + "/review/gradio_api/upload", cookies=jar, files={"files": ("a.txt", b"x")})
    assert up.status_code == 404
    assert _get(live, "/review/gradio_api/file=/etc/passwd", cookies["admin"]).status_code == 404


def test_home_sends_each_role_to_its_page(live, cookies) -> None:  # noqa: ANN001
    expected = {
        "reviewer": "/review/",
        "educator": "/teach/",
        "researcher": "/dashboards/",
        "admin": "/review/",
    }
    for role, target in expected.items():
        assert _get(live, "/", cookies[role]).headers["location"] == target


def _case_ids(live) -> tuple[int, int]:  # noqa: ANN001
    from review_db.models import Case
    from review_db.types import CaseStatus

    with live.factory() as s:
        open_id = s.scalar(
            select(Case.id).where(Case.status == CaseStatus.open, Case.is_demo).order_by(Case.id)
        )
        verified_id = s.scalar(select(Case.id).where(Case.status == CaseStatus.verified).order_by(Case.id))
    return open_id, verified_id


def test_image_route_serves_cases_the_user_may_see(live, cookies) -> None:  # noqa: ANN001
    open_id, verified_id = _case_ids(live)
    r = _get(live, f"/img/{open_id}?preset=lung&max=512", cookies["reviewer"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG") and r.headers["cache-control"].startswith("private")
    again = _get(
        live,
        f"/img/{open_id}?preset=lung&max=512",
        cookies["reviewer"],
        headers={"if-none-match": r.headers["etag"]},
    )
    assert again.status_code == 304
    custom = _get(live, f"/img/{open_id}?c=15000&w=20000&max=256&fmt=webp", cookies["reviewer"])
    assert custom.status_code == 200 and custom.content[8:12] == b"WEBP"
    assert _get(live, f"/img/{open_id}", cookies["educator"]).status_code == 403  # educators: verified only
    assert _get(live, f"/img/{verified_id}?max=256", cookies["educator"]).status_code == 200
    assert _get(live, "/img/987654", cookies["admin"]).status_code == 403


@pytest.mark.parametrize(
    "query", ["preset=bogus", "c=1&w=-5", "c=1", "which=../../etc/passwd", "max=-1", "fmt=bmp", "c=nan&w=1"]
)
def test_image_route_rejects_bad_parameters(live, cookies, query: str) -> None:  # noqa: ANN001
    open_id, _ = _case_ids(live)
    assert _get(live, f"/img/{open_id}?{query}", cookies["reviewer"]).status_code == 422
