"""Building an export: the one entry point the CLI, the app and the training loop call.

Contract: :func:`build_export` reads the database in one consistent read-only snapshot
(REPEATABLE READ on PostgreSQL, one deferred transaction on SQLite), streams the selected chains
page by page through consolidation, splitting and the row builders, and writes the rows, images,
dataset card and manifest into a temporary folder that is renamed onto ``out_dir`` only when
everything is written. It returns an :class:`ExportResult`; it raises
:class:`~review_db.export.output.EmptySelection` (nothing written) when no row results, and
:class:`~review_db.export.output.OutputExists` for an existing ``out_dir`` without ``overwrite``.

The snapshot hash is a sha256 over the data files' paths and hashes (not the card or manifest,
which carry a time): two exports of the same data with the same options have the same hash.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from review_db.engine import read_session
from review_db.errors import ValidationError
from review_db.export import rows as row_builders
from review_db.export.card import render_card
from review_db.export.consolidate import Agreement, Policy, consolidate
from review_db.export.ids import SPLIT_PURPOSE, SPLITS, SplitSpec
from review_db.export.output import MANIFEST, MANIFEST_MARKER, EmptySelection, atomic_output_dir
from review_db.export.placement import ImagePlacer, Layout
from review_db.export.records import RecordsContext, write_records
from review_db.export.schemas import arrow_schema
from review_db.export.source import (
    Candidate,
    ExportFilter,
    Resolved,
    Watermark,
    count_selected,
    iter_reviewed_chains,
    resolve,
    selection_conditions,
)
from review_db.export.writers import Files, JsonlSink, ParquetSink, open_sink
from review_db.models import Case, Chain, ModelVersion

FORMAT_VERSION = 1


class ExportKind(enum.StrEnum):
    sft = "sft"
    prm = "prm"
    pairs = "pairs"
    records = "records"


class ImageMode(enum.StrEnum):
    png = "png"
    dicom = "dicom"
    none = "none"


DEFAULT_IMAGES = {
    ExportKind.sft: ImageMode.png,
    ExportKind.pairs: ImageMode.png,
    ExportKind.prm: ImageMode.none,
    ExportKind.records: ImageMode.png,
}


class Progress:
    """What :func:`build_export` reports progress to (the CLI wraps tqdm; the default is silent)."""

    def start(self, total: int | None, unit: str) -> None: ...

    def update(self, n: int) -> None: ...


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote. ``rows`` is per split (row kinds) or per table (records)."""

    out_dir: Path
    kind: str
    format: str
    snapshot_hash: str
    rows: dict[str, int]
    skipped: dict[str, int]
    agreement: dict[str, Any]
    watermark: Watermark
    files: tuple[str, ...]
    manifest: dict[str, Any] = field(repr=False)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / MANIFEST

    def split_files(self, split: str) -> list[Path]:
        """Data files of ``split`` (row kinds), absolute."""
        info = self.manifest["splits"]["sizes"].get(split) or {}
        return [self.out_dir / p for p in info.get("files", [])]


