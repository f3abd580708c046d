"""The dashboards page: Gradio components for the charts, a refresh button, downloads.

Contract: :func:`build_dashboards` creates its components inside the caller's current
``gr.Blocks`` / ``gr.Tab`` context and wires them; it returns nothing. Role checks are the
caller's: pass ``authorize`` (called with the ``gr.Request`` of every refresh; raise a
``ChestXError`` to refuse) so that the page's event cannot be called around the page's own check.
Handlers hold no state: each refresh reads the database (:func:`queries.load_all`), builds the
figures (:func:`figures.all_figures`) and writes each as a self-contained HTML file (plotly.js
inlined from the installed plotly package, no CDN) for its download button. An app whose Gradio
file routes are closed passes ``download_link`` and serves the files itself: the downloads are
then plain links to the URLs it returns. A PNG of any chart comes from the camera button of the
chart's own toolbar, drawn by the browser.
"""

from __future__ import annotations

import hashlib
import html
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import plotly.graph_objects as go
from sqlalchemy.orm import Session, sessionmaker

from chestx.web.dashboards.figures import CHARTS, all_figures
from review_db.errors import ChestXError
from services.dashboards.queries import DashboardData, load_all
from services.dashboards.stats import AgreementSummary, summarise
from vocab import AnswerVerdict

PRIVATE: dict[str, Any] = {"api_visibility": "private"}
WIDE = {"progress", "agreement"}  # charts that take a whole row; the others go in pairs
KEEP_DOWNLOADS_S = 3600.0  # older HTML files are removed at the next refresh
PAIR_HEADERS = ["reviewer A", "reviewer B", "shared steps", "agreement", "Cohen's κ"]
PLOT_CONFIG = {"displaylogo": False}
# (request, chart name, HTML file) -> the URL that serves the file to that request's user
DownloadLink = Callable[[gr.Request, str, Path], str]


def write_html(fig: go.Figure, name: str, folder: Path) -> Path:
    """``fig`` as a standalone HTML file named after its content (rewritten only when it changed)."""
    body = fig.to_json()
    path = folder / f"{name}-{hashlib.sha256(body.encode()).hexdigest()[:16]}.html"
    if not path.exists():
        config = {**PLOT_CONFIG, "toImageButtonOptions": {"filename": name}}
        tmp = path.with_suffix(".part")
        fig.write_html(tmp, include_plotlyjs=True, full_html=True, config=config)
        tmp.replace(path)  # atomic: a concurrent refresh never serves half a file
    return path


def _prune(folder: Path, keep: set[Path]) -> None:
    cutoff = time.time() - KEEP_DOWNLOADS_S
    for old in folder.glob("*.html"):
        try:
            if old not in keep and old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:  # removed by a concurrent refresh
            pass


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def pair_rows(summary: AgreementSummary) -> list[list[Any]]:
    """Rows of the agreement table, most shared steps first."""
    rows = sorted(summary.pairs, key=lambda p: (-p.n, p.reviewer_a, p.reviewer_b))
    return [
        [
            p.reviewer_a,
            p.reviewer_b,
            p.n,
            _pct(p.percent_agreement),
            "n/a" if p.cohen_kappa is None else round(p.cohen_kappa, 3),
        ]
        for p in rows
    ]


def link_html(heading: str, url: str | None, name: str = "") -> str:
    """A chart's download as a link (``download_link`` mode); a greyed label before the first load."""
    label = html.escape(f"Download {heading} (HTML)")
    if url is None:
        return f'<span class="dash-download" aria-disabled="true">{label}</span>'
    saved = html.escape(f"{name or 'chart'}.html", quote=True)
    return f'<a class="dash-download" href="{html.escape(url, quote=True)}" download="{saved}">{label}</a>'


OUTCOME_LABELS = {v.value: v.facts.outcome for v in AnswerVerdict}


def status_line(data: DashboardData) -> str:
    when = data.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC") if data.generated_at else "never"
    outcomes = " · ".join(f"{n:,} {OUTCOME_LABELS.get(k, k)}" for k, n in data.outcomes)
    return (
        f"Updated {when} in {data.seconds:.1f} s · {data.verdict_rows:,} step verdicts on "
        f"{data.judged_steps:,} steps"
        + (f" · reviews: {outcomes}" if outcomes else "")
        + " · PNG: the camera button on each chart"
    )


