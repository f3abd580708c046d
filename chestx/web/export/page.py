"""The researcher's export page (``/export/``): build a de-identified dataset and download it.

Contract: :func:`build_export_page` returns the page; researchers and admins only (the path is
guarded by the middleware, and each handler checks the role again). "Build export" runs
:func:`services.exporting.export_to_zip` (the use case the CLI shares) in Gradio's worker
threads (never on the event loop; one build at a time per app) with its progress on a
``gr.Progress``, into a fresh folder under ``<home>/cache/exports``, then offers the zip through
``/download/<token>`` (:mod:`chestx.web.downloads`): to the requesting user only, once, for
:data:`ZIP_TTL_S`; the zip is deleted after the download or at expiry. An empty selection shows
the export layer's message and offers nothing.

Its one public API endpoint, ``list_exports``, lists the finished exports under
``CHESTX_HOME/exports`` (made with ``chestx export``): scripts call it with ``gradio_client``
and a researcher's login cookie.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from chestx.web import downloads
from chestx.web.auth import UserInfo, require
from chestx.web.common import PRIVATE, guarded, nav_html, page
from chestx.web.context import AppContext
from chestx.web.export.form import (
    FORMATS,
    IMAGE_CHOICES,
    KINDS,
    PAGE,
    POLICIES,
    TASK_TYPES,
    ExportForm,
    GradioProgress,
    result_html,
)
from chestx.web.html import notice, table
from review_db import store
from review_db.errors import ChestXError
from review_db.types import Role
from services import exporting, screens

RESEARCHERS = (Role.researcher, Role.admin)
ZIP_TTL_S = 30 * 60.0


def export_root(ctx: AppContext) -> Path:
    """Where zips are built and wait for their download (one folder per build)."""
    return ctx.cache_dir / "exports"


def list_exports(ctx: AppContext, request: gr.Request) -> list[list[str]]:
    """(name, files, bytes) of each export folder, newest first."""
    require(ctx.user(request), *RESEARCHERS)
    root = ctx.settings.exports_dir
    if not root.is_dir():
        return []
    rows = []
    for folder in sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    ):
        files = [f for f in folder.rglob("*") if f.is_file()]
        rows.append([folder.name, str(len(files)), str(sum(f.stat().st_size for f in files))])
    return rows


def build_zip(ctx: AppContext, user: UserInfo, form: ExportForm, progress: Any) -> str:
    """Build the export the form asks for and offer it to ``user``; the result panel's HTML.

    Errors of the export layer (an empty selection, an unknown reviewer...) come back as a
    message, with nothing offered.
    """
    require(user, *RESEARCHERS)
    root = export_root(ctx)
    root.mkdir(parents=True, exist_ok=True)
    # A folder per build: zips are named by snapshot, and two users may build the same one.
    folder = Path(tempfile.mkdtemp(prefix="build-", dir=root))
    try:
        progress(0, desc="Reading the selection")
        request = form.request()
        zipped = exporting.export_to_zip(
            request,
            session_factory=ctx.factory,
            key=ctx.settings.key_bytes(),
            image_root=ctx.settings.image_dir,
            zip_dir=folder,
            command=request.command(note=PAGE),
            progress=GradioProgress(progress),
        )
    except ChestXError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return notice(str(exc), "error")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    token = ctx.downloads.offer(
        user=user,
        path=zipped.path,
        filename=zipped.path.name,
        media_type="application/zip",
        roles=RESEARCHERS,
        ttl_s=ZIP_TTL_S,
        once=True,
        remove=folder,
    )
    return result_html(
        zipped.result,
        href=downloads.url(token),
        filename=zipped.path.name,
        size=zipped.path.stat().st_size,
        minutes=int(ZIP_TTL_S // 60),
    )


def _form() -> dict[str, gr.components.Component]:
    """The form's components by :class:`ExportForm` field name, created in page order."""
    f: dict[str, gr.components.Component] = {}
    with gr.Row():
        f["kind"] = gr.Radio(list(KINDS), value=ExportForm.kind, label="Kind", elem_id="cx-export-kind")
        f["fmt"] = gr.Radio(list(FORMATS), value=ExportForm.fmt, label="Format", elem_id="cx-export-format")
        f["images"] = gr.Radio(
            list(IMAGE_CHOICES), value=ExportForm.images, label="Images", elem_id="cx-export-images"
        )
        f["policy"] = gr.Radio(
            list(POLICIES), value=ExportForm.policy, label="Several reviewers", elem_id="cx-export-policy"
        )
    with gr.Row():
        f["date_from"] = gr.Textbox(label="Reviewed from (YYYY-MM-DD, UTC)", elem_id="cx-export-from")
        f["date_to"] = gr.Textbox(label="Reviewed to (inclusive)", elem_id="cx-export-to")
        f["min_reviews"] = gr.Textbox(
            label="Minimum reviews", placeholder="default: 1 (records: 0)", elem_id="cx-export-min"
        )
        f["seed"] = gr.Number(0, label="Split seed (keep fixed)", precision=0, elem_id="cx-export-seed")
    with gr.Row():
        f["task_types"] = gr.CheckboxGroup(
            list(TASK_TYPES), label="Task types (none: all)", elem_id="cx-export-tasks"
        )
        f["model_versions"] = gr.Dropdown(
            [], multiselect=True, label="Model versions (none: all)", elem_id="cx-export-models"
        )
        f["reviewers"] = gr.Dropdown(
            [], multiselect=True, label="Reviewers (none: all)", elem_id="cx-export-reviewers"
        )
    with gr.Row():
        f["only_agreed"] = gr.Checkbox(label="Only chains all reviewers agree on", elem_id="cx-export-agreed")
        f["include_demo"] = gr.Checkbox(label="Include demo cases", elem_id="cx-export-demo")
    return f


