"""The stages a worker runs: SFT, PRM, RL and evaluation, glued to the database.

Contract: each stage takes a :class:`~training.context.RunContext` and returns a
:class:`~training.context.StageResult`. A stage reads its arguments from the run config
(``{"args": {...}}``, the entry point's YAML keys), fills in what the run knows (the data, the
output folder, the model to start from), calls the entry point's ``main`` and, for a model,
registers the adapter as a candidate version whose parent is the model it started from, in the
transaction that marks the run succeeded. :data:`STAGES` maps a run kind to its stage.

Where the data comes from: ``config["dataset_dir"]`` (the loop's snapshot, or a given export),
else a fresh export of the verified data into the run's folder. Rows are given their case's report
from the database (PRM context; never written to an export).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_db.models import Case
from training import registry
from training.arguments import parse_config
from training.context import RunContext, Stage, StageResult
from training.data import attach_reports, prm_splits, read_rows
from training.entry_points import PRM_KINDS, entry_point
from training.evaluate import EvalConfig, evaluate_version
from training.snapshot import snapshot


def _dataset_dir(ctx: RunContext, kind: str) -> Path:
    given = ctx.config.get("dataset_dir") or (ctx.config.get("args") or {}).get("dataset_dir")
    if given:
        return Path(given)
    loop = ctx.config.get("snapshot") or {}
    snap = snapshot(
        session_factory=ctx.factory,
        key=ctx.worker.pseudonym_key,
        image_root=ctx.worker.image_dir,
        out_dir=ctx.out_dir / "data",
        kinds=(kind,),
        split_seed=loop.get("split_seed", 0),
        validation_share=loop.get("validation_share", 0.1),
        test_share=loop.get("test_share", 0.2),
    )
    ctx.extra["snapshot_hash"] = snap.snapshot_hash
    return snap.dirs[kind]


def reports_for(*, session: Session, case_ids: Iterable[int]) -> dict[int, str | None]:
    """The report text of each case (None where the case has none)."""
    ids = sorted({int(c) for c in case_ids})
    if not ids:
        return {}
    return dict(session.execute(select(Case.id, Case.report).where(Case.id.in_(ids))).all())


def _with_reports(ctx: RunContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with ctx.transaction() as session:
        reports = reports_for(
            session=session, case_ids=[r["case_id"] for r in rows if r.get("case_id") is not None]
        )
    return attach_reports(rows, reports)


def _start_model(ctx: RunContext, args: dict[str, Any]) -> int | None:
    """Fill model_name_or_path / adapter_path from the version the run starts from; return its id."""
    with ctx.transaction() as session:
        ref = ctx.config.get("parent_version_id") or ctx.base_model_version_id
        version = (
            registry.resolve_version(session=session, ref=ref)
            if ref
            else registry.current_version(session=session)
        )
        if version is None:
            if not args.get("model_name_or_path"):
                raise ValueError("no model to start from: set model_name_or_path, or run the loop once")
            return None
        args.setdefault("model_name_or_path", version.base_model)
        if version.adapter_path and "adapter_path" not in args:
            args["adapter_path"] = version.adapter_path  # continue the current adapter
        return version.id


def _register(ctx: RunContext, kind: str, metrics: dict[str, Any], parent_id: int | None):
    def finalize(session: Session) -> dict[str, Any]:
        version = registry.register_version(
            session=session,
            name=f"{kind}-run{ctx.run_id}",
            base_model=metrics["base_model"],
            adapter_path=metrics["adapter_dir"],
            parent_id=parent_id,
            training_run_id=ctx.run_id,
            metrics={"train": {k: v for k, v in metrics.items() if isinstance(v, int | float) or v is None}},
            notes=f"{kind.upper()} LoRA adapter trained by run {ctx.run_id}",
        )
        return {"model_version_id": version.id, "model_version": version.name}

    return finalize


def run_sft(ctx: RunContext) -> StageResult:
    sft = entry_point("sft")
    args = dict(ctx.config.get("args") or {})
    args["dataset_dir"] = str(_dataset_dir(ctx, "sft"))
    args.setdefault("output_dir", str(ctx.out_dir / "sft"))
    # Shared by all runs: a new snapshot of the same verified cases finds its rows processed already.
    args.setdefault("data_cache_dir", str(Path(ctx.worker.cache_dir) / "sft-rows"))
    parent_id = _start_model(ctx, args)
    metrics = sft.main(*parse_config(sft.make_parser(), args), callbacks=ctx.callbacks("sft"))
    return StageResult(
        metrics,
        metrics["adapter_dir"],
        ctx.extra.get("snapshot_hash"),
        _register(ctx, "sft", metrics, parent_id),
    )


def run_rl(ctx: RunContext) -> StageResult:
    grpo = entry_point("rl")
    args = dict(ctx.config.get("args") or {})
    dataset_dir = _dataset_dir(ctx, "sft")
    args["dataset_dir"] = str(dataset_dir)
    args.setdefault("output_dir", str(ctx.out_dir / "rl"))
    if ctx.config.get("prm_path"):
        args["prm_path"] = ctx.config["prm_path"]
    parent_id = _start_model(ctx, args)
    data_args, training_args, model_args = parse_config(grpo.make_parser(), args)
    rows = _with_reports(ctx, read_rows(dataset_dir, data_args.train_split, purpose="training"))
    metrics = grpo.main(data_args, training_args, model_args, callbacks=ctx.callbacks("rl"), rows=rows)
    return StageResult(
        metrics,
        metrics["adapter_dir"],
        ctx.extra.get("snapshot_hash"),
        _register(ctx, "rl", metrics, parent_id),
    )


def run_prm(ctx: RunContext) -> StageResult:
    """Train the PRM of ``config["prm_kind"]`` ("text" or "trl") on step verdicts; AUROC held out."""
    kind = ctx.config.get("prm_kind", "text")
    if kind not in PRM_KINDS:
        raise ValueError(f"unknown PRM kind {kind!r}; 'text' or 'trl'")
    entry = entry_point(f"prm:{kind}")
    args = dict(ctx.config.get("args") or {})
    dataset_dir = _dataset_dir(ctx, "prm")
    args["dataset_dir"] = str(dataset_dir)
    args.setdefault("output_dir", str(ctx.out_dir / "prm"))
    parsed = parse_config(entry.make_parser(), args)
    data_args = parsed[0]
    splits = prm_splits(dataset_dir, train_split=data_args.train_split, eval_split=data_args.eval_split)
    splits = {k: _with_reports(ctx, v) for k, v in splits.items()}
    metrics = entry.main(*parsed, callbacks=ctx.callbacks("prm"), rows=splits)
    return StageResult(metrics, metrics["prm_dir"], ctx.extra.get("snapshot_hash"))


def run_eval(ctx: RunContext) -> StageResult:
    """Evaluate model versions on the test split of an SFT export; store the results on each."""
    config = EvalConfig(**(ctx.config.get("args") or {}))
    dataset_dir = _dataset_dir(ctx, "sft")
    rows = _with_reports(ctx, read_rows(dataset_dir, "test", purpose="evaluation"))
    ids = [int(v) for v in ctx.config["version_ids"]]
    with ctx.transaction() as session:
        versions = {v: registry.resolve_version(session=session, ref=v) for v in ids}
        specs = {v: (m.name, m.base_model, m.adapter_path) for v, m in versions.items()}
    results = {}
    for i, (vid, (name, base, adapter)) in enumerate(specs.items()):
        ctx.report({"stage": f"eval {name}", "step": i, "total": len(specs)})
        results[str(vid)] = {
            "name": name,
            **evaluate_version(base_model=base, adapter_path=adapter, rows=rows, config=config),
        }
    snapshot_hash = ctx.config.get("snapshot_hash") or ctx.extra.get("snapshot_hash")
    metrics = {"results": results, "n_cases": len(rows)}
    return StageResult(metrics, None, snapshot_hash, _store_evals(ctx, results, snapshot_hash))


def _store_evals(ctx: RunContext, results: Mapping[str, Any], snapshot_hash: str | None):
    """The finalizer of an evaluation: each version's result, and a bounded history of them."""

    def finalize(session: Session) -> dict[str, Any]:
        for vid, result in results.items():
            version = registry.resolve_version(session=session, ref=int(vid))
            history = list((version.metrics or {}).get("evals", []))[-19:]
            history.append({"run_id": ctx.run_id, "snapshot_hash": snapshot_hash, **result})
            registry.add_metrics(
                session=session, version_id=version.id, metrics={"evals": history, "eval": result}
            )
        return {}

    return finalize


STAGES: dict[str, Stage] = {"sft": run_sft, "prm": run_prm, "rl": run_rl, "eval": run_eval}
