"""Files offered by token: the registry alone (a test clock), then ``/download/{token}`` over HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from chestx.web.auth import UserInfo
from chestx.web.downloads import MAX_OFFERS_PER_USER, SERVED_GRACE_S, DownloadRegistry, remove_orphans
from review_db.types import Role

ANN = UserInfo(1, "ann", Role.researcher)
BOB = UserInfo(2, "bob", Role.researcher)
RESEARCHERS = (Role.researcher,)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def reg() -> tuple[DownloadRegistry, Clock]:
    clock = Clock()
    return DownloadRegistry(clock=clock), clock


def _offer(registry: DownloadRegistry, user: UserInfo, path, **kw) -> str:  # noqa: ANN001
    options = {"filename": "x.zip", "media_type": "application/zip", "roles": RESEARCHERS, "ttl_s": 60.0}
    return registry.offer(user=user, path=path, **(options | kw))


def test_a_token_is_its_users_alone_and_ends_at_expiry(reg, tmp_path) -> None:  # noqa: ANN001
    registry, clock = reg
    shared = tmp_path / "chart.html"
    shared.write_text("<p>chart</p>")
    token = _offer(registry, ANN, shared)
    assert len(token) >= 40 and token != _offer(registry, ANN, shared)  # random, never reused
    assert registry.take(token=token, user=BOB) is None  # another user: as if it did not exist
    assert registry.take(token=token, user=ANN).path == shared
    assert registry.take(token=token, user=ANN) is not None  # not one-time: works again
    clock.now += 61
    assert registry.take(token=token, user=ANN) is None
    assert shared.exists()  # not owned: only forgotten


def test_a_one_time_offer_is_used_up_and_its_folder_deleted(reg, tmp_path) -> None:  # noqa: ANN001
    registry, clock = reg
    folder = tmp_path / "build-1"
    folder.mkdir()
    (folder / "x.zip").write_bytes(b"PK")
    token = _offer(registry, ANN, folder / "x.zip", once=True, remove=folder)
    entry = registry.take(token=token, user=ANN)
    assert entry is not None and registry.take(token=token, user=ANN) is None
    assert folder.exists()  # still being sent
    registry.served(entry)
    assert not folder.exists()


def test_a_served_file_whose_sender_never_finished_goes_after_the_grace(reg, tmp_path) -> None:  # noqa: ANN001
    registry, clock = reg
    folder = tmp_path / "build-2"
    folder.mkdir()
    token = _offer(registry, ANN, folder / "x.zip", once=True, remove=folder)
    assert registry.take(token=token, user=ANN) is not None  # the response never completed
    clock.now += SERVED_GRACE_S + 1
    registry.sweep()
    assert not folder.exists()


def test_an_expired_offer_deletes_what_it_owns(reg, tmp_path) -> None:  # noqa: ANN001
    registry, clock = reg
    folder = tmp_path / "build-3"
    folder.mkdir()
    _offer(registry, ANN, folder / "x.zip", once=True, remove=folder, ttl_s=10)
    clock.now += 11
    registry.sweep()
    assert not folder.exists() and len(registry) == 0


def test_a_role_taken_away_refuses_the_download(reg, tmp_path) -> None:  # noqa: ANN001
    registry, _clock = reg
    token = _offer(registry, ANN, tmp_path / "x.zip")
    demoted = UserInfo(ANN.id, ANN.username, Role.reviewer)
    with pytest.raises(PermissionError):
        registry.take(token=token, user=demoted)
    assert registry.take(token=token, user=UserInfo(ANN.id, ANN.username, Role.admin)) is not None


def test_offers_per_user_are_capped_oldest_first(reg, tmp_path) -> None:  # noqa: ANN001
    registry, _clock = reg
    first_folder = tmp_path / "first"
    first_folder.mkdir()
    first = _offer(registry, ANN, first_folder / "x.zip", remove=first_folder)
    for _ in range(MAX_OFFERS_PER_USER):
        _offer(registry, ANN, tmp_path / "x.zip")
    bob = _offer(registry, BOB, tmp_path / "x.zip")
    assert registry.take(token=first, user=ANN) is None and not first_folder.exists()
    assert len(registry) == MAX_OFFERS_PER_USER + 1 and registry.take(token=bob, user=BOB) is not None


def test_orphans_of_an_earlier_process_are_removed(tmp_path) -> None:  # noqa: ANN001
    import os

    old, new = tmp_path / "build-old", tmp_path / "build-new"
    old.mkdir()
    new.mkdir()
    os.utime(old, (1, 1))
    assert remove_orphans(tmp_path) == 1
    assert not old.exists() and new.exists()


# --- over HTTP, in the live app ---


def _get(live, path: str, cookie: str | None) -> httpx.Response:  # noqa: ANN001
    jar = {"chestx_session": cookie} if cookie else None
    return httpx.get(live.url + path, cookies=jar, follow_redirects=False, timeout=30)


def test_download_route_serves_the_owner_once(live, tmp_path) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from review_db.models import User

    live.user("dl-ann", "researcher")
    live.user("dl-bob", "researcher")
    live.user("dl-rev", "reviewer")
    ann_cookie, bob_cookie = live.login_cookie("dl-ann"), live.login_cookie("dl-bob")
    with live.factory() as s:
        ann_id = s.scalar(select(User.id).where(User.username == "dl-ann"))
    folder = tmp_path / "build"
    folder.mkdir()
    (folder / "export.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    registry = live.app.state.chestx.downloads
    token = registry.offer(
        user=UserInfo(ann_id, "dl-ann", Role.researcher),
        path=folder / "export.zip",
        filename="export.zip",
        media_type="application/zip",
        roles=RESEARCHERS,
        ttl_s=60,
        once=True,
        remove=folder,
    )
    assert _get(live, f"/download/{token}", None).status_code == 401
    assert _get(live, f"/download/{token}", live.login_cookie("dl-rev")).status_code == 403  # by path
    assert _get(live, f"/download/{token}", bob_cookie).status_code == 404  # not his
    r = _get(live, f"/download/{token}", ann_cookie)
    assert r.status_code == 200 and r.content.startswith(b"PK")
    assert (
        r.headers["content-disposition"].startswith("attachment")
        and "export.zip" in r.headers["content-disposition"]
    )
    assert r.headers["cache-control"] == "no-store" and r.headers["content-security-policy"] == "sandbox"
    assert _get(live, f"/download/{token}", ann_cookie).status_code == 404  # used up
    deadline = time.monotonic() + 5
    while folder.exists() and time.monotonic() < deadline:  # deleted once sent (after the response)
        time.sleep(0.05)
    assert not folder.exists()
    assert _get(live, "/download/..%2F..%2Fetc%2Fpasswd", ann_cookie).status_code == 404
