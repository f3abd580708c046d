"""One loop run: snapshot, SFT, PRM, RL, evaluate, promote or keep.

Contract: :func:`run_loop` is the loop run, executed by the worker (so in its own process): it
exports a snapshot (test split held out), runs each enabled stage as a child run, each in its
own process by default (``isolation: subprocess``; optionally under a ``launcher`` such as
``accelerate launch``; ``inline`` runs them in this process through the worker's
``RunContext.run_inline``), evaluates the candidate and the current version on the held-out test
split, and promotes the candidate only if it wins by ``promote_margin``
(:func:`training.gate.decide`); a PRM trained in the run then re-scores the open chains' steps
and re-orders the worklist (:mod:`training.active_learning.scoring`). A stage that fails fails
the loop run; the current model is left as it was. With nothing to train on (no verified case,
or none in the train split; demo cases count only with ``include_demo``) the run succeeds at
once with the decision "nothing to train on" and its reason. Everything is recorded in
``training_runs`` (the loop run and one child per stage) and ``model_versions``. When a loop
run is due is :mod:`training.loop`'s.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exports import EmptySelection
from review_db.errors import ValidationError
from review_db.models import TrainingRun
from review_db.types import RunKind, RunStatus
from training import registry, runs
from training.active_learning.scoring import prioritize_with_folder
from training.context import RunContext, StageResult
from training.data import read_rows
from training.gate import decide
from training.launch import follow, spawn
from training.loop import LoopConfig
from training.snapshot import Snapshot, snapshot


def _child_config(loop: LoopConfig, stage: str, snap: Snapshot, **extra: Any) -> dict[str, Any]:
    args = {"sft": loop.sft, "prm": loop.prm, "rl": loop.rl, "eval": loop.eval}[stage]
    kind = "prm" if stage == "prm" else "sft"
    config: dict[str, Any] = {
        "args": dict(args),
        "dataset_dir": str(snap.dirs[kind]),
        "snapshot_hash": snap.snapshot_hash,
    }
    if loop.fault and loop.fault.get("stage") == stage:
        config["fault"] = dict(loop.fault)
    return {**config, **extra}


def _run_child(
    ctx: RunContext, loop: LoopConfig, kind: str, config: dict[str, Any], base_id: int | None
) -> TrainingRun:
    """Queue a stage as a child run, execute it (own process or inline), return the finished row."""
    with ctx.transaction() as session:
        child = runs.start_child(
            session=session, parent_run_id=ctx.run_id, kind=kind, config=config, base_model_version_id=base_id
        )
        child_id = child.id
    ctx.report({"stage": kind, "child_run_id": child_id, "step": 0, "total": 0})
    if loop.isolation == "inline":
        if ctx.run_inline is None:
            raise RuntimeError("isolation 'inline' needs a worker that runs child runs in its process")
        ctx.run_inline(child_id)
    else:
        launcher = loop.launcher if kind in ("sft", "rl") else []
        proc = spawn(child_id, worker=ctx.worker, launcher=launcher)
        follow(
            proc,
            factory=ctx.factory,
            run_id=child_id,
            worker=ctx.worker,
            on_update=lambda s: ctx.report(_mirrored(s.get("progress") or {}, kind, child_id)),
        )
    with ctx.transaction() as session:
        child = session.get(TrainingRun, child_id)
        if child.status is not RunStatus.succeeded:
            raise RuntimeError(
                f"the {kind} stage (run {child_id}) {child.status.value}: {(child.error or '')[:2000]}"
            )
        return child


def _mirrored(progress: dict[str, Any], kind: str, child_id: int) -> dict[str, Any]:
    """A stage's progress as its loop shows it: the loss curve stays on the stage's own run, so
    the dashboards do not draw it twice."""
    return {
        **{k: v for k, v in progress.items() if k != "loss_history"},
        "stage": kind,
        "child_run_id": child_id,
    }


def run_loop(ctx: RunContext) -> StageResult:
    """One loop run (see the module docstring). Returns the decision in its metrics."""
    loop = LoopConfig.from_dict(ctx.config.get("loop") or {})
    snap, empty = _snapshot(ctx, loop)
    if empty:  # before the base model is registered: such a run changes no model version
        metrics = {"stages": {}, "decision": "nothing to train on", "decision_reason": empty}
        return StageResult(metrics, None, snap.snapshot_hash if snap else None)
    with ctx.transaction() as session:
        if loop.base_model is None and registry.current_version(session=session) is None:
            raise ValidationError("no current model version and no base_model in the loop config")
        current = registry.ensure_current(session=session, base_model=loop.base_model or "")
        current_id, candidate_id = current.id, None
    stages: dict[str, Any] = {}
    if loop.stages.get("sft"):
        child = _run_child(
            ctx, loop, "sft", _child_config(loop, "sft", snap, parent_version_id=current_id), current_id
        )
        candidate_id = child.metrics["model_version_id"]
        stages["sft"] = child.id
    prm_path, skipped = None, {}
    if loop.stages.get("prm") and (why := _prm_unlearnable(snap)):
        skipped["prm"] = why  # a data condition, not a failure: RL falls back to the last PRM
    elif loop.stages.get("prm"):
        child = _run_child(ctx, loop, "prm", _child_config(loop, "prm", snap, prm_kind=loop.prm_kind), None)
        prm_path, stages["prm"] = child.checkpoint, child.id
    if loop.stages.get("rl"):
        start = candidate_id or current_id
        config = _child_config(loop, "rl", snap, parent_version_id=start, prm_path=prm_path or _last_prm(ctx))
        child = _run_child(ctx, loop, "rl", config, start)
        candidate_id, stages["rl"] = child.metrics["model_version_id"], child.id
    if candidate_id is None:
        metrics = {"stages": stages, "skipped": skipped, "decision": "no model stage enabled"}
        metrics["prioritized"] = _prioritize(ctx, prm_path, stages.get("prm"))
        return StageResult(metrics, None, snap.snapshot_hash)
    result = _gate(ctx, loop, snap, stages, candidate_id, current_id)
    result.metrics["skipped"] = skipped
    result.metrics["prioritized"] = _prioritize(ctx, prm_path, stages.get("prm"))
    return result


def _prioritize(ctx: RunContext, prm_path: str | None, prm_run_id: int | None) -> dict[str, Any]:
    """The new PRM scores the open chains' steps and the worklist is re-ordered (issue 17,
    docs/ACTIVE_LEARNING.md). A failure is recorded in the metrics, never fails the run: its models
    are trained and decided already."""
    if not prm_path:
        return {"skipped": "no PRM trained in this run"}
    ctx.report({"stage": "prioritize"})
    try:
        done = prioritize_with_folder(
            factory=ctx.factory, prm_path=prm_path, prm=f"PRM run {prm_run_id}", actor=ctx.actor
        )
    except Exception as exc:  # noqa: BLE001 - recorded; the loop's outcome stands
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}
    return done.as_dict()


def _snapshot(ctx: RunContext, loop: LoopConfig) -> tuple[Snapshot | None, str | None]:
    """(the loop's data snapshot or None, why there is nothing to train on or None); the
    snapshot's figures are stored on the run."""
    ctx.report({"stage": "snapshot"})
    try:
        snap = snapshot(
            session_factory=ctx.factory,
            key=ctx.worker.pseudonym_key,
            image_root=ctx.worker.image_dir,
            out_dir=ctx.out_dir / "data",
            kinds=("sft", "prm"),
            split_seed=loop.split_seed,
            validation_share=loop.validation_share,
            test_share=loop.test_share,
            include_demo=loop.include_demo,
        )
    except EmptySelection:
        demo = "" if loop.include_demo else " (demo cases are left out unless include_demo: true)"
        return None, f"no verified case to train on{demo}"
    with ctx.transaction() as session:
        runs.set_fields(
            session=session,
            run_id=ctx.run_id,
            snapshot_hash=snap.snapshot_hash,
            metrics={"snapshot": snap.as_dict()},
        )
    rows = snap.rows.get("sft", {})
    if not rows.get("train") and any(loop.stages.get(s) for s in ("sft", "prm", "rl")):
        held = sum(rows.values())
        return snap, f"the train split is empty: all {held} verified chains are held out for evaluation"
    return snap, None


def _prm_unlearnable(snap: Snapshot) -> str | None:
    """Why the PRM cannot learn from the snapshot's train split (it needs accepted and rejected
    steps), or None."""
    rows = read_rows(snap.dirs["prm"], "train", purpose="training")
    labels = {bool(label) for row in rows for label in row.get("labels", ())}
    if len(labels) == 2:
        return None
    has = "only correct steps" if labels == {True} else "only wrong steps" if labels else "no steps"
    return f"the PRM needs correct and wrong steps to learn from; the train split has {has}"


def _last_prm(ctx: RunContext) -> str | None:
    with ctx.transaction() as session:
        return session.scalar(
            select(TrainingRun.checkpoint)
            .where(TrainingRun.kind == RunKind.prm, TrainingRun.status == RunStatus.succeeded)
            .order_by(TrainingRun.id.desc())
            .limit(1)
        )


def _gate(
    ctx: RunContext,
    loop: LoopConfig,
    snap: Snapshot,
    stages: dict[str, Any],
    candidate_id: int,
    current_id: int,
) -> StageResult:
    """Evaluate the candidate and the current version as a child run, then promote or reject."""
    config = _child_config(loop, "eval", snap, version_ids=[candidate_id, current_id])
    child = _run_child(ctx, loop, "eval", config, candidate_id)
    results = child.metrics["results"]
    decision = decide(
        results[str(candidate_id)],
        results[str(current_id)],
        metric=loop.promote_metric,
        margin=loop.promote_margin,
    )
    stages["eval"] = child.id

    def finalize(session: Session) -> dict[str, Any]:
        note = f"loop run {ctx.run_id}: {decision.reason}"
        if decision.promote:
            registry.promote(session=session, version_id=candidate_id, note=note)
        else:
            registry.reject(session=session, version_id=candidate_id, note=note)
        return {}

    metrics = {
        "stages": stages,
        "candidate_version_id": candidate_id,
        "current_version_id": current_id,
        "decision": "promoted" if decision.promote else "kept",
        "decision_reason": decision.reason,
        "metric": decision.metric,
        "candidate_value": decision.candidate,
        "current_value": decision.current,
        "margin": decision.margin,
    }
    return StageResult(metrics, None, snap.snapshot_hash, finalize)
