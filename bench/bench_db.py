"""Database benchmarks of issue 2.

    python -m bench.bench_db [--seconds 20] [--skip-postgres] [--big-steps 1000000]

1. Recording verdicts with 16 concurrent writers, on SQLite and on PostgreSQL: p99 of the real
   service path (`record_verdict` in its own unit of work: lease check, idempotency check,
   insert, audit row, commit) vs the p99 of a bare one-row INSERT + COMMIT by 16 writers on the
   same database in the same run. Target: ratio <= 3, zero errors, zero lost.
2. Next case for a reviewer with 1M steps in the database vs 10k steps. Target: <= 1.5x.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from bench.common import fresh_pg_database, machine, pct, summary_ms
from migrations.runner import upgrade
from review_db import store
from review_db.engine import WriteGate, make_engine, session_scope
from review_db.models import Case, Chain, Step, StepVerdict, Study, User
from review_db.types import CaseStatus, ChainSource, ChainStatus, Role, StepKind, TaskType, utcnow

WRITERS = 16
LEASE = dt.timedelta(minutes=15)


def seed(
    factory: sessionmaker, *, cases: int, steps_per_chain: int = 10, reviewers: int = WRITERS
) -> list[int]:
    """Bulk-insert users, studies, cases, chains and steps with Core (fast); returns reviewer ids."""
    now = utcnow()
    with factory() as s, s.begin():
        s.execute(
            insert(User),
            [
                dict(
                    username=f"r{i}",
                    role=Role.reviewer,
                    password_hash="x",
                    active=True,
                    display_name=f"r{i}",
                    created_at=now,
                    version=1,
                )
                for i in range(reviewers)
            ],
        )
        batch = 5000
        for start in range(0, cases, batch):
            n = min(batch, cases - start)
            s.execute(
                insert(Study),
                [
                    dict(
                        id=start + i + 1,
                        image_sha256=f"{start + i:064x}",
                        stored_path="x",
                        source_format="png",
                        patient_pseudonym=f"P{(start + i) % 9973}",
                        width=1,
                        height=1,
                        window_presets={},
                        warnings=[],
                        is_demo=False,
                        created_at=now,
                    )
                    for i in range(n)
                ],
            )
            # 30% already verified, the rest open: the worklist walks past the verified ones.
            s.execute(
                insert(Case),
                [
                    dict(
                        id=start + i + 1,
                        study_id=start + i + 1,
                        task_type=TaskType.single_choice,
                        question="Which finding?",
                        options=["a", "b", "c", "d"],
                        status=CaseStatus.verified if (start + i) % 10 < 3 else CaseStatus.open,
                        required_reviews=1,
                        review_count=0,
                        priority=0,
                        is_demo=False,
                        created_at=now,
                        version=1,
                    )
                    for i in range(n)
                ],
            )
            s.execute(
                insert(Chain),
                [
                    dict(
                        id=start + i + 1,
                        case_id=start + i + 1,
                        source=ChainSource.imported,
                        source_detail="bench",
                        raw_output="",
                        status=ChainStatus.complete,
                        flags=[],
                        generation_params={},
                        created_at=now,
                    )
                    for i in range(n)
                ],
            )
            s.execute(
                insert(Step),
                [
                    dict(
                        chain_id=start + i + 1,
                        position=p,
                        kind=StepKind.model,
                        text=f"Step {p} of chain {start + i}.",
                        created_at=now,
                    )
                    for i in range(n)
                    for p in range(steps_per_chain)
                ],
            )
        ids = list(s.scalars(select(User.id).order_by(User.id)))
    return ids


def _run_threads(fn, seconds: float) -> tuple[list[float], int, list[int]]:  # noqa: ANN001
    latencies: list[float] = []
    errors = [0]
    counts: list[int] = []  # calls each writer completed: how evenly the writers were served
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    barrier = threading.Barrier(WRITERS)

    def worker(w: int) -> None:
        barrier.wait()
        n = 0
        mine: list[float] = []
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                fn(w, n)
            except Exception as exc:  # counted, and shown once
                with lock:
                    errors[0] += 1
                    if errors[0] == 1:
                        print("  first error:", repr(exc)[:300])
            mine.append(time.perf_counter() - t0)
            n += 1
        with lock:
            latencies.extend(mine)
            counts.append(len(mine))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], counts


def _served(counts: list[int]) -> str:
    """How evenly writers were served: calls of the least and the most served writer."""
    return f"calls per writer min {min(counts)} / max {max(counts)}"


def _bare_insert(url: str, gate: WriteGate | None = None):  # noqa: ANN202
    """The baseline: the DB-API driver alone, one connection per writer, INSERT one row, COMMIT.

    With ``gate`` (SQLite), writers queue in the same fair in-process queue as the app's units of
    work, so the comparison isolates what the verdict path itself costs.
    """
    local = threading.local()
    parsed = make_url(url)

    def connect():  # noqa: ANN202
        if parsed.get_backend_name() == "sqlite":
            return sqlite3.connect(parsed.database, timeout=30), "?"
        return psycopg.connect(
            parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        ), "%s"

    def bare(w: int, n: int) -> None:
        if not hasattr(local, "conn"):
            local.conn, local.mark = connect()
        m = local.mark
        if gate is not None:
            gate.acquire()
        try:
            local.conn.execute(f"INSERT INTO bench_bare (w, n, note) VALUES ({m}, {m}, 'x')", (w, n))
            local.conn.commit()
        finally:
            if gate is not None:
                gate.release()

    return bare


def bench_verdicts(url: str, label: str, seconds: float) -> dict[str, float]:
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    reviewers = seed(factory, cases=WRITERS * 4, steps_per_chain=50)
    with engine.begin() as conn:
        serial = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
        conn.exec_driver_sql(
            f"CREATE TABLE bench_bare (id {serial} PRIMARY KEY, w INTEGER, n INTEGER, note TEXT)"
        )
    bare = _bare_insert(url)

    # Each writer is one reviewer working through the steps of their own case, as in the app.
    with factory() as s:
        steps_by_case = {}
        for case_id, step_id in s.execute(select(Chain.case_id, Step.id).join(Step).order_by(Step.id)):
            steps_by_case.setdefault(case_id, []).append(step_id)
    plan = {w: steps_by_case[w + 1] for w in range(WRITERS)}

    def verdict(w: int, n: int) -> None:
        step_id = plan[w][n % len(plan[w])]
        with session_scope(factory, actor=f"user:{reviewers[w]}") as s:
            store.record_verdict(
                session=s,
                step_id=step_id,
                reviewer_id=reviewers[w],
                verdict=("accept", "reject")[n % 2],
                request_id=f"{w}-{n}",
                lease=LEASE,
            )

    bare_lat, bare_err, bare_n = _run_threads(bare, seconds)
    queued_lat: list[float] = []
    if engine.dialect.name == "sqlite":
        queued_lat, _, queued_n = _run_threads(_bare_insert(url, gate=WriteGate()), seconds)
    ver_lat, ver_err, ver_n = _run_threads(verdict, seconds)
    with factory() as s:
        stored = s.scalar(select(func.count()).select_from(StepVerdict))
        distinct = s.scalar(select(func.count(func.distinct(StepVerdict.request_id))))
    ok = len(ver_lat) - ver_err
    ratio = pct(ver_lat, 99) / pct(bare_lat, 99)
    print(f"[{label}] bare INSERT+COMMIT x{WRITERS}: {summary_ms(bare_lat)}, errors {bare_err}")
    print(f"[{label}]   {_served(bare_n)}")
    if queued_lat:
        print(
            f"[{label}] bare INSERT+COMMIT x{WRITERS}, fair writer queue: {summary_ms(queued_lat)}; "
            f"{_served(queued_n)}"
        )
    print(f"[{label}] record_verdict   x{WRITERS}: {summary_ms(ver_lat)}, errors {ver_err}; {_served(ver_n)}")
    print(
        f"[{label}] stored {stored} (distinct request ids {distinct}) for {ok} successful calls; "
        f"lost {ok - distinct}, doubled {stored - distinct}"
    )
    print(f"[{label}] p99 ratio verdict/bare = {ratio:.2f} (target <= 3)")
    if queued_lat:
        queued = pct(ver_lat, 99) / pct(queued_lat, 99)
        print(f"[{label}] p99 ratio verdict/bare-with-the-same-writer-queue = {queued:.2f} (target <= 3)")
    engine.dispose()
    return {"ratio": ratio, "errors": ver_err, "lost": ok - distinct}


def _next_case_db(steps_total: int, tmp: Path) -> tuple[sessionmaker, list[int]]:
    url = f"sqlite:///{tmp / f'next_{steps_total}.sqlite3'}"
    upgrade(url)
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    return factory, seed(factory, cases=steps_total // 10)


def _time_next_case(factory: sessionmaker, reviewer: int) -> float:
    with factory() as s:
        s.begin()
        t0 = time.perf_counter()
        case = store.next_case(session=s, reviewer_id=reviewer, lease=LEASE)
        elapsed = time.perf_counter() - t0
        assert case is not None
        s.rollback()  # do not keep the claim: every repeat sees the same database
    return elapsed


def bench_next_case(small_steps: int, big_steps: int, tmp: Path, repeats: int = 300) -> float:
    """Median next_case time on a big vs a small database, measured interleaved (same noise)."""
    small, small_reviewers = _next_case_db(small_steps, tmp)
    big, big_reviewers = _next_case_db(big_steps, tmp)
    times: dict[int, list[float]] = {small_steps: [], big_steps: []}
    for i in range(repeats):
        times[small_steps].append(_time_next_case(small, small_reviewers[i % WRITERS]))
        times[big_steps].append(_time_next_case(big, big_reviewers[i % WRITERS]))
    for n, values in times.items():
        print(
            f"next_case with {n:,} steps: median {statistics.median(values) * 1000:.2f} ms, "
            f"p90 {pct(values, 90) * 1000:.2f} ms over {repeats} calls"
        )
    return statistics.median(times[big_steps]) / statistics.median(times[small_steps])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each concurrent phase")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--big-steps", type=int, default=1_000_000)
    args = parser.parse_args()
    print("machine:", machine())
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        url = f"sqlite:///{tmp / 'verdicts.sqlite3'}"
        upgrade(url)
        bench_verdicts(url, "sqlite", args.seconds)
        if not args.skip_postgres:
            with fresh_pg_database() as pg_url:
                upgrade(pg_url)
                bench_verdicts(pg_url, "postgres", args.seconds)
        ratio = bench_next_case(10_000, args.big_steps, tmp)
        print(f"next_case ratio {args.big_steps:,} / 10,000 steps = {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
