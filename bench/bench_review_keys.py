"""A reviewer's first minute, measured in chromium (issue 13): keys per chain, login to first step.

    python -m bench.bench_review_keys [--rounds 5] [--write-results]

Starts the real app (``python app.py --no-demo``) on a fresh SQLite database with one reviewer
and cases of 8-step chains, then in Debian's chromium:

- **keys**: reviews one 8-step chain entirely from the keyboard, accepting every step, agreeing
  and submitting, counting every key pressed (target 10; before issue 13: 17, 8 accepts, 7 Tabs
  and Space to reach the answer, Ctrl+Enter), and checks the database stored exactly that review;
- **login to first step**: from pressing "Log in" on the login page to the first step of a case
  visible (the worklist, then "Next case"), warm (assets cached, as on a working day): median and
  best of ``--rounds`` (target 1 s; before: 1.7-1.9 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.bench_app import PASSWORD, _free_port, start_server
from bench.common import machine, write_section
from migrations.runner import upgrade
from review_db import store
from review_db.engine import make_engine, session_scope
from review_db.models import ChainReview, StepVerdict, User

STEPS = tuple(f"Finding number {i + 1} is described here." for i in range(8))
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


def seed(url: str, cases: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(engine, expire_on_commit=False)
    with session_scope(factory, actor="bench") as s:
        store.add_user(session=s, username="keys", password=PASSWORD, role="reviewer")
        for i in range(cases):
            case = store.create_case(
                session=s, study_id=None, task_type="single_choice", question=f"Bench question {i}?",
                options=["No acute findings", "Nodules", "Effusion"], reference_answer="B",
            )  # fmt: skip
            store.add_chain(
                session=s, case_id=case.id, steps=list(STEPS), final_answer="B", source="imported"
            )
    engine.dispose()


class Keys:
    """A keyboard that counts what it presses."""

    def __init__(self, page) -> None:  # noqa: ANN001
        self.page, self.count = page, 0

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.count += 1


def login_to_first_step(page, base: str) -> float:  # noqa: ANN001
    page.goto(f"{base}/login?next=/review/")
    page.fill("#username", "keys")
    page.fill("#password", PASSWORD)
    start = time.perf_counter()
    page.click("button[type=submit]")
    page.wait_for_selector("#cx-next")
    page.wait_for_selector("#cx-table tr[data-case]")
    page.click("#cx-next")
    page.wait_for_selector("#cx-chain .cx-step[data-step-id]", state="visible")
    took = time.perf_counter() - start
    page.click("#cx-release")
    page.wait_for_function("document.body.dataset.cxView === 'worklist'")
    page.click("button.cx-logout")
    page.wait_for_url("**/login**")
    return took


def review_by_keyboard(page, base: str) -> int:  # noqa: ANN001
    page.goto(f"{base}/login?next=/review/")
    page.fill("#username", "keys")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#cx-table tr[data-case]")
    page.click("#cx-next")
    page.wait_for_selector("#cx-chain .cx-step[data-step-id]")
    keys = Keys(page)
    for n in range(len(STEPS)):
        keys.press("a")
        page.wait_for_selector(f"#cx-chain .cx-steps > .cx-step:nth-child({n + 1})[data-verdict=accept]")
    keys.press("y")
    keys.press("Control+Enter")
    page.wait_for_selector("#cx-notice .cx-ok, #cx-worklist .cx-ok")
    return keys.count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        url = f"sqlite:///{home / 'bench.sqlite3'}"
        seed(url, cases=args.rounds + 3)
        port = _free_port()
        server = start_server(url, home, port)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
                page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
                login_to_first_step(page, base)  # warm-up: assets cached
                timings = [login_to_first_step(page, base) for _ in range(args.rounds)]
                keys = review_by_keyboard(page, base)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
        engine = make_engine(url)
        with engine.connect() as conn:
            reviewer = conn.scalar(select(User.id).where(User.username == "keys"))
            verdicts = conn.execute(
                select(StepVerdict.verdict).where(StepVerdict.reviewer_id == reviewer)
            ).all()
            reviews = conn.execute(
                select(ChainReview.answer_verdict).where(ChainReview.reviewer_id == reviewer)
            ).all()
        engine.dispose()
    stored = [v[0] for v in verdicts] == ["accept"] * len(STEPS) and [r[0] for r in reviews] == ["agree"]
    median, best = statistics.median(timings), min(timings)
    text = (
        f"Command: `python -m bench.bench_review_keys --rounds {args.rounds}`. {machine()}.\n\n"
        "| figure | now | target | before issue 13 |\n| --- | ---: | ---: | ---: |\n"
        f"| keys to review an 8-step chain (accept all, agree, submit) | {keys} | 10 | 17 |\n"
        f"| login to first step visible, warm, median of {args.rounds} (s) | {median:.2f} | 1.0 | 1.7-1.9 |\n"
        f"| login to first step visible, warm, best (s) | {best:.2f} | | |\n\n"
        f"Ratio to the target: keys {keys / 10:.2f}, time {median / 1.0:.2f} (median). "
        f"The database held exactly the review given from the keyboard: {'yes' if stored else 'NO'}.\n"
    )
    print(text)
    if args.write_results:
        write_section("Review from the keyboard (issue 13)", text)
    return 0 if stored else 1


if __name__ == "__main__":
    sys.exit(main())
