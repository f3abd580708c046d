"""The admin page's training section without a browser: the HTML of the overview, and the buttons
on a real database (SQLite and PostgreSQL) with jobs recorded through ``training.runs``."""

from __future__ import annotations

import pytest

from chestx.web.admin import training_panel
from chestx.web.auth import LoginResolver, UserInfo
from chestx.web.context import AppContext
from imaging import RenderCache
from review_db.engine import session_scope
from review_db.errors import AlreadyRunning, NotFound, PermissionDenied, ValidationError
from review_db.models import TrainingRun
from review_db.types import Role, RunStatus

ADMIN = UserInfo(1, "root", Role.admin)


def test_progress_line_and_bar_show_what_is_known() -> None:
    p = {"stage": "sft", "step": 30, "total": 120, "loss": 0.52345, "eta_s": 250}
    assert training_panel.progress_line(p) == "sft · step 30 / 120 · loss 0.523 · ETA 4 min 10 s"
    assert training_panel.progress_line({"step": 3, "eta_s": 7300}) == "step 3 · ETA 2 h 01 min"
    assert training_panel.progress_line({}) == "waiting for the worker's first report"
    active = {
        "id": 7,
        "kind": "loop",
        "status": "running",
        "progress": p,
        "started_at": "2026-11-23T10:00:00+00:00",
        "stages": [{"id": 8, "kind": "sft", "status": "running", "progress": p, "started_at": None}],
    }
    html = training_panel.active_html(active)
    assert '<progress max="120" value="30">' in html and "Run 7" in html and "2026-11-23 10:00 UTC" in html
    assert "<td>8</td><td>sft</td><td>running</td>" in html
    assert training_panel.active_html(None).startswith('<p class="cx-muted" id="cx-train-idle">')


def test_runs_and_versions_tables_escape_and_read_eval_metrics() -> None:
    runs = [
        {"id": 3, "kind": "loop", "status": "succeeded", "metrics": {"decision_reason": "<b>better</b>"}},
        {"id": 2, "kind": "sft", "status": "failed", "metrics": {}, "error": "Boom <script>\ntrace"},
    ]
    html = training_panel.runs_html(runs)
    assert (
        "decision reason: &lt;b&gt;better" in html and "Boom &lt;script&gt;" in html and "trace" not in html
    )
    versions = [
        {"id": 2, "name": "v1", "status": "promoted", "parent_id": 1, "eval": {
            "accuracy": 0.75, "radrscore": {"mean": 0.5}, "nll": 1.25, "n_cases": 40}},
        {"id": 1, "name": "base", "status": "retired", "parent_id": None, "eval": {"radrscore": 0.4}},
    ]  # fmt: skip
    html = training_panel.versions_html(versions)
    assert "<td>v1</td><td>promoted</td><td>base</td>" in html  # parent by name
    assert "0.750" in html and "0.500" in html and "1.250" in html and "<td>40</td>" in html
    assert "0.400" in html


@pytest.fixture
def ctx(db, tmp_path) -> AppContext:  # noqa: ANN001
    from chestx.settings import Settings

    settings = Settings(home=tmp_path / "home", database_url=db.url, pseudonym_key="test-key-0123456789")
    return AppContext(
        settings=settings, factory=db.factory, resolver=LoginResolver(db.factory), render_cache=RenderCache(2)
    )


def test_buttons_are_for_admins_and_one_job_at_a_time(ctx: AppContext, tmp_path) -> None:  # noqa: ANN001
    from training import runs

    with pytest.raises(PermissionDenied):
        training_panel.cancel_job(ctx, UserInfo(2, "res", Role.researcher))
    with pytest.raises(PermissionDenied):
        training_panel.run_loop(ctx, UserInfo(2, "res", Role.researcher))
    with pytest.raises(NotFound, match="no training job"):
        training_panel.cancel_job(ctx, ADMIN)
    with session_scope(ctx.factory, actor="test") as s:
        job = runs.start_job(session=s, kind="sft", config={}, created_by="test")
    assert training_panel.overview(ctx)["active"]["id"] == job.id
    with pytest.raises(AlreadyRunning):  # refused before any worker starts
        training_panel.run_loop(ctx, ADMIN)
    assert training_panel.cancel_job(ctx, ADMIN) == f"Run {job.id} cancelled."
    with ctx.factory() as s:
        assert s.get(TrainingRun, job.id).status is RunStatus.cancelled
    assert training_panel.overview(ctx)["active"] is None


def test_a_missing_loop_config_is_a_message(ctx: AppContext, tmp_path) -> None:  # noqa: ANN001
    ctx.loop_config = tmp_path / "nope.yaml"
    with pytest.raises(ValidationError, match="cannot read the loop config nope.yaml"):
        training_panel.run_loop(ctx, ADMIN)
    ctx.loop_config = None  # the default: the shipped training/configs/loop.yaml
    assert training_panel.loop_config_path(ctx) == training_panel.DEFAULT_LOOP_CONFIG
    assert training_panel.DEFAULT_LOOP_CONFIG.is_file()
