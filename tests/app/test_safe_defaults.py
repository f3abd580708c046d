"""Safe by default: the demo only on one workstation unless asked for, the development pseudonym
key refused where others' data or other machines are involved, the way to the first admin said
at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chestx.settings import DEV_PSEUDONYM_KEY, Settings, UnsafeSettings, get_settings
from chestx.web import launch
from tests.app.conftest import ROOT, first_answer, free_port, output_until
from tests.conftest import rg1_path

SQLITE, PG = None, "postgresql+psycopg://chestx@db-host/chestx"


@pytest.mark.parametrize(
    ("host", "url", "demo", "seeded"),
    [
        ("127.0.0.1", SQLITE, None, True),  # one workstation: the demo by default
        ("localhost", SQLITE, None, True),
        ("::1", SQLITE, None, True),
        ("0.0.0.0", SQLITE, None, False),  # reachable from other machines
        ("10.1.2.3", SQLITE, None, False),
        ("review.example.org", SQLITE, None, False),
        ("127.0.0.1", PG, None, False),  # a department's database
        ("0.0.0.0", SQLITE, True, True),  # asked for explicitly
        ("127.0.0.1", SQLITE, False, False),
    ],
)
def test_the_demo_is_seeded_only_on_one_workstation_unless_asked(host, url, demo, seeded, tmp_path) -> None:  # noqa: ANN001
    settings = Settings(home=tmp_path, database_url=url)
    assert launch.wants_demo(settings, host=host, demo=demo) is seeded


@pytest.mark.parametrize(
    ("url", "host", "refused"),
    [
        (SQLITE, "127.0.0.1", False),
        (SQLITE, None, False),  # a CLI command on one workstation
        (SQLITE, "0.0.0.0", True),
        (SQLITE, "192.0.2.10", True),
        (PG, "127.0.0.1", True),
        (PG, None, True),  # imports and exports on PostgreSQL (Settings.key_bytes)
    ],
)
def test_the_development_key_is_refused_with_postgresql_or_off_loopback(url, host, refused, tmp_path) -> None:  # noqa: ANN001
    dev = Settings(home=tmp_path, database_url=url, pseudonym_key=DEV_PSEUDONYM_KEY)
    own = Settings(home=tmp_path, database_url=url, pseudonym_key="a-key-of-our-own-0123456789")
    own.require_own_key(host=host)
    assert own.key_bytes() == b"a-key-of-our-own-0123456789"
    if not refused:
        dev.require_own_key(host=host)
        return
    with pytest.raises(UnsafeSettings) as caught:
        dev.require_own_key(host=host)
        dev.key_bytes()
    message = str(caught.value)
    assert "CHESTX_PSEUDONYM_KEY" in message and "secrets.token_urlsafe(32)" in message


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """A fresh CHESTX_HOME and no pseudonym key in the environment (the development default)."""
    for name in [k for k in os.environ if k.startswith("CHESTX_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CHESTX_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_serving_to_other_machines_with_the_development_key_starts_nothing(env, tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as caught:
        launch.serve(host="0.0.0.0", port=free_port())
    assert "CHESTX_PSEUDONYM_KEY" in str(caught.value) and "token_urlsafe" in str(caught.value)
    assert not (tmp_path / "home").exists()  # no database, no demo


def test_importing_into_postgresql_with_the_development_key_is_refused(env, db, tmp_path) -> None:  # noqa: ANN001
    from chestx.cli import app
    from review_db.models import Study

    env.setenv("CHESTX_DATABASE_URL", db.url)
    result = CliRunner().invoke(app, ["import", "images", str(rg1_path())])
    with db.factory() as s:
        studies = s.query(Study).count()
    if db.backend == "sqlite":  # one workstation: the development key is fine
        assert result.exit_code == 0, result.output
        assert studies == 1
        return
    assert result.exit_code == 1
    assert "CHESTX_PSEUDONYM_KEY" in result.output and "Traceback" not in result.output
    assert studies == 0


def test_the_start_up_says_how_to_create_the_first_admin(tmp_path: Path) -> None:
    from review_db.engine import session_scope
    from review_db.store import users

    settings = Settings(home=tmp_path / "home", database_url=None)
    launch.prepare_database(settings)
    lines = launch.announcement(settings, host="0.0.0.0", port=7860, demo_hint="")
    assert launch.FIRST_ADMIN in lines and "chestx users add NAME --role admin" in launch.FIRST_ADMIN
    with session_scope(launch.compose.database(settings), actor="test") as s:
        users.add_user(session=s, username="alice", password="long enough pw", role="admin")
    assert launch.FIRST_ADMIN not in launch.announcement(settings, host="0.0.0.0", port=7860, demo_hint="")
    demo_off_loopback = launch.announcement(settings, host="0.0.0.0", port=7860, demo_hint="Demo: ...")
    assert any(line.startswith("warning: the demo's accounts") for line in demo_off_loopback)


@pytest.mark.slow
def test_chestx_serve_on_all_addresses_of_a_fresh_home_seeds_no_demo(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHESTX_")}
    env |= {
        "CHESTX_HOME": str(tmp_path / "home"),
        "CHESTX_PSEUDONYM_KEY": "a-key-of-our-own-0123456789",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    chestx = Path(sys.executable).with_name("chestx")  # the installed command
    command = [str(chestx), "serve", "--host", "0.0.0.0", "--port", str(port)]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        out = output_until(proc, "No admin account yet")
        assert "chestx users add NAME --role admin" in out and "Demo:" not in out, out
        page = first_answer(f"http://127.0.0.1:{port}/login", process=proc)
        assert page is not None, "the server never answered"
        assert page.status_code == 200 and "chestx-demo" not in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
