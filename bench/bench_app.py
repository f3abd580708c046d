"""The review app under load (issue 4).

    python -m bench.bench_app [--seconds 120] [--reviewers 32] [--think 0.5] [--skip-postgres]
                              [--write-results]

For SQLite and then PostgreSQL: start the real app (``python app.py --no-demo``) in a
subprocess on a fresh database seeded with reviewers and cases; 32 simulated reviewers
(:mod:`bench.app_client`, the browser's own protocol: login cookie, Gradio queue join, event
stream) work concurrently for ``--seconds``: claim the next case, judge every step with a think
time between clicks (70% accept, 15% correct, 15% reject; 5% of verdicts are sent twice with
the same request id, as after a lost answer), submit, next. Measured: p50/p99 of the verdict
action (click to rendered answer; target p99 <= 150 ms), errors (target 0), verdict rows in
the database against the request ids the server acknowledged (target: equal, every verdict
stored exactly once), server RSS growth from the end of a warm-up to the end (target < 20%),
and page load to interactive in chromium (login cookie set, /review/ until the worklist rows
are shown; target <= 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bench.app_client import Reviewer
from bench.common import fresh_pg_database, machine, pct, write_section
from migrations.runner import upgrade
from review_db import store
from review_db.engine import make_engine, session_scope
from review_db.models import StepVerdict, User

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"
STEPS = 6
CORRECTION = "Corrected by the benchmark reviewer."


@dataclass
class RunResult:
    backend: str
    verdict_s: list[float] = field(default_factory=list)
    other_s: list[float] = field(default_factory=list)
    acked: int = 0
    retries: int = 0
    stored: int = 0
    submitted: int = 0
    errors: list[str] = field(default_factory=list)
    rss_start: float = 0.0
    rss_warm: float = 0.0
    rss_end: float = 0.0
    rss_max: float = 0.0
    seconds: float = 0.0
    page_cold_s: float = 0.0
    page_warm_s: list[float] = field(default_factory=list)
    rss_curve: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MiB)

    @property
    def growth(self) -> float:
        return (self.rss_end - self.rss_warm) / self.rss_warm if self.rss_warm else 0.0


def seed(url: str, *, reviewers: int, cases: int) -> None:
    """Reviewer accounts and open cases with chains of STEPS steps (through the services)."""
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    with session_scope(factory, actor="bench:seed") as s:
        for i in range(reviewers):
            store.add_user(session=s, username=f"bench{i:02d}", password=PASSWORD, role="reviewer")
    for start in range(0, cases, 250):
        with session_scope(factory, actor="bench:seed") as s:
            for n in range(start, min(cases, start + 250)):
                case = store.create_case(
                    session=s,
                    study_id=None,
                    task_type="single_choice",
                    question=f"Benchmark case {n}: which finding is present?",
                    options=["No acute findings", "Nodules", "Effusion"],
                    reference_answer="B",
                )
                store.add_chain(
                    session=s,
                    case_id=case.id,
                    steps=[
                        f"Step {k + 1} of case {n}: an observation about the lungs." for k in range(STEPS)
                    ],
                    final_answer="B",
                    source="imported",
                )
    factory.kw["bind"].dispose()


def start_server(url: str, home: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHESTX_")}
    env |= {
        "CHESTX_HOME": str(home),
        "CHESTX_DATABASE_URL": url,
        "CHESTX_PSEUDONYM_KEY": "bench-key-0123456789",
        "HF_HUB_OFFLINE": "1",
    }
    log = home / "server.log"  # a file, not a pipe: a full pipe would stall the server
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--no-demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the app did not start in 120 s")


class RssSampler(threading.Thread):
    """Samples the server's resident memory every ``every`` seconds."""

    def __init__(self, pid: int, every: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.every = every
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def rss(self) -> float:
        procs = [self.proc, *self.proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs) / 2**20

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), self.rss()))
            self.stop.wait(self.every)


async def arrive(r: Reviewer) -> float:
    """Log in and load the page, as a reviewer starting work does; the page event's time."""
    await r.login()
    return await r.open_page()


