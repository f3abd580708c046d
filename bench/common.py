"""Shared helpers for the benchmarks: machine description, timing statistics, databases."""

from __future__ import annotations

import os
import platform
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(section: str, text: str, *, keep_notes: bool = False) -> None:
    """Replace the section of bench/RESULTS.md headed ``section`` by ``text``, in place.

    ``text`` starts with the heading. A section not there yet is appended. ``keep_notes`` keeps
    the lines of the old section from the first one that starts with "Notes:" (written by hand).
    """
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if section not in old:
        RESULTS.write_text(old.rstrip() + "\n\n" + text.rstrip() + "\n", encoding="utf-8")
        return
    head, rest = old.split(section, 1)
    nxt = rest.find("\n## ")
    body, tail = (rest[:nxt], rest[nxt + 1 :]) if nxt != -1 else (rest, "")
    notes = ""
    if keep_notes and "\nNotes:" in body:
        notes = "\n" + body[body.index("\nNotes:") + 1 :].rstrip() + "\n"
    new = text.rstrip() + "\n" + notes
    RESULTS.write_text(head + new + ("\n" + tail if tail else ""), encoding="utf-8")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of ``values``, nearest-rank."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"p50 {statistics.median(ms):.2f} ms, p99 {pct(ms, 99):.2f} ms, max {max(ms):.1f} ms, n={len(ms)}"


@contextmanager
def fresh_pg_database(prefix: str = "chestx_bench") -> Iterator[str]:
    """A new, empty PostgreSQL database on the local server; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