def build_export(
    *,
    session_factory: sessionmaker[Session],
    kind: ExportKind | str,
    out_dir: Path,
    key: bytes,
    image_root: Path | None = None,
    fmt: str = "jsonl",
    filters: ExportFilter | None = None,
    split_seed: int = 0,
    validation_share: float = 0.1,
    test_share: float = 0.1,
    policy: Policy | str = Policy.adjudicator,
    images: ImageMode | str | None = None,
    overwrite: bool = False,
    since: Path | Watermark | dict | None = None,
    include_reports: bool = False,
    system_prompt: str | None = None,
    png_max_side: int = 2048,
    command: str | None = None,
    progress: Progress | None = None,
    batch_size: int = 500,
) -> ExportResult:
    """Export ``kind`` rows (sft, prm, pairs) or records into ``out_dir``; see the module docstring.

    ``key`` keys every export pseudonym (patients, studies, reviewers, image names, DICOM UIDs).
    ``image_root`` is where the stored images live (``Settings.image_dir``); needed unless
    ``images`` is "none". ``since`` (an earlier export folder, its manifest, or a watermark)
    makes the export incremental: only chains changed after it. ``split_seed`` and the shares
    decide the patient-level splits; keep them fixed across exports so that test stays test.
    """
    kind = _choice(ExportKind, kind, "export kind")
    policy = _choice(Policy, policy, "policy")
    mode = _choice(ImageMode, images or DEFAULT_IMAGES[kind], "image mode")
    try:
        splits = SplitSpec(seed=split_seed, validation=validation_share, test=test_share)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    if fmt not in ("jsonl", "parquet"):
        raise ValidationError(f"unknown format {fmt!r}; jsonl or parquet")
    if kind is ExportKind.prm and mode is not ImageMode.none:
        raise ValidationError("prm rows are text-only (stepwise supervision); use --images none")
    if mode is not ImageMode.none and image_root is None:
        raise ValidationError("exporting images needs the image folder (image_root)")
    if not key:
        raise ValidationError("the export key must not be empty")
    since_info = load_since(since)
    progress = progress or Progress()
    with atomic_output_dir(Path(out_dir), overwrite=overwrite) as tmp:
        files = Files(tmp)
        with read_session(session_factory) as session:
            if session.get_bind().dialect.name == "postgresql":  # one snapshot for every query
                session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            watermark = Watermark.capture(session)
            resolved = resolve(
                session,
                filters or ExportFilter(),
                records=kind is ExportKind.records,
                since=Watermark.from_dict(since_info["watermark"]) if since_info else None,
            )
            placer = ImagePlacer(
                files,
                root=image_root,
                key=key,
                mode=mode.value,
                max_side=png_max_side,
                layout=Layout(kind.value, fmt, mode.value),
            )
            if kind is ExportKind.records:
                part = _export_records(
                    session,
                    resolved,
                    files,
                    fmt=fmt,
                    key=key,
                    splits=splits,
                    placer=placer,
                    include_reports=include_reports,
                    progress=progress,
                )
            else:
                part = _export_rows(
                    session,
                    resolved,
                    files,
                    kind=kind,
                    fmt=fmt,
                    key=key,
                    splits=splits,
                    policy=policy,
                    placer=placer,
                    system_prompt=system_prompt,
                    progress=progress,
                    batch_size=batch_size,
                )
        if not sum(part["rows"].values()) or (kind is ExportKind.records and not part["rows"].get("chains")):
            raise EmptySelection(_empty_message(part["skipped"], incremental=since_info is not None))
        manifest = _manifest(
            files,
            part,
            kind=kind,
            fmt=fmt,
            mode=mode,
            policy=policy,
            splits=splits,
            filters=resolved.filters,
            watermark=watermark,
            since=since_info,
            command=command,
            placer=placer,
        )
        files.add_bytes("README.md", render_card(manifest).encode())
        manifest["files"] = dict(sorted(files.entries.items()))
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return ExportResult(
        out_dir=Path(out_dir).absolute(),
        kind=kind.value,
        format=fmt,
        snapshot_hash=manifest["snapshot_hash"],
        rows=dict(part["rows"]),
        skipped=dict(part["skipped"]),
        agreement=part.get("agreement") or {},
        watermark=watermark,
        files=tuple(manifest["files"]),
        manifest=manifest,
    )


