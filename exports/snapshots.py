"""A small index of past exports by snapshot hash, so ``--since HASH`` works without the folder.

Contract: :func:`remember` writes ``<index_dir>/<snapshot_hash>.json`` (kind, watermark, folder;
no file list) after an export; :func:`resolve_since` turns what a user typed after ``--since``
(an export folder, its manifest.json, or a snapshot hash or unique prefix of one found in the
index) into something :func:`~exports.build.load_since` accepts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exports.build import ExportResult
from exports.output import MANIFEST_MARKER
from review_db.errors import ValidationError


def remember(index_dir: Path, result: ExportResult) -> Path:
    """Record ``result`` in the index; returns the entry's path."""
    index_dir.mkdir(parents=True, exist_ok=True)
    entry = {
        MANIFEST_MARKER: result.manifest[MANIFEST_MARKER],
        "snapshot_hash": result.snapshot_hash,
        "kind": result.kind,
        "created_at": result.manifest["created_at"],
        "out_dir": str(result.out_dir),
        "watermark": result.manifest["watermark"],
    }
    path = index_dir / f"{result.snapshot_hash}.json"
    path.write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
    return path


def resolve_since(value: str, index_dir: Path | None) -> Path | dict[str, Any]:
    """An export folder or manifest path as given, else the index entry of a snapshot hash."""
    path = Path(value)
    if path.exists():
        return path
    if index_dir is not None and len(value) >= 8 and all(c in "0123456789abcdef" for c in value.lower()):
        found = sorted(index_dir.glob(f"{value.lower()}*.json"))
        if len(found) == 1:
            return json.loads(found[0].read_text(encoding="utf-8"))
        if len(found) > 1:
            raise ValidationError(f"snapshot prefix {value!r} is ambiguous; give more of the hash")
    raise ValidationError(f"--since {value!r}: no such export folder, manifest or known snapshot hash")
