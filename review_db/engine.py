"""Engines and sessions for SQLite (one workstation) and PostgreSQL (a department).

SQLite is set up so that concurrent writers queue instead of failing: WAL journal, foreign keys
on, a busy timeout, and ``BEGIN IMMEDIATE`` for every transaction that may write (the write lock
is taken at the start, so two transactions never both read and then both try to upgrade, which
is what produces "database is locked" despite a busy timeout). Read-only work can ask for a
deferred transaction with :func:`read_session`.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from review_db import audit
from review_db.errors import ConflictError

_DEFERRED = "chestx_deferred"  # execution option: begin a read-only SQLite transaction lazily


class WriteGate:
    """A fair (first come, first served), re-entrant lock for one SQLite database's writers.

    SQLite lets one writer at a time; others wait in its busy handler, which sleeps with
    growing back-off (up to 100 ms a try) and serves no one in order, so under 16 writers a few
    unlucky ones wait for seconds. Threads of this process therefore queue here, in order,
    before ``BEGIN IMMEDIATE``; the busy timeout still covers other processes (CLI, the loop).
    Each waiter sleeps on its own lock and is woken alone when its turn comes.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None:
                self._owner, self._depth = me, 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the previous owner, who hands the gate over to us
        self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._mutex:
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            if self._waiters:
                self._owner = -1  # handed over: nobody may barge in before the next waiter runs
                self._waiters.popleft().release()


_gates: weakref.WeakKeyDictionary[Engine, WriteGate] = weakref.WeakKeyDictionary()


def write_gate(engine: Engine) -> WriteGate | None:
    """The engine's writer queue (SQLite only; PostgreSQL has row locks and needs none)."""
    return _gates.get(engine)


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> Engine:
    """Create an engine for ``url`` with the project's connection settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        pool_size=8,
        max_overflow=24,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        # Take transaction control away from the sqlite3 module so that BEGIN is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a power cut loses at most the tail
        # 16 MiB of page cache per connection (default 2 MiB), bounded: a pool of up to 32
        # connections must not grow the server's memory without limit as the database grows.
        cur.execute("PRAGMA cache_size=-16384")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        deferred = conn.get_execution_options().get(_DEFERRED, False)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    _gates[engine] = WriteGate()
    return engine


@functools.cache
def _factory(url: str, busy_timeout_ms: int) -> sessionmaker[Session]:
    engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
    return sessionmaker(engine, expire_on_commit=False)


def session_factory(url: str, *, busy_timeout_ms: int = 30_000) -> sessionmaker[Session]:
    """The process-wide session factory for the database at ``url`` (one engine per URL)."""
    if not isinstance(url, str):  # TRANSITION: callers in training/ still pass the settings
        url, busy_timeout_ms = url.sqlalchemy_url, url.sqlite_busy_timeout_ms
    return _factory(url, busy_timeout_ms)


@contextlib.contextmanager
def session_scope(factory: sessionmaker[Session], *, actor: str) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error.

    ``actor`` ("user:7", "cli:import", "system:loop") is written on every audit row.
    """
    gate = write_gate(factory.kw["bind"])
    if gate is not None:
        gate.acquire()
    try:
        with factory() as session:
            audit.set_actor(session, actor)
            with session.begin():
                yield session
    except StaleDataError as exc:
        raise ConflictError("someone else changed this at the same time; reload and try again") from exc
    finally:
        if gate is not None:
            gate.release()


@contextlib.contextmanager
def read_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only session: on SQLite a deferred transaction that never blocks writers."""
    with factory() as session:
        session.connection(execution_options={_DEFERRED: True})
        try:
            yield session
        finally:
            session.rollback()