async def reviewer_loop(r: Reviewer, deadline: float, think: float, rng: random.Random) -> None:
    while time.monotonic() < deadline:
        steps = await r.next_case()
        if not steps:
            r.tally.errors.append("no case left to review: seed more cases")
            return
        for step in steps:
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            roll = rng.random()
            retry = rng.random() < 0.05
            if roll < 0.70:
                await r.verdict(step, "accept", retry=retry)
            elif roll < 0.85:
                await r.verdict(step, "correct", text=CORRECTION, retry=retry)
            else:
                await r.verdict(step, "reject", comment="Not supported by the image.", retry=retry)
        await asyncio.sleep(think * rng.uniform(0.5, 1.5))
        await r.submit()


async def workload(base: str, reviewers: int, seconds: float, think: float) -> list[Reviewer]:
    first = Reviewer(base, "bench00", PASSWORD)
    await first.login()
    people = [first] + [
        Reviewer(base, f"bench{i:02d}", PASSWORD, first.endpoints) for i in range(1, reviewers)
    ]
    await first.open_page()
    await asyncio.gather(*(arrive(p) for p in people[1:]))  # everyone logged in, the page open
    deadline = time.monotonic() + seconds
    rngs = [random.Random(i) for i in range(reviewers)]
    try:
        results = await asyncio.gather(
            *(reviewer_loop(p, deadline, think, rng) for p, rng in zip(people, rngs, strict=True)),
            return_exceptions=True,
        )
    finally:
        for p in people:
            await p.close()
    for p, res in zip(people, results, strict=True):
        if isinstance(res, BaseException):
            p.tally.errors.append(f"{type(res).__name__}: {res}")
    return people


def page_load(base: str, rounds: int = 3) -> tuple[float, list[float]]:
    """Cold (fresh browser context) and warm loads of /review/ until the worklist is shown."""
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
            "--disable-sync", "--no-first-run"]  # fmt: skip
    cookie = httpx.post(f"{base}/login", data={"username": "bench00", "password": PASSWORD}).cookies[
        "chestx_session"
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args, headless=True)
        ctx = browser.new_context()
        ctx.add_cookies([{"name": "chestx_session", "value": cookie, "url": base}])
        page = ctx.new_page()
        timings = []
        for _ in range(rounds + 1):
            start = time.perf_counter()
            page.goto(f"{base}/review/")
            page.wait_for_selector("#cx-table tr[data-case], #cx-table .cx-empty", timeout=30_000)
            timings.append(time.perf_counter() - start)
        browser.close()
    return timings[0], timings[1:]


