"""The real app, served by uvicorn in a thread on a free port over a temporary SQLite database.

Fixtures: ``live`` (one server per test session: its URL, settings and session factory, and
helpers to add users and cases through the real services). ``browser`` and ``new_page`` (Debian's
chromium through Playwright, one per test session; failed tests' pages screenshotted into
test-artifacts/) come from tests/conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.app.harness import Listeners, ServerLog, capture, instrument
from tests.conftest import free_port

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
# A loop with no model stage, on a base model that does not exist: a worker started from the
# admin page snapshots the data and stops (or is cancelled first); it never loads a model.
LOOP_YAML = """base_model: no-such-model-for-tests
min_new_verified: 1000
stages: {sft: false, prm: false, rl: false}
isolation: inline
"""


def output_until(process: subprocess.Popen, marker: str, *, within: float = 120) -> str:
    """What ``process`` printed up to the first line holding ``marker`` (or its end, or ``within``
    seconds)."""
    lines: list[str] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            break
    return "".join(lines)


def first_answer(url: str, *, process: subprocess.Popen, within: float = 60) -> httpx.Response | None:
    """GET ``url`` until the server answers (a process may announce itself before it listens);
    None when ``process`` exits or ``within`` seconds pass first."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.1)
    return None


@dataclass
class Live:
    """A running app and what tests need to drive it; ``listeners`` and ``log`` are what the
    browser suite's gates check (tests/app/harness.py)."""

    url: str
    settings: object
    factory: object
    app: object
    listeners: Listeners
    log: ServerLog

    def user(self, name: str, role: str = "reviewer") -> int:
        from review_db import store
        from review_db.engine import session_scope

        with session_scope(self.factory, actor="test") as s:
            return store.add_user(session=s, username=name, password=PASSWORD, role=role).id

    def case(self, steps: tuple[str, ...] | None, **over) -> tuple[int, int | None, list[int]]:
        """A case on the demo's real radiograph with a chain of ``steps``: (case, chain, step ids).

        ``steps=None``: a case without a chain. The chain's answer, source, model name and status
        come from ``answer``, ``source``, ``model`` and ``chain_status`` (default "B", imported).
        """
        from sqlalchemy import select

        from review_db import store
        from review_db.engine import session_scope
        from review_db.models import Study

        chain_kw = {
            "final_answer": over.pop("answer", "B"),
            "source": over.pop("source", "imported"),
            "source_detail": over.pop("model", ""),
            "status": over.pop("chain_status", "complete"),
        }
        with session_scope(self.factory, actor="test") as s:
            study = s.scalars(select(Study).order_by(Study.id)).first()
            case = store.create_case(
                session=s,
                study_id=study.id if study else None,
                task_type=over.pop("task_type", "single_choice"),
                question=over.pop("question", "Which finding is present?"),
                options=over.pop("options", ["No acute findings", "Nodules", "Effusion"]),
                reference_answer=over.pop("reference_answer", "B"),
                priority=over.pop("priority", 100),
                **over,
            )
            if steps is None:
                return case.id, None, []
            chain = store.add_chain(session=s, case_id=case.id, steps=list(steps), **chain_kw)
            return case.id, chain.id, [st.id for st in sorted(chain.steps, key=lambda x: x.position)]

    def verdicts(self, reviewer: int) -> list[tuple]:
        """Every step verdict ``reviewer`` gave, in the order given: (step, verdict, text, comment)."""
        from sqlalchemy import select

        from review_db.models import StepVerdict

        with self.factory() as s:
            rows = s.execute(
                select(
                    StepVerdict.step_id, StepVerdict.verdict, StepVerdict.corrected_text, StepVerdict.comment
                )
                .where(StepVerdict.reviewer_id == reviewer)
                .order_by(StepVerdict.id)
            ).all()
        return [(r[0], r[1].value, r[2], r[3]) for r in rows]

    @staticmethod
    def slow_model(delay_s: float) -> None:
        """How long the scripted model waits between chunks (0: back to the default)."""
        ScriptedBackend.delay_s = delay_s or 0.01

    def login_cookie(self, name: str, password: str = PASSWORD) -> str:
        import httpx

        form = {"username": name, "password": password}
        r = httpx.post(f"{self.url}/login", data=form, follow_redirects=False)
        assert r.status_code == 303, r.text
        return r.cookies["chestx_session"]


def serve(app, port: int) -> tuple[object, threading.Thread]:  # noqa: ANN001
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    return server, thread


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app with the demo seeded, on a fresh SQLite database (one per test session)."""
    import app as web_app
    from chestx.compose import database
    from chestx.settings import Settings

    home = tmp_path_factory.mktemp("home")
    # A 30 s lease, renewed every 10 s: the browser suite sees the renewal timer fire.
    settings = Settings(home=home, pseudonym_key="test-key-0123456789", database_url=None, lock_minutes=0.5)
    web_app.prepare_database(settings)
    hint = web_app.seed_demo(settings)
    loop_config = home / "loop.yaml"  # "Run loop now" must not start a real training here
    loop_config.write_text(LOOP_YAML, encoding="utf-8")
    application = web_app.build_app(
        settings, demo_hint=hint, backend_factory=fake_backend_factory, loop_config=loop_config
    )
    listeners, log = instrument(application), ServerLog()
    stop_capture = capture(log)
    port = free_port()
    server, thread = serve(application, port)
    yield Live(f"http://127.0.0.1:{port}", settings, database(settings), application, listeners, log)
    server.should_exit = True
    thread.join(timeout=10)
    stop_capture()


SCRIPTED = (
    "<think>The lungs are clear. The heart size is normal. No effusion is seen.</think><answer>A</answer>"
)


class ScriptedBackend:
    """A model stand-in that streams a fixed output through the reasoner's real event mapper."""

    name = "scripted"
    delay_s = 0.01  # between chunks of 7 characters (Live.slow_model changes it)

    def describe(self):  # noqa: ANN201
        from reasoner.backends.base import BackendInfo

        return BackendInfo("hf", "scripted-test-model", {})

    def stream(self, request, *, cancel=None):  # noqa: ANN001, ANN201
        from reasoner.events import EventMapper

        mapper = EventMapper(options=request.task.options or None)
        for i in range(0, len(SCRIPTED), 7):
            if cancel is not None and cancel.is_set():
                yield from mapper.finish("cancelled")
                return
            time.sleep(ScriptedBackend.delay_s)
            yield from mapper.feed(SCRIPTED[i : i + 7])
        yield from mapper.finish("stop")


def fake_backend_factory() -> ScriptedBackend:
    return ScriptedBackend()


def login(page, live: Live, name: str, password: str = PASSWORD, path: str = "/review/") -> None:  # noqa: ANN001
    page.goto(live.url + path)
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")


def step(n: int) -> str:
    """The selector of the open chain's ``n``-th step (from 1) on the review page."""
    return f"#cx-chain .cx-steps > .cx-step:nth-child({n})"


def open_case(page, case_id: int, *, steps: bool = True) -> None:  # noqa: ANN001
    """Open a case from its worklist row; return once its header shows, and its steps (``steps``:
    False for a case without a chain, or with an empty one)."""
    page.wait_for_selector(f"#cx-table tr[data-case='{case_id}']")
    page.click(f"#cx-table tr[data-case='{case_id}']")
    page.wait_for_selector(f"#cx-header [data-case-id='{case_id}']")
    if steps:
        page.wait_for_selector("#cx-chain .cx-step[data-step-id]")