class _Components:
    """The page's components, created in page order inside the current Blocks context."""

    def __init__(self, *, links: bool) -> None:
        self.links = links
        self.headings = dict(CHARTS)
        with gr.Row():
            self.refresh = gr.Button(
                "Refresh", variant="primary", scale=0, min_width=120, elem_id="dash-refresh"
            )
            self.status = gr.Markdown("Not loaded yet.", elem_id="dash-status")
        self.plots: dict[str, gr.Plot] = {}
        self.downloads: dict[str, gr.DownloadButton | gr.HTML] = {}
        self.pairs: gr.Dataframe | None = None
        pending: list[tuple[str, str]] = []
        for name, title in CHARTS:
            if name in WIDE:
                self._row(pending)
                self._row([(name, title)])
                pending = []
            else:
                pending.append((name, title))
                if len(pending) == 2:
                    self._row(pending)
                    pending = []
        self._row(pending)

    def _row(self, charts: list[tuple[str, str]]) -> None:
        if charts:
            with gr.Row(equal_height=False):
                for name, heading in charts:
                    with gr.Column():
                        self._chart(name, heading)

    def _chart(self, name: str, heading: str) -> None:
        self.plots[name] = gr.Plot(label=heading, show_label=False, elem_id=f"dash-{name}")
        if self.links:
            self.downloads[name] = gr.HTML(link_html(heading, None), elem_id=f"dash-{name}-html")
        else:
            self.downloads[name] = gr.DownloadButton(
                f"Download {heading} (HTML)", size="sm", interactive=False, elem_id=f"dash-{name}-html"
            )
        if name == "agreement":
            with gr.Accordion("Agreement per reviewer pair", open=False):
                self.pairs = gr.Dataframe(headers=PAIR_HEADERS, interactive=False, elem_id="dash-pairs")

    @property
    def outputs(self) -> list[Any]:
        return [self.status, *self.plots.values(), *self.downloads.values(), self.pairs]


def _download_values(
    ui: _Components, link: DownloadLink | None, request: gr.Request, paths: dict[str, Path]
) -> list[Any]:
    """The download components' new values: Gradio file buttons, or links to the app's URLs."""
    if link is None:
        return [gr.DownloadButton(value=str(paths[name]), interactive=True) for name in ui.downloads]
    return [link_html(ui.headings[name], link(request, name, paths[name]), name) for name in ui.downloads]


def build_dashboards(
    session_factory: sessionmaker[Session],
    *,
    authorize: Callable[[gr.Request], object] | None = None,
    load_on_start: bool = True,
    download_dir: Path | None = None,
    download_link: DownloadLink | None = None,
) -> None:
    """Create the dashboards inside the current Blocks context.

    ``session_factory``: the app's database. ``authorize``: called with each refresh's request
    before anything is read. ``load_on_start``: also refresh when the enclosing Blocks loads.
    ``download_dir``: where the HTML downloads are written (default: a new temporary folder).
    ``download_link``: for apps that close Gradio's file routes: called with (request, chart
    name, file) after ``authorize``, returns the URL that serves that file to that user; the
    downloads are then links (``gr.HTML``) instead of Gradio download buttons.
    """
    root = gr.context.Context.root_block
    if root is None:
        raise RuntimeError("build_dashboards must be called inside a gr.Blocks context")
    folder = Path(download_dir or tempfile.mkdtemp(prefix="chestx-dashboards-"))
    folder.mkdir(parents=True, exist_ok=True)
    ui = _Components(links=download_link is not None)

    def refresh(request: gr.Request) -> list[Any]:
        try:
            if authorize is not None:
                authorize(request)
            data = load_all(session_factory)
            figures = all_figures(data)
            paths = {name: write_html(fig, name, folder) for name, fig in figures.items()}
            _prune(folder, set(paths.values()))
            files = _download_values(ui, download_link, request, paths)
        except ChestXError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return [
            status_line(data),
            *(figures[name] for name in ui.plots),
            *files,
            pair_rows(summarise(data.agreement)),
        ]

    ui.refresh.click(refresh, None, ui.outputs, concurrency_limit=2, **PRIVATE)
    if load_on_start:
        root.load(refresh, None, ui.outputs, concurrency_limit=2, **PRIVATE)
