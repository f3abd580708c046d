"""The two passes over the database: rows (sft, prm, pairs) and records.

Contract: each pass reads the selection through one read-only session, writes its files through
:class:`~exports.writers.Files`, and returns a :class:`Part`: rows per split or table,
what was left out and why, agreement, sources and reviewers, for the manifest and the card.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exports.consolidate import Agreement, consolidate
from exports.formats import Sink
from exports.groups import SplitGroups, load_split_groups
from exports.ids import SPLITS
from exports.kinds import KINDS
from exports.loading import Candidate, iter_reviewed_chains
from exports.placement import ImagePlacer
from exports.plan import Plan
from exports.records import RecordsContext, write_records
from exports.schemas import arrow_schema
from exports.source import Resolved, count_selected, selected_chain_ids
from exports.writers import Files
from reasoner.prompts import Task, build_prompt
from review_db.models import Chain, ModelVersion


@dataclass
class Part:
    """What a pass wrote and saw."""

    rows: dict[str, int]
    skipped: dict[str, int] = field(default_factory=dict)
    split_files: dict[str, list[str]] = field(default_factory=dict)  # row kinds
    split_cases: dict[str, int] = field(default_factory=dict)  # records: cases per split
    tables: dict[str, str] | None = None  # records: table -> file
    linked_units: int = 0  # patients (or lone cases) that share a split through an image
    agreement: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, dict[str, int]] = field(default_factory=dict)
    reviewers: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.rows.get("chains", 0) if self.tables is not None else not sum(self.rows.values())


def _prompt_of(task_type: str, question: str, options: tuple[str, ...]) -> str:
    return build_prompt(Task(task_type, question, options))


def export_rows(
    session: Session, resolved: Resolved, files: Files, plan: Plan, placer: ImagePlacer, progress
) -> Part:  # noqa: ANN001
    """Consolidate, split and write the selected chains as ``plan.kind`` rows, page by page."""
    progress.start(count_selected(session, resolved), "chains")
    layout = placer.layout

    def schema() -> Any:  # asked for only by formats with typed columns (it imports datasets)
        return arrow_schema(plan.kind.value, placer.mode)

    sinks: dict[str, Sink] = {}
    agreement, skipped = Agreement(), Counter()
    splits = load_split_groups(session, plan.splits)
    models, tasks, reviewers = Counter(), Counter(), Counter()
    pages = iter_reviewed_chains(
        session, resolved, key=plan.key, prompt_of=_prompt_of, batch_size=plan.batch_size
    )
    for page in pages:
        by_split: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for cand in page:
            made = _rows_of(cand, plan, splits, placer, agreement, only_agreed=resolved.filters.only_agreed)
            if isinstance(made, str):
                skipped[made] += 1
                continue
            by_split[made[0]].extend(made[1])
            models[cand.chain.meta.get("model_version") or "(none)"] += 1
            tasks[cand.chain.task_type] += 1
            reviewers.update(r.reviewer for r in cand.chain.reviews)
        for split, rows in by_split.items():
            if split not in sinks:
                path = layout.rows_path(split)
                sinks[split] = plan.format.open(files, path, schema=schema, rename=layout.rename())
            sinks[split].write([placer.embed(row) for row in rows] if layout.embed else rows)
        placer.end_page()
        progress.update(len(page))
    for sink in sinks.values():
        sink.close()
    return Part(
        rows={s: sinks[s].rows if s in sinks else 0 for s in SPLITS},
        skipped=dict(skipped),
        split_files={s: [layout.rows_path(s)] if s in sinks else [] for s in SPLITS},
        agreement=agreement.as_dict(),
        sources={"model_versions": dict(models), "task_types": dict(tasks)},
        reviewers={"count": len(reviewers), "reviews": dict(reviewers)},
        linked_units=splits.linked(),
    )


def _rows_of(
    cand: Candidate,
    plan: Plan,
    splits: SplitGroups,
    placer: ImagePlacer,
    agreement: Agreement,
    *,
    only_agreed: bool,
) -> tuple[str, list[dict[str, Any]]] | str:
    """(split, rows) for one candidate chain, or the reason it gives none."""
    outcome = consolidate(cand.chain, plan.policy)
    agreement.add(cand.chain, outcome)
    if outcome.chain is None:
        return outcome.reason.split(" on step")[0] if outcome.reason else "undecided"
    if only_agreed and not outcome.unanimous:
        return "reviewers disagree (--only-agreed)"
    chain = outcome.chain
    split = splits.assign(cand.group)
    spec = KINDS[plan.kind]
    with_images = placer.mode != "none" and spec.images_in_rows
    if with_images:
        refs = placer.place(cand.studies, split) if cand.studies else None
        if refs is None:
            return "image file missing" if cand.studies else "no image"
        chain = replace(chain, images=refs)
    rows = spec.rows(chain, with_images=with_images, system_prompt=plan.system_prompt)
    return rows if isinstance(rows, str) else (split, rows)


def export_records(
    session: Session, resolved: Resolved, files: Files, plan: Plan, placer: ImagePlacer, progress
) -> Part:  # noqa: ANN001
    """Write every records table of the selection."""
    split_counts: Counter = Counter()
    splits = load_split_groups(session, plan.splits)
    ctx = RecordsContext(
        key=plan.key, splits=splits, image_path=placer.record_image,
        include_reports=plan.include_reports, split_counts=split_counts,
    )  # fmt: skip
    progress.start(None, "steps")
    rows = write_records(session, resolved, files, layout=placer.layout, ctx=ctx, progress=progress.update)
    chosen = selected_chain_ids(resolved).subquery()
    by_model = session.execute(
        select(func.coalesce(ModelVersion.name, "(none)"), Chain.source, func.count())
        .select_from(Chain)
        .join(chosen, chosen.c.id == Chain.id)
        .outerjoin(ModelVersion, ModelVersion.id == Chain.model_version_id)
        .group_by(ModelVersion.name, Chain.source)
    ).all()
    models, chain_sources = Counter(), Counter()
    for name, source, n in by_model:
        models[name] += n
        chain_sources[source.value] += n
    return Part(
        rows=rows,
        tables={t: placer.layout.table_path(t) for t in rows},
        split_cases=dict(split_counts),
        sources={"model_versions": dict(models), "chain_sources": dict(chain_sources)},
        reviewers={"count": rows.get("reviewers", 0)},
        linked_units=splits.linked(),
    )
