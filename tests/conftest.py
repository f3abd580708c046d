"""Shared fixtures: real databases (a SQLite file, the PostgreSQL server), settings, users, and
one browser per test session.

Each test gets a freshly migrated database: a copy of a migrated SQLite template file, or a
PostgreSQL database created from a migrated template database. Nothing is mocked.

``browser`` is Debian's chromium through Playwright's sync API, started once per test session
(a second ``sync_playwright()`` in the same session fails: its event loop is still running);
``new_page`` opens pages in fresh contexts, screenshotted into test-artifacts/ when the test
fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_OUTPUTS = SHARED_DATA / "chestx_reasoner_openi_multi.json"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with minimal cost: the same code path, ~1 ms instead of ~100 ms per hash."""
    from argon2 import PasswordHasher

    from review_db.store import users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@dataclass
class Database:
    """A migrated database for one test."""

    url: str
    engine: Engine
    factory: sessionmaker[Session]
    backend: str


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from migrations.runner import upgrade

    path = tmp_path_factory.mktemp("tmpl") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is not reachable (CI needs it)")
        pytest.skip("PostgreSQL server not reachable")
    from migrations.runner import upgrade

    name = f"chestx_tmpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _sqlite_db(template: Path, tmp_path: Path) -> Database:
    from review_db.engine import make_engine

    path = tmp_path / "chestx.sqlite3"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    return Database(url, engine, sessionmaker(engine, expire_on_commit=False), "sqlite")


def _pg_db(template: str) -> Iterator[Database]:
    from review_db.engine import make_engine

    name = f"chestx_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    try:
        yield Database(url, engine, sessionmaker(engine, expire_on_commit=False), "postgres")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        database = _sqlite_db(request.getfixturevalue("sqlite_template"), tmp_path)
        yield database
        database.engine.dispose()
    else:
        yield from _pg_db(request.getfixturevalue("pg_template"))


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated SQLite database only (for tests that need no PostgreSQL run)."""
    database = _sqlite_db(sqlite_template, tmp_path)
    yield database
    database.engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings pointing at a temporary CHESTX_HOME (the SQLite default database lives there)."""
    from chestx.settings import Settings, get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("CHESTX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CHESTX_PSEUDONYM_KEY", "test-key-0123456789")
    monkeypatch.delenv("CHESTX_DATABASE_URL", raising=False)
    yield Settings()
    get_settings.cache_clear()


def free_port() -> int:
    """A local TCP port free at the time of the call."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rg1_path(name: str = "RG1_UNCI.dcm") -> Path:
    """A real chest radiograph shipped by the ``pydicom-data`` package."""
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} not found in pydicom-data")
    return Path(path)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium, headless, once per test session (skipped when it is not installed)."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def new_page(browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., object]]:  # noqa: ANN001
    """Pages in fresh contexts (separate cookies; keyword arguments go to ``new_context``); all
    are screenshotted when the test fails."""
    contexts = []
    pages = []

    def make(**options: object) -> object:
        ctx = browser.new_context(**{"viewport": {"width": 1440, "height": 900}, **options})
        ctx.set_default_timeout(30_000)  # a busy 2-core CI machine, training workers beside the browser
        page = ctx.new_page()
        contexts.append(ctx)
        pages.append(page)
        return page

    request.node._chestx_pages = pages
    yield make
    for ctx in contexts:
        ctx.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failed test's pages (from ``new_page``) are screenshotted into test-artifacts/."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    pages = getattr(item, "_chestx_pages", [])
    if pages:
        ARTIFACTS.mkdir(exist_ok=True)
    for i, page in enumerate(pages):
        with contextlib.suppress(Exception):  # a closed page cannot be photographed; the failure stands
            page.screenshot(path=str(ARTIFACTS / f"{item.name}-{i}.png"), full_page=True)


def _browser_modules() -> set[Path]:
    """Test files that hold browser tests (marked ``browser`` in their source)."""
    root = Path(__file__).resolve().parent
    return {p for p in root.rglob("test_*.py") if "mark.browser" in p.read_text(encoding="utf-8")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The gates (``gate`` marker) run last, and know whether the whole browser suite was collected."""
    gates = [i for i in items if i.get_closest_marker("gate")]
    rest = [i for i in items if not i.get_closest_marker("gate")]
    items[:] = rest + gates
    collected = {Path(str(i.fspath)).resolve() for i in rest if i.get_closest_marker("browser")}
    gate_files = {Path(str(i.fspath)).resolve() for i in gates}
    config._chestx_browser_modules_collected = bool(gates) and _browser_modules() - gate_files <= collected


def pytest_deselected(items: list[pytest.Item]) -> None:
    """A deselected browser test (-k, -m) means the gates cannot expect everything fired."""
    if any(i.get_closest_marker("browser") for i in items):
        items[0].config._chestx_browser_deselected = True


def whole_browser_suite(config: pytest.Config) -> bool:
    """Whether every browser test was collected and none deselected in this session."""
    collected = getattr(config, "_chestx_browser_modules_collected", False)
    return collected and not getattr(config, "_chestx_browser_deselected", False)