def _choice(enum_cls: type[enum.StrEnum], value: object, what: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        raise ValidationError(
            f"unknown {what} {value!r}; one of {', '.join(e.value for e in enum_cls)}"
        ) from None


def load_since(since: Path | str | Watermark | dict | None) -> dict[str, Any] | None:
    """``{"snapshot_hash", "watermark"}`` of an earlier export given as a folder, a manifest
    (path or dict) or a bare watermark."""
    if since is None:
        return None
    if isinstance(since, Watermark):
        return {"snapshot_hash": None, "watermark": since.__dict__.copy()}
    if isinstance(since, dict):
        manifest = since
    else:
        path = Path(since)
        path = path / MANIFEST if path.is_dir() else path
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ValidationError(
                f"{since} is not an export folder or manifest (no readable {MANIFEST})"
            ) from None
    if MANIFEST_MARKER not in manifest or "watermark" not in manifest:
        raise ValidationError(f"{since} is not a ChestX Review export manifest")
    return {"snapshot_hash": manifest.get("snapshot_hash"), "watermark": manifest["watermark"]}


def _empty_message(skipped: dict[str, int], *, incremental: bool) -> str:
    why = "; ".join(f"{n} chains: {reason}" for reason, n in sorted(skipped.items()))
    base = "nothing changed since that export" if incremental else "no reviewed chain matches the filters"
    return f"nothing to export: {base}" + (f" ({why})" if why else "") + "; nothing was written"


def _prompt_of(task_type: str, question: str, options: tuple[str, ...]) -> str:
    from reasoner.prompts import Task, build_prompt

    return build_prompt(Task(task_type, question, options))


def _export_rows(
    session: Session,
    resolved: Resolved,
    files: Files,
    *,
    kind: ExportKind,
    fmt: str,
    key: bytes,
    splits: SplitSpec,
    policy: Policy,
    placer: ImagePlacer,
    system_prompt: str | None,
    progress: Progress,
    batch_size: int,
) -> dict[str, Any]:
    progress.start(count_selected(session, resolved), "chains")
    layout = placer.layout
    schema = arrow_schema(kind.value, placer.mode) if fmt == "parquet" else None
    sinks: dict[str, JsonlSink | ParquetSink] = {}
    agreement, skipped = Agreement(), Counter()
    models, sources, reviewers = Counter(), Counter(), Counter()
    for page in iter_reviewed_chains(session, resolved, key=key, prompt_of=_prompt_of, batch_size=batch_size):
        by_split: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for cand in page:
            made = _rows_of(
                cand,
                kind=kind,
                policy=policy,
                splits=splits,
                placer=placer,
                agreement=agreement,
                only_agreed=resolved.filters.only_agreed,
                system_prompt=system_prompt,
            )
            if isinstance(made, str):
                skipped[made] += 1
                continue
            split, rows = made
            by_split[split].extend(rows)
            models[cand.chain.meta.get("model_version") or "(none)"] += 1
            sources[cand.chain.task_type] += 1
            reviewers.update(r.reviewer for r in cand.chain.reviews)
        for split, rows in by_split.items():
            if split not in sinks:
                sinks[split] = open_sink(files, layout.rows_path(split), fmt, schema, **layout.sink_kw())
            sinks[split].write([placer.embed(row) for row in rows] if layout.embed else rows)
        placer.end_page()
        progress.update(len(page))
    for sink in sinks.values():
        sink.close()
    return {
        "rows": {s: sinks[s].rows if s in sinks else 0 for s in SPLITS},
        "split_files": {s: [layout.rows_path(s)] if s in sinks else [] for s in SPLITS},
        "skipped": dict(skipped),
        "agreement": agreement.as_dict(),
        "sources": {"model_versions": dict(models), "task_types": dict(sources)},
        "reviewers": {"count": len(reviewers), "reviews": dict(reviewers)},
    }


def _rows_of(
    cand: Candidate,
    *,
    kind: ExportKind,
    policy: Policy,
    splits: SplitSpec,
    placer: ImagePlacer,
    agreement: Agreement,
    only_agreed: bool,
    system_prompt: str | None,
) -> tuple[str, list[dict[str, Any]]] | str:
    """(split, rows) for one candidate chain, or the reason it gives none."""
    outcome = consolidate(cand.chain, policy)
    agreement.add(cand.chain, outcome)
    if outcome.chain is None:
        return outcome.reason.split(" on step")[0] if outcome.reason else "undecided"
    if only_agreed and not outcome.unanimous:
        return "reviewers disagree (--only-agreed)"
    chain = outcome.chain
    split = splits.assign(cand.group)
    if placer.mode != "none" and kind is not ExportKind.prm:
        if not cand.studies:
            return "no image"
        refs = placer.place(cand.studies, split)
        if refs is None:
            return "image file missing"
        chain = replace(chain, images=refs)
    if kind is ExportKind.sft:
        if not chain.verified_steps:
            return "no verified step"
        rows = [row_builders.sft_row(chain, with_images=placer.mode != "none", system_prompt=system_prompt)]
    elif kind is ExportKind.prm:
        rows = row_builders.prm_rows(chain)
    else:
        pair = row_builders.pair_row(chain, with_images=placer.mode != "none", system_prompt=system_prompt)
        if pair is None:
            return "review changed nothing (no preference)"
        rows = [pair]
    return (split, rows) if rows else "no steps"


def _export_records(
    session: Session,
    resolved: Resolved,
    files: Files,
    *,
    fmt: str,
    key: bytes,
    splits: SplitSpec,
    placer: ImagePlacer,
    include_reports: bool,
    progress: Progress,
) -> dict[str, Any]:
    split_counts: Counter = Counter()
    ctx = RecordsContext(
        key=key,
        splits=splits,
        image_path=placer.record_image,
        include_reports=include_reports,
        split_counts=split_counts,
    )
    progress.start(None, "steps")
    rows = write_records(session, resolved, files, fmt=fmt, ctx=ctx, progress=progress.update)
    base = (
        select(Chain.id)
        .join(Case, Case.id == Chain.case_id)
        .where(*selection_conditions(resolved))
        .subquery()
    )
    by_model = session.execute(
        select(func.coalesce(ModelVersion.name, "(none)"), Chain.source, func.count())
        .select_from(Chain)
        .join(base, base.c.id == Chain.id)
        .outerjoin(ModelVersion, ModelVersion.id == Chain.model_version_id)
        .group_by(ModelVersion.name, Chain.source)
    ).all()
    models, chain_sources = Counter(), Counter()
    for name, source, n in by_model:
        models[name] += n
        chain_sources[source.value] += n
    return {
        "rows": rows,
        "tables": {t: f"records/{t}.{fmt}" for t in rows},
        "split_cases": dict(split_counts),
        "skipped": {},
        "sources": {"model_versions": dict(models), "chain_sources": dict(chain_sources)},
        "reviewers": {"count": rows.get("reviewers", 0)},
    }


def _manifest(
    files: Files,
    part: dict[str, Any],
    *,
    kind: ExportKind,
    fmt: str,
    mode: ImageMode,
    policy: Policy,
    splits: SplitSpec,
    filters: ExportFilter,
    watermark: Watermark,
    since: dict | None,
    command: str | None,
    placer: ImagePlacer,
) -> dict[str, Any]:
    if kind is ExportKind.records:
        sizes = {
            s: {"rows": part["split_cases"].get(s, 0), "unit": "cases", "files": [], "data_files": None}
            for s in SPLITS
        }
    else:
        sizes = {
            s: {
                "rows": part["rows"][s],
                "files": part["split_files"][s],
                "data_files": _data_files(placer.layout, s),
            }
            for s in SPLITS
        }
    for s in SPLITS:
        sizes[s].update(purpose=SPLIT_PURPOSE[s], trainable=s == "train")
    return {
        MANIFEST_MARKER: FORMAT_VERSION,
        "kind": kind.value,
        "format": fmt,
        "images": mode.value,
        "image_paths": "relative to the rows file"
        if placer.layout.imagefolder
        else "relative to the export folder",
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command or f"build_export(kind={kind.value!r}, fmt={fmt!r})",
        "snapshot_hash": files.data_hash(),
        "incremental": since is not None,
        "since": since,
        "watermark": watermark.__dict__.copy(),
        "policy": policy.value,
        "filters": filters.as_dict(),
        "splits": {
            "by": "patient",
            "seed": splits.seed,
            "validation": splits.validation,
            "test": splits.test,
            "sizes": sizes,
        },
        "counts": {
            "rows": part["rows"],
            "skipped": part["skipped"],
            "png_instead_of_dicom": placer.png_fallbacks,
        },
        "tables": part.get("tables"),
        "agreement": part.get("agreement"),
        "sources": part["sources"],
        "reviewers": part["reviewers"],
    }


def _data_files(layout: Layout, split: str) -> str:
    return f"{split}/**" if layout.imagefolder else layout.rows_path(split)
