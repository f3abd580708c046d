"""JSON Lines: one JSON object per row, ``.jsonl``; rows with PNG images form an ImageFolder.

Contract: :data:`FORMAT` (see :mod:`exports.formats.base`). The fast format: the records tables
arrive as JSON lines serialised by the database and are written as they come.
"""

from __future__ import annotations

from typing import Any

from exports.formats.base import ExportFormat, RowImages, Schema, renamed
from exports.writers import Files, HashingFile, dumps_line


class JsonlSink:
    """JSON lines, one object per row."""

    def __init__(self, files: Files, relpath: str, *, schema: Schema, rename: dict[str, str]) -> None:
        del schema  # JSON lines carry no schema: datasets infers the same one
        self.files, self.relpath, self.rename = files, relpath, rename
        self.handle = HashingFile(files.root / relpath)
        self.rows = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.handle.write(b"".join(dumps_line(row) for row in renamed(rows, self.rename)))
        self.rows += len(rows)

    def write_lines(self, data: bytes, n_rows: int) -> None:
        self.handle.write(data)
        self.rows += n_rows

    def close(self) -> None:
        self.handle.close()
        self.files.add_hashed(self.relpath, self.handle)


FORMAT = ExportFormat(
    name="jsonl",
    label="JSON Lines",
    suffix=".jsonl",
    loader="json",
    png_rows=RowImages.imagefolder,
    compressed=False,
    sink=JsonlSink,
)