def _filter_choices(ctx: AppContext) -> tuple[list[str], list[str]]:
    """Model version names that produced chains; usernames of reviewers and admins."""
    with ctx.read() as session:
        models = [name for name, _id in screens.model_version_choices(session=session)]
        people = [
            u.username for u in store.list_users(session=session) if u.role in (Role.reviewer, Role.admin)
        ]
    return models, people


def _on_build(ctx: AppContext, form: dict[str, gr.components.Component]) -> Callable[..., str]:
    """The Build button's handler: the form's values arrive as one dict keyed by component."""
    names = {component: name for name, component in form.items()}

    def on_build(values: dict, request: gr.Request, progress=gr.Progress()) -> str:  # noqa: ANN001, B008
        user = require(ctx.user(request), *RESEARCHERS)
        try:
            chosen = ExportForm.parse({names[c]: v for c, v in values.items() if c in names})
        except ChestXError as exc:
            return notice(str(exc), "error")
        return build_zip(ctx, user, chosen, progress)

    return guarded(on_build)


def build_export_page(ctx: AppContext) -> gr.Blocks:
    """Exports of verified data (SFT, PRM, preference pairs, records) for researchers."""
    with page("Export") as demo:
        nav = gr.HTML()
        gr.HTML(
            '<h2 class="cx-h">Build an export</h2><p class="cx-muted">De-identified datasets of '
            "verified chains: SFT rows, stepwise supervision for a process reward model, preference "
            "pairs, or full records. Patients are split into train / validation / test by the seed "
            "(patients linked by a shared image together: an image is in one split only); the test "
            "split is for evaluation only. See docs/EXPORTS.md.</p>"
        )
        form = _form()
        build = gr.Button("Build export", variant="primary", elem_id="cx-export-build")
        result = gr.HTML(elem_id="cx-export-panel")
        gr.HTML('<h2 class="cx-h">Exports on the server</h2><p class="cx-muted">Made with '
                "<code>chestx export</code> under <code>CHESTX_HOME/exports</code>.</p>")  # fmt: skip
        listing = gr.HTML(elem_id="cx-export-listing")
        refresh = gr.Button("Refresh", size="sm", elem_id="cx-export-refresh")
        rows = gr.JSON(visible=False)

        def exports(request: gr.Request) -> list[list[str]]:
            return list_exports(ctx, request)

        def render(request: gr.Request) -> tuple[str, str]:
            found = list_exports(ctx, request)
            return nav_html(ctx, ctx.user(request), "/export/"), table(
                ["Export", "Files", "Bytes"], found, empty="No export yet."
            )

        def on_load(request: gr.Request) -> tuple[str, str, Any, Any]:
            models, people = _filter_choices(ctx)
            return (*render(request), gr.Dropdown(choices=models), gr.Dropdown(choices=people))

        demo.load(
            guarded(on_load), None, [nav, listing, form["model_versions"], form["reviewers"]], **PRIVATE
        )
        # One build at a time per app: an image export keeps a core busy for minutes.
        build.click(_on_build(ctx, form), set(form.values()), [result], concurrency_limit=1, **PRIVATE)
        refresh.click(guarded(render), None, [nav, listing], **PRIVATE)
        # The page's public API for scripts: role-checked like everything else.
        refresh.click(guarded(exports), None, [rows], api_name="list_exports", api_visibility="public")
    demo.queue(default_concurrency_limit=4)
    return demo
