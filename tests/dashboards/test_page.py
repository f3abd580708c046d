"""The dashboards page: components, downloads, and (marked ``browser``) the page in chromium.

The browser test serves a tiny Blocks app that calls ``build_dashboards`` on the seeded SQLite
history, opens it in Debian's chromium through Playwright (the session's one browser, from
tests/conftest.py), waits for every chart to be drawn, clicks Refresh, downloads one chart as
HTML, and saves test-artifacts/dashboards.png.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import gradio as gr
import pytest

from chestx.web.dashboards import charts as page
from chestx.web.dashboards.figures import CHARTS, empty_figure
from review_db import store
from review_db.engine import session_scope
from services.dashboards.queries import DashboardData
from services.dashboards.stats import AgreementSummary, PairStat
from tests.conftest import ARTIFACTS
from tests.dashboards.conftest import LEASE, seed

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def test_build_needs_a_blocks_context(sqlite_db) -> None:  # noqa: ANN001
    with pytest.raises(RuntimeError, match="inside a gr.Blocks"):
        page.build_dashboards(sqlite_db.factory)


def test_build_creates_a_plot_and_a_download_per_chart(sqlite_db, tmp_path: Path) -> None:  # noqa: ANN001
    with gr.Blocks() as demo, gr.Tab("Dashboards"):
        page.build_dashboards(sqlite_db.factory, download_dir=tmp_path)
    ids = {block.elem_id for block in demo.blocks.values() if getattr(block, "elem_id", None)}
    for name, _ in CHARTS:
        assert f"dash-{name}" in ids and f"dash-{name}-html" in ids
    assert {"dash-refresh", "dash-status", "dash-pairs"} <= ids
    loads = [dep for dep in demo.fns.values() if any(t[1] == "load" for t in dep.targets)]
    assert len(loads) == 1  # refreshed when the page loads, as well as on the button


def _refresh_handler(demo: gr.Blocks):  # noqa: ANN202
    (dep,) = [d for d in demo.fns.values() if any(t[1] == "click" for t in d.targets)]
    return dep.fn


def test_refresh_asks_authorize_first_and_returns_every_output(seeded, tmp_path: Path) -> None:  # noqa: ANN001
    from review_db.errors import PermissionDenied

    db, _ = seeded
    asked: list[object] = []

    def authorize(request: object) -> None:
        asked.append(request)
        if len(asked) == 1:
            raise PermissionDenied("researchers and admins only")

    with gr.Blocks() as demo:
        page.build_dashboards(db.factory, authorize=authorize, download_dir=tmp_path, load_on_start=False)
    refresh = _refresh_handler(demo)
    with pytest.raises(gr.Error, match="researchers and admins only"):
        refresh("request-1")
    outputs = refresh("request-2")
    assert asked == ["request-1", "request-2"]
    status, figures, buttons, pairs = outputs[0], outputs[1:11], outputs[11:21], outputs[21]
    assert "15 step verdicts on 7 steps" in status
    assert [f.layout.title.text.split(":")[0] for f in figures][:2] == [
        "Review progress",
        "Verdicts by step position",
    ]
    assert [b.value["orig_name"].split("-")[0] for b in buttons] == [name for name, _ in CHARTS]
    assert all(Path(b.value["path"]).exists() for b in buttons)
    assert [row[:3] for row in pairs] == [["r1", "r2", 5], ["r1", "r3", 2], ["r2", "r3", 2]]


def test_download_links_instead_of_gradio_files(seeded, tmp_path: Path) -> None:  # noqa: ANN001
    """With ``download_link`` the downloads are links to the app's own URLs, made after authorize."""
    db, _ = seeded
    calls: list[tuple[object, str, Path]] = []

    def link(request: object, name: str, path: Path) -> str:
        calls.append((request, name, path))
        return f"/download/token-{name}?a=1&b=<2>"

    with gr.Blocks() as demo:
        page.build_dashboards(db.factory, download_dir=tmp_path, download_link=link, load_on_start=False)
    ids = {b.elem_id: type(b).__name__ for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    assert ids["dash-progress-html"] == "HTML"  # no gr.DownloadButton: nothing goes through Gradio's files
    outputs = _refresh_handler(demo)("request-1")
    links = outputs[11:21]
    assert [c[1] for c in calls] == [name for name, _ in CHARTS] and {c[0] for c in calls} == {"request-1"}
    assert all(c[2].exists() and c[2].parent == tmp_path for c in calls)
    assert links[0] == (
        '<a class="dash-download" href="/download/token-progress?a=1&amp;b=&lt;2&gt;" '
        'download="progress.html">Download Review progress (HTML)</a>'
    )


def test_html_download_is_self_contained(tmp_path: Path) -> None:
    fig = empty_figure("Review progress")
    path = page.write_html(fig, "progress", tmp_path)
    text = path.read_text(encoding="utf-8")
    assert path.name.startswith("progress-") and path.suffix == ".html"
    assert "Review progress" in text and "No data yet" in text
    assert not re.search(r"<script[^>]+src=", text)  # plotly.js inlined, nothing fetched
    assert len(text) > 1_000_000  # the plotly.js bundle itself
    assert page.write_html(fig, "progress", tmp_path) == path  # same figure: same file, not rewritten


def test_pair_rows_and_status_line() -> None:
    summary = AgreementSummary(pairs=(PairStat("a", "b", 3, 2 / 3, None), PairStat("a", "c", 9, 1.0, 0.25)))
    assert page.pair_rows(summary) == [["a", "c", 9, "100.0%", 0.25], ["a", "b", 3, "66.7%", "n/a"]]
    assert page.status_line(DashboardData()).startswith("Updated never")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
def test_dashboards_render_in_chromium(sqlite_db, tmp_path: Path, new_page) -> None:  # noqa: ANN001
    from services.dashboards.rollup import CACHE

    CACHE.clear()
    ids = seed(sqlite_db.factory)
    with gr.Blocks(title="Dashboards", analytics_enabled=False) as demo:
        page.build_dashboards(sqlite_db.factory, download_dir=tmp_path / "downloads")
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        tab = new_page(accept_downloads=True)  # a fresh context of the session's browser
        tab.set_default_timeout(30_000)
        tab.goto(f"http://127.0.0.1:{port}/")
        for name, _ in CHARTS:
            tab.wait_for_selector(f"#dash-{name} .js-plotly-plot .main-svg", state="attached")
        status = tab.locator("#dash-status")
        assert "15 step verdicts on 7 steps" in status.inner_text()
        assert tab.locator("#dash-by_position .js-plotly-plot .bars path").count() >= 4
        assert "Fleiss" in tab.locator("#dash-agreement .js-plotly-plot").inner_text()
        # PNG downloads come from the chart toolbar's camera button, drawn by the browser.
        tab.hover("#dash-loss .js-plotly-plot")
        assert tab.locator("#dash-loss .modebar-btn[data-title='Download plot as a PNG']").count() == 1

        # New work shows after Refresh: r3 amends their submitted review (a submitted review is
        # final until reopened) and changes their mind on the added step.
        with session_scope(sqlite_db.factory, actor="test") as s:
            chain_id, step_id = ids.chains["C"], ids.steps["C"][-1]
            reviewer = ids.reviewers["r3"]
            store.reopen_review(session=s, chain_id=chain_id, reviewer_id=reviewer, lease=LEASE)
            store.record_verdict(
                session=s, step_id=step_id, reviewer_id=reviewer, verdict="reject", lease=LEASE
            )
            store.submit_review(
                session=s, chain_id=chain_id, reviewer_id=reviewer, answer_verdict="agree", lease=LEASE
            )
        tab.click("#dash-refresh")
        tab.wait_for_function("document.querySelector('#dash-status').innerText.includes('16 step verdicts')")
        with tab.expect_download() as download:
            tab.click("#dash-by_position-html")
        saved = Path(download.value.path()).read_text(encoding="utf-8")
        assert "Verdicts by step position" in saved and "Plotly" in saved

        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / "dashboards.png"), full_page=True)
    finally:
        demo.close()
    assert (ARTIFACTS / "dashboards.png").stat().st_size > 50_000
