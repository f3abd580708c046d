"""An export as one zip file: what the app's researcher page offers for download.

Contract: :func:`build_export_zip` builds an export into a fresh temporary folder with
:func:`~exports.build_export`, zips it (deterministic entries; PNG and the compressed formats
such as Parquet stored, the rest deflated) into ``zip_dir``, removes the folder and returns the
zip's path with the export's result. The caller checks the role (researcher or admin) before
calling, and deletes the zip when it has been served. Errors are those of :func:`build_export`
(an empty selection raises :class:`~exports.EmptySelection` and leaves no zip).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exports.build import ExportResult, build_export
from exports.output import zip_folder


@dataclass(frozen=True)
class ZippedExport:
    path: Path  # the zip file
    result: ExportResult  # counts, snapshot hash, manifest (its out_dir no longer exists)


def build_export_zip(*, zip_dir: Path | None = None, **options: Any) -> ZippedExport:
    """Build an export (``options`` as for :func:`build_export`, without ``out_dir``) and zip it.

    ```python
    zipped = build_export_zip(session_factory=factory, kind="sft", key=settings.key_bytes(),
                              image_root=settings.image_dir, zip_dir=settings.exports_dir)
    zipped.path  # .../chestx-sft-<snapshot[:12]>.zip
    ```
    """
    if "out_dir" in options:
        raise TypeError("build_export_zip chooses its own out_dir")
    target_dir = Path(zip_dir) if zip_dir is not None else Path(tempfile.gettempdir())
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chestx-export-", dir=target_dir) as tmp:
        result = build_export(out_dir=Path(tmp) / "export", **options)
        name = f"chestx-{result.kind}-{result.snapshot_hash[:12]}.zip"
        path = zip_folder(result.out_dir, target_dir / name)
    return ZippedExport(path=path, result=result)
