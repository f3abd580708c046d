"""The admin page's training section: what :func:`services.training.overview` says, and its buttons.

Contract: :func:`panel_html` turns the overview (plain dicts) into escaped HTML: the active job
with its stages and progress (step / total, loss, ETA), recent runs (each failed or cancelled one
with its log in a closed ``<details>``), and model versions with their status and held-out
metrics. :func:`run_loop` and :func:`cancel_job` are the buttons: admins only; they call the
same use cases as ``chestx loop`` (:mod:`services.training`). "Run loop now" is
:func:`services.training.request_loop` with ``force`` and the app's loop config (default
:data:`DEFAULT_LOOP_CONFIG`), which records the job and starts a detached worker process: this
process never trains. Errors (a job already running, none to cancel, a bad config) are
:class:`~review_db.errors.ChestXError` messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chestx.compose import worker_config
from chestx.web.auth import UserInfo, require
from chestx.web.context import AppContext
from chestx.web.html import esc, table
from services import training as jobs
from training.loop import SHIPPED_CONFIG

DEFAULT_LOOP_CONFIG = SHIPPED_CONFIG


def loop_config_path(ctx: AppContext) -> Path:
    return ctx.loop_config or DEFAULT_LOOP_CONFIG


def overview(ctx: AppContext) -> dict[str, Any]:
    with ctx.read() as session:
        return jobs.overview(session=session, limit=15)


def run_loop(ctx: AppContext, user: UserInfo | None) -> str:
    """Start a loop run now (whatever the trigger says); the message to show."""
    admin = require(user)  # no roles named: admins only
    path = loop_config_path(ctx)
    request = jobs.request_loop(
        factory=ctx.factory,
        worker=worker_config(ctx.settings),
        config=jobs.load_loop_config(path),
        created_by=f"user:{admin.id}",
        force=True,
        detach=True,
    )
    return f"Loop run {request.job.run_id} started ({request.reason}) with {path.name}."


def cancel_job(ctx: AppContext, user: UserInfo | None) -> str:
    """Cancel the active training job; the message to show."""
    admin = require(user)
    run_id = jobs.cancel(factory=ctx.factory, actor=f"user:{admin.id}")
    return f"Run {run_id} cancelled."


def _when(value: str | None) -> str:
    if not value:
        return ""
    try:
        return f"{dt.datetime.fromisoformat(value):%Y-%m-%d %H:%M}"
    except ValueError:
        return value


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or seconds < 0:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _num(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) and not isinstance(value, bool) else ""


def progress_line(progress: Mapping[str, Any]) -> str:
    """'sft · step 30 / 120 · loss 0.523 · ETA 4 min 10 s' (parts that are known)."""
    parts = [str(progress["stage"])] if progress.get("stage") else []
    if progress.get("step") is not None:
        total = progress.get("total")
        parts.append(f"step {progress['step']}" + (f" / {total}" if total else ""))
    if _num(progress.get("loss")):
        parts.append(f"loss {_num(progress['loss'])}")
    if _duration(progress.get("eta_s")):
        parts.append(f"ETA {_duration(progress['eta_s'])}")
    return " · ".join(parts) or "waiting for the worker's first report"


def _bar(progress: Mapping[str, Any]) -> str:
    step, total = progress.get("step"), progress.get("total")
    if isinstance(step, int | float) and isinstance(total, int | float) and total > 0:
        return f'<progress max="{total:g}" value="{min(step, total):g}"></progress>'
    return "<progress></progress>"  # indeterminate


def active_html(active: Mapping[str, Any] | None) -> str:
    """The active job, its progress and its stages; a plain line when none runs."""
    if active is None:
        return '<p class="cx-muted" id="cx-train-idle">No training job is running.</p>'
    progress = active.get("progress") or {}
    since = _when(active.get("started_at") or active.get("created_at"))
    stages = [
        (s["id"], s["kind"], s["status"], progress_line(s.get("progress") or {}), _when(s.get("started_at")))
        for s in active.get("stages", ())
    ]
    return (
        f'<div class="cx-train-active" id="cx-train-active" data-run="{esc(active["id"])}">'
        f"<p><b>Run {esc(active['id'])}</b> · {esc(active['kind'])} · {esc(active['status'])}"
        f"{' since ' + esc(since) + ' UTC' if since else ''}</p>"
        f'<div class="cx-train-progress">{_bar(progress)} <span>{esc(progress_line(progress))}</span></div>'
        + table(
            ["Stage run", "Stage", "Status", "Progress", "Started"], stages, empty="No stage started yet."
        )
        + "</div>"
    )


def _outcome(run: Mapping[str, Any]) -> str:
    metrics = run.get("metrics") or {}
    for key in ("decision_reason", "decision", "model_version", "auroc"):
        if metrics.get(key) not in (None, ""):
            value = metrics[key]
            return f"{key.replace('_', ' ')}: {_num(value) or value}"
    return (run.get("error") or "").splitlines()[0][:120] if run.get("error") else ""


def logs_html(runs: Sequence[Mapping[str, Any]]) -> str:
    """A closed <details> per failed or cancelled run with the end of its log (or its error)."""
    parts = [
        f'<details class="cx-run-log" id="cx-run-log-{esc(r["id"])}"><summary>Log of run {esc(r["id"])} '
        f"({esc(r['kind'])}, {esc(r['status'])})</summary>"
        f'<pre style="max-height:24rem;overflow:auto;white-space:pre-wrap">{esc(r["log"])}</pre></details>'
        for r in runs
        if r.get("log")
    ]
    return "".join(parts)


def runs_html(runs: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        (
            r["id"], r["kind"], r["status"], r.get("parent_run_id") or "", _when(r.get("created_at")),
            _when(r.get("finished_at")), _outcome(r),
        )
        for r in runs
    ]  # fmt: skip
    return table(
        ["Run", "Kind", "Status", "Part of", "Created", "Finished", "Outcome"],
        rows,
        empty="No training run yet.",
    ) + logs_html(runs)


def _radrscore(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("mean", value.get("overall"))
    return _num(value)


def versions_html(versions: Sequence[Mapping[str, Any]]) -> str:
    names = {v["id"]: v["name"] for v in versions}
    rows = []
    for v in versions:
        ev = v.get("eval") or {}
        rows.append(
            (
                v["name"], v["status"], names.get(v.get("parent_id"), v.get("parent_id") or ""),
                v.get("training_run_id") or "", _when(v.get("promoted_at")), _num(ev.get("accuracy")),
                _radrscore(ev.get("radrscore")), _num(ev.get("nll")), ev.get("n_cases", ""),
            )
        )  # fmt: skip
    return table(
        ["Version", "Status", "Parent", "Run", "Promoted", "Accuracy", "RadRScore", "NLL", "Held-out cases"],
        rows,
        empty="No model version registered yet.",
    )


def panel_html(data: Mapping[str, Any]) -> tuple[str, str, str]:
    """(active job, recent runs, model versions) as HTML."""
    return (
        active_html(data.get("active")),
        runs_html(data.get("runs", ())),
        versions_html(data.get("versions", ())),
    )