def run_backend(
    backend: str, url: str, home: Path, *, reviewers: int, seconds: float, think: float
) -> RunResult:
    upgrade(url)
    cases = int(reviewers * seconds / (think * (STEPS + 1) + 0.3) * 1.5) + 50
    print(f"[{backend}] seeding {reviewers} reviewers and {cases} cases of {STEPS} steps", flush=True)
    seed(url, reviewers=reviewers, cases=cases)
    port = _free_port()
    server = start_server(url, home, port)
    base = f"http://127.0.0.1:{port}"
    result = RunResult(backend)
    sampler = RssSampler(server.pid)
    try:
        result.rss_start = sampler.rss()
        sampler.start()
        warm_until = time.monotonic() + min(20.0, seconds / 6)
        print(f"[{backend}] {reviewers} reviewers for {seconds:.0f} s, think {think} s", flush=True)
        t0 = time.monotonic()
        people = asyncio.run(workload(base, reviewers, seconds, think))
        result.seconds = time.monotonic() - t0
        sampler.stop.set()
        sampler.join()
        result.rss_end = sampler.rss()
        warm = [rss for t, rss in sampler.samples if t >= warm_until]
        result.rss_warm = warm[0] if warm else result.rss_start
        result.rss_max = max(rss for _t, rss in sampler.samples)
        start = sampler.samples[0][0]
        step = max(1, len(sampler.samples) // 12)
        result.rss_curve = [(t - start, rss) for t, rss in sampler.samples[::step]]
        for p in people:
            result.verdict_s += p.tally.verdict_s
            result.other_s += p.tally.other_s
            result.acked += len(p.tally.acked)
            result.retries += p.tally.retries
            result.submitted += p.tally.submitted
            result.errors += p.tally.errors
        result.page_cold_s, result.page_warm_s = page_load(base)
    finally:
        server.terminate()
        server.wait(timeout=30)
    crashes = (home / "server.log").read_text(errors="replace").count("Traceback")
    result.errors += [f"server log: {crashes} tracebacks"] if crashes else []
    engine = make_engine(url)
    with engine.connect() as conn:
        bench_users = select(User.id).where(User.username.like("bench%"))
        result.stored = conn.scalar(
            select(func.count()).select_from(StepVerdict).where(StepVerdict.reviewer_id.in_(bench_users))
        )
    engine.dispose()
    return result


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def report(r: RunResult, think: float) -> str:
    """A markdown table of one run."""
    ms = sorted(v * 1000 for v in r.verdict_s)
    other = sorted(v * 1000 for v in r.other_s)
    p99 = pct(ms, 99) if ms else float("nan")
    rate = len(ms) / r.seconds if r.seconds else 0
    ok = lambda c: "met" if c else "**not met**"  # noqa: E731
    lines = [
        f"### {r.backend}, think time {think} s",
        "",
        "| figure | value | target |",
        "| --- | ---: | --- |",
        f"| verdict action p50 / p99 (click to rendered answer) | {statistics.median(ms):.1f} / {p99:.1f} ms "
        f"| p99 <= 150 ms: {ok(p99 <= 150)} |",
        f"| verdicts (first sends) / retries with the same id | {len(ms)} / {r.retries} ({rate:.1f}/s) | |",
        f"| next case + submit p50 / p99 | {statistics.median(other):.1f} / {pct(other, 99):.1f} ms | |",
        f"| reviews submitted | {r.submitted} | |",
        f"| errors | {len(r.errors)} | 0: {ok(not r.errors)} |",
        f"| verdict rows stored / acknowledged request ids | {r.stored} / {r.acked} "
        f"| equal: {ok(r.stored == r.acked)} |",
        f"| server RSS start / after warm-up / end / max | {r.rss_start:.0f} / {r.rss_warm:.0f} / "
        f"{r.rss_end:.0f} / {r.rss_max:.0f} MiB | |",
        f"| RSS growth over the run (after warm-up) | {100 * r.growth:+.1f}% | < 20%: {ok(r.growth < 0.2)} |",
        f"| page load to interactive, cold / warm median | {r.page_cold_s:.2f} / "
        f"{statistics.median(r.page_warm_s):.2f} s | <= 2 s: {ok(max(r.page_cold_s, 0) <= 2)} (cold) |",
    ]
    curve = ", ".join(f"{t:.0f} s {rss:.0f}" for t, rss in r.rss_curve)
    lines += ["", f"Server RSS over the run (MiB): {curve}."]
    if r.errors:
        lines += ["", "First errors: " + "; ".join(e[:160] for e in r.errors[:3])]
    return "\n".join(lines)


RESULTS_SECTION = "## App (issue 4)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--reviewers", type=int, default=32)
    parser.add_argument(
        "--think", type=float, nargs="+", default=[2.0], help="mean seconds between a reviewer's clicks"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    sections = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="chestx-bench-app-") as tmp_dir:
        tmp = Path(tmp_dir)
        for think in args.think:
            runs = [("SQLite", nullcontext(f"sqlite:///{tmp / f'sqlite-{think}' / 'chestx.sqlite3'}"))]
            if not args.skip_postgres:
                runs.append(("PostgreSQL", fresh_pg_database("chestx_bench_app")))
            for name, database in runs:
                with database as url:
                    home = tmp / f"{name.lower()}-{think}"
                    home.mkdir(exist_ok=True)
                    result = run_backend(
                        name, url, home, reviewers=args.reviewers, seconds=args.seconds, think=think
                    )
                text = report(result, think)
                print(text, flush=True)
                sections.append(text)
    load_after = os.getloadavg()
    header = (
        f"Command: `python -m bench.bench_app --seconds {args.seconds:.0f} --reviewers {args.reviewers} "
        f"--think {' '.join(str(t) for t in args.think)}`. Machine: {machine()}; load average "
        f"{load_before[0]:.1f} before and {load_after[0]:.1f} after (other jobs share these 2 cores). "
        f"Server: `python app.py --no-demo` in a subprocess; clients: {args.reviewers} reviewers in one "
        "asyncio process on the same machine, speaking the browser's protocol (login cookie; verdicts as "
        "`POST /review/gradio_api/run/predict`, next case and submit through "
        "`/review/gradio_api/queue/join` and its event stream)."
    )
    if args.write_results:
        write_section(RESULTS_SECTION, f"{RESULTS_SECTION}\n\n{header}\n\n" + "\n\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
