"""The manifest of an export (manifest.json): what the loop, the card and a later ``--since`` read.

Contract: :func:`build_manifest` is a pure function of the plan, the pass's :class:`Part` and the
files written; the caller adds ``files`` (every file's sha256 and size) once the card is written.
``splits.sizes.<split>`` carries ``purpose`` and ``trainable``: only ``train`` is trainable, and
``test`` is reserved for evaluation (the training loop refuses to train on it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from exports.ids import SPLIT_PURPOSE, SPLITS
from exports.output import MANIFEST_MARKER
from exports.passes import Part
from exports.placement import ImagePlacer
from exports.plan import Plan
from exports.source import Watermark
from exports.writers import Files

FORMAT_VERSION = 1


def _sizes(plan: Plan, part: Part, placer: ImagePlacer) -> dict[str, dict[str, Any]]:
    layout = placer.layout
    if plan.records:
        sizes = {s: {"rows": part.split_cases.get(s, 0), "unit": "cases", "files": [], "data_files": None}
                 for s in SPLITS}  # fmt: skip
    else:
        sizes = {
            s: {
                "rows": part.rows[s],
                "files": part.split_files[s],
                "data_files": f"{s}/**" if layout.imagefolder else layout.rows_path(s),
            }
            for s in SPLITS
        }
    for s in SPLITS:
        sizes[s].update(purpose=SPLIT_PURPOSE[s], trainable=s == "train")
    return sizes


def build_manifest(
    plan: Plan, part: Part, files: Files, placer: ImagePlacer, watermark: Watermark
) -> dict[str, Any]:
    """The manifest, less its ``files`` entry."""
    return {
        MANIFEST_MARKER: FORMAT_VERSION,
        "export_id": uuid.uuid4().hex,  # unique per export, unlike the snapshot hash
        "kind": plan.kind.value,
        "format": plan.fmt,
        "images": plan.images.value,
        "image_paths": (
            "relative to the rows file" if placer.layout.imagefolder else "relative to the export folder"
        ),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": plan.command or f"build_export(kind={plan.kind.value!r}, fmt={plan.fmt!r})",
        "snapshot_hash": files.data_hash(),
        "incremental": plan.since is not None,
        "since": plan.since,
        "watermark": watermark.__dict__.copy(),
        "policy": plan.policy.value,
        "filters": plan.filters.as_dict(),
        "splits": {
            "by": "patient, linked by shared images",
            "linked_units": part.linked_units,
            "seed": plan.splits.seed,
            "validation": plan.splits.validation,
            "test": plan.splits.test,
            "sizes": _sizes(plan, part, placer),
        },
        "counts": {
            "rows": part.rows,
            "skipped": part.skipped,
            "png_instead_of_dicom": placer.png_fallbacks,
            "image_files_missing": placer.missing,
        },
        "tables": part.tables,
        "agreement": part.agreement or None,
        "sources": part.sources,
        "reviewers": part.reviewers,
    }
