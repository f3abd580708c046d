"""What ``create_app`` does at start-up besides routing: the dashboards' rollup is folded in the
background (no request needed, start-up not waiting for it) and export zips left by an earlier
process are removed."""

from __future__ import annotations

import os
import time

from services.dashboards.rollup import CACHE


def test_start_up_warms_the_dashboards_and_clears_old_zips(tmp_path) -> None:  # noqa: ANN001
    import app as web_app
    from chestx.settings import Settings

    settings = Settings(home=tmp_path / "home", pseudonym_key="test-key-0123456789", database_url=None)
    web_app.prepare_database(settings)
    zips = settings.home / "cache" / "exports"
    old, fresh = zips / "build-old", zips / "build-fresh"
    for folder in (old, fresh):
        folder.mkdir(parents=True)
        (folder / "chestx-sft-0123.zip").write_bytes(b"PK")
    os.utime(old, (1, 1))
    application = web_app.build_app(settings)
    ctx = application.state.chestx
    engine = ctx.factory.kw["bind"]
    deadline = time.monotonic() + 20
    while CACHE.held(engine) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert CACHE.held(engine) is not None  # folded by the warm-up thread, no page opened
    assert not old.exists() and fresh.exists()  # a fresh one may belong to a running replica
    assert ctx.loop_config is None and len(ctx.downloads) == 0
