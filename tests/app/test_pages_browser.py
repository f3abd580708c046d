"""The researcher's and the admin's pages in a real browser (Debian's chromium, Playwright).

A researcher opens the dashboards (every chart drawn, one chart downloaded through its token
link; screenshot test-artifacts/dashboards-app.png) and builds an export: an empty selection
says so and offers nothing, a small one downloads as a zip holding the manifest and the dataset
card, once. A reviewer is refused the export and dashboards pages and the download route. An
admin sees the training section, starts the loop and cancels it.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from chestx.web.dashboards.figures import CHARTS
from tests.app.conftest import login
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def test_researcher_sees_and_downloads_the_dashboards(live, new_page) -> None:  # noqa: ANN001
    live.user("dash-res", "researcher")
    page = new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live.url) else None)
    login(page, live, "dash-res", path="/dashboards/")
    for name, _title in CHARTS:
        page.wait_for_selector(f"#dash-{name} .js-plotly-plot .main-svg", state="attached", timeout=60_000)
    page.wait_for_selector("#dash-by_position-html a.dash-download")
    assert "step verdicts" in page.inner_text("#dash-status")  # the demo's two reviewed cases
    assert page.locator("a[href='/dashboards/'][aria-current=page]").count() == 1
    href = page.get_attribute("#dash-by_position-html a", "href")
    assert href.startswith("/download/") and len(href) > 50  # a token, not a path
    with page.expect_download() as download:
        page.click("#dash-by_position-html a")
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Verdicts by step position" in saved and "Plotly" in saved
    assert download.value.suggested_filename == "chestx-by_position.html"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboards-app.png"), full_page=True)
    assert (ARTIFACTS / "dashboards-app.png").stat().st_size > 50_000
    assert [u for u in outside if not u.startswith(("data:", "blob:"))] == []


def test_researcher_builds_and_downloads_an_export(live, new_page) -> None:  # noqa: ANN001
    live.user("exp-res", "researcher")
    page = new_page()
    login(page, live, "exp-res", path="/export/")
    page.wait_for_selector("#cx-export-build")
    ARTIFACTS.mkdir(exist_ok=True)
    page.fill("#cx-export-to input, #cx-export-to textarea", "2000-01-01")  # nothing reviewed then
    page.click("#cx-export-build")
    page.wait_for_selector("#cx-export-panel .cx-error", timeout=60_000)
    assert "nothing to export" in page.inner_text("#cx-export-panel")
    assert page.locator("#cx-export-download").count() == 0

    page.fill("#cx-export-to input, #cx-export-to textarea", "")
    page.locator("#cx-export-kind label", has_text="prm").click()
    page.check("#cx-export-demo input")
    page.click("#cx-export-build")
    page.wait_for_selector("#cx-export-download", timeout=60_000)
    assert "Export ready" in page.inner_text("#cx-export-result")
    href = page.get_attribute("#cx-export-download", "href")
    with page.expect_download() as download:
        page.click("#cx-export-download")
    data = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    assert {"manifest.json", "README.md"} <= names
    assert manifest["kind"] == "prm" and manifest["filters"]["include_demo"] is True
    assert download.value.suggested_filename.startswith("chestx-prm-")
    page.screenshot(path=str(ARTIFACTS / "export-app.png"), full_page=True)
    assert page.request.get(live.url + href).status == 404  # one download only
    root = live.settings.home / "cache" / "exports"
    deadline = time.monotonic() + 5
    while any(root.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(root.iterdir()) == []  # the zip and its build folder are gone


def test_reviewer_is_refused_export_dashboards_and_downloads(live, new_page) -> None:  # noqa: ANN001
    from chestx.web.auth import UserInfo
    from review_db.models import User
    from review_db.types import Role

    live.user("rev-403")
    researcher = live.user("res-owner", "researcher")
    target = live.settings.home / "cache" / "shared-chart.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("<p>chart</p>")
    token = live.app.state.chestx.downloads.offer(
        user=UserInfo(researcher, "res-owner", Role.researcher),
        path=target,
        filename="chart.html",
        media_type="text/html",
        roles=(Role.researcher,),
        ttl_s=60,
    )
    with live.factory() as s:
        assert s.scalar(select(User.role).where(User.username == "rev-403")) is Role.reviewer
    page = new_page()
    login(page, live, "rev-403")
    page.wait_for_selector("#cx-table")
    for path in ("/export/", "/dashboards/", f"/download/{token}"):
        response = page.goto(live.url + path)
        assert response.status == 403, path
        assert "may not open this page" in page.inner_text("body")
    assert page.locator("a[href='/dashboards/']").count() == 0


def test_admin_sees_training_and_runs_and_cancels_the_loop(live, new_page) -> None:  # noqa: ANN001
    from review_db.models import TrainingRun, User
    from review_db.types import RunKind, RunStatus
    from training import runs

    live.user("train-admin", "admin")
    page = new_page()
    login(page, live, "train-admin", path="/admin/")
    page.wait_for_selector("#cx-train-idle")
    assert "Training" in page.inner_text("#cx-training")
    assert "Recent runs" in page.inner_text("body") and "Model versions" in page.inner_text("body")

    page.click("#cx-run-loop")
    page.wait_for_selector("#cx-train-notice .cx-ok", timeout=90_000)  # first use imports training code
    hold_workers(live.settings.home)  # the run is still running when the test cancels it
    assert "Loop run" in page.inner_text("#cx-train-notice") and "forced" in page.inner_text(
        "#cx-train-notice"
    )
    page.wait_for_selector("#cx-train-active")
    with live.factory() as s:
        admin_id = s.scalar(select(User.id).where(User.username == "train-admin"))
        run = s.scalar(select(TrainingRun).order_by(TrainingRun.id.desc()))
        assert run.kind is RunKind.loop and run.created_by == f"user:{admin_id}"
    assert f"Run {run.id}" in page.inner_text("#cx-train-active")
    # progress as a worker reports it: the timer shows it without a click
    runs.write_progress(live.factory, run.id, {"stage": "sft", "step": 3, "total": 12, "loss": 0.25})
    page.wait_for_function(
        "document.querySelector('#cx-train-active').innerText.includes('step 3 / 12 · loss 0.250')"
    )
    assert page.get_attribute("#cx-train-active progress", "value") == "3"

    page.click("#cx-run-loop")  # one job at a time: the second is refused with a message
    page.wait_for_selector("#cx-train-notice .cx-error")
    assert "already" in page.inner_text("#cx-train-notice")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-training.png"), full_page=True)

    page.click("#cx-cancel-job")
    page.wait_for_selector("#cx-train-notice .cx-ok")
    assert f"Run {run.id} cancelled" in page.inner_text("#cx-train-notice")
    page.wait_for_selector("#cx-train-idle")
    with live.factory() as s:
        assert s.get(TrainingRun, run.id).status is RunStatus.cancelled
    assert "cancelled" in page.inner_text("#cx-admin-runs")
    _end_workers(live.settings.home)


def _workers(home: Path) -> list[int]:
    """The worker processes this test's app started (found by their config file, under ``home``)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"training.worker" in argv and any(a.startswith(str(home).encode()) for a in argv):
                pids.append(int(proc.name))
    return pids


def hold_workers(home: Path, within: float = 30.0) -> list[int]:
    """Pause (SIGSTOP) the worker of the run just started, so that it is still running when the
    test cancels it: a loop without stages ends in about a second on a fast machine. The worker
    is paused while it still imports Python (it has not opened the database yet), so no write
    lock is held; :func:`_end_workers` lets it go."""
    import os
    import signal

    deadline = time.monotonic() + within
    while not (pids := _workers(home)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pids, "the run's worker did not start"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    return pids


def _end_workers(home: Path, timeout_s: float = 30.0) -> None:
    """Stop the worker processes this test's app started (:func:`_workers`) and reap them.

    A cancel that comes before the worker has recorded its pid cannot signal it; the worker would
    refuse its cancelled run by itself, but only after importing the training stack (seconds).
    """
    import os
    import signal

    pids = _workers(home)
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGCONT)  # a held worker takes its SIGTERM once it runs again
    deadline = time.monotonic() + timeout_s
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    break
            except ChildProcessError:  # already reaped by subprocess' own bookkeeping
                break
            time.sleep(0.05)
