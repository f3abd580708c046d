"""Building an export: the one entry point the CLI, the app and the training loop call.

Contract: :func:`build_export` reads the database in one consistent read-only snapshot
(REPEATABLE READ on PostgreSQL, one deferred transaction on SQLite), streams the selected chains
page by page through consolidation, splitting and the row builders, and writes the rows, images,
dataset card and manifest into a temporary folder that is renamed onto ``out_dir`` only when
everything is written. It returns an :class:`ExportResult`; it raises
:class:`~exports.output.EmptySelection` (nothing written) when no row results, and
:class:`~exports.output.OutputExists` for an existing ``out_dir`` without ``overwrite``.

The snapshot hash is a sha256 over the data files' paths and hashes (not the card or manifest,
which carry a time): two exports of the same data with the same options have the same hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from exports.card import render_card
from exports.consolidate import Policy
from exports.formats import DEFAULT_FORMAT
from exports.kinds import DEFAULT_IMAGES, ExportKind, ImageMode
from exports.manifest import build_manifest
from exports.output import MANIFEST, MANIFEST_MARKER, EmptySelection, atomic_output_dir
from exports.passes import export_records, export_rows
from exports.placement import ImagePlacer, Layout
from exports.plan import Plan, make_plan
from exports.source import ExportFilter, Watermark, resolve
from exports.writers import Files
from review_db.engine import read_session
from review_db.errors import ValidationError

__all__ = [
    "DEFAULT_IMAGES",
    "ExportKind",
    "ExportResult",
    "ImageMode",
    "Progress",
    "build_export",
    "load_since",
]


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
    fmt: str = DEFAULT_FORMAT,
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
    ``include_reports`` adds the cases' report texts to records (as stored: redacted at import).
    """
    plan = make_plan(
        kind=kind, fmt=fmt, images=images, policy=policy, split_seed=split_seed,
        validation_share=validation_share, test_share=test_share, filters=filters, key=key,
        image_root=image_root, since=load_since(since), include_reports=include_reports,
        system_prompt=system_prompt, png_max_side=png_max_side, command=command, batch_size=batch_size,
    )  # fmt: skip
    with atomic_output_dir(Path(out_dir), overwrite=overwrite) as tmp:
        files = Files(tmp)
        placer = ImagePlacer(
            files, root=image_root, key=key, mode=plan.images.value, max_side=png_max_side,
            layout=Layout(plan.kind, plan.format, plan.images.value),
        )  # fmt: skip
        with read_session(session_factory) as session:
            if session.get_bind().dialect.name == "postgresql":  # one snapshot for every query
                session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            watermark = Watermark.capture(session)
            since_mark = Watermark.from_dict(plan.since["watermark"]) if plan.since else None
            resolved = resolve(session, plan.filters, records=plan.records, since=since_mark)
            run = export_records if plan.records else export_rows
            part = run(session, resolved, files, plan, placer, progress or Progress())
        if part.empty:
            raise EmptySelection(_empty_message(part.skipped, incremental=plan.since is not None))
        manifest = build_manifest(plan, part, files, placer, watermark)
        files.add_bytes("README.md", render_card(manifest).encode())
        manifest["files"] = dict(sorted(files.entries.items()))
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return _result(Path(out_dir).absolute(), plan, part, manifest, watermark)


def _result(
    out_dir: Path, plan: Plan, part: Any, manifest: dict[str, Any], watermark: Watermark
) -> ExportResult:
    return ExportResult(
        out_dir=out_dir,
        kind=plan.kind.value,
        format=plan.fmt,
        snapshot_hash=manifest["snapshot_hash"],
        rows=dict(part.rows),
        skipped=dict(part.skipped),
        agreement=part.agreement,
        watermark=watermark,
        files=tuple(manifest["files"]),
        manifest=manifest,
    )


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
    if not isinstance(manifest, dict) or MANIFEST_MARKER not in manifest or "watermark" not in manifest:
        raise ValidationError(f"{since} is not a ChestX Review export manifest")
    return {"snapshot_hash": manifest.get("snapshot_hash"), "watermark": manifest["watermark"]}


def _empty_message(skipped: dict[str, int], *, incremental: bool) -> str:
    why = "; ".join(f"{n} chains: {reason}" for reason, n in sorted(skipped.items()))
    base = "nothing changed since that export" if incremental else "no reviewed chain matches the filters"
    return f"nothing to export: {base}" + (f" ({why})" if why else "") + "; nothing was written"
