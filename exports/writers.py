"""Files of an export: JSON lines or Parquet sinks, the folder layout, and the file hashes.

Contract: everything here writes below one folder (the export's temporary folder) and nowhere
else. Sinks take rows in batches and never hold more than one row group; every file's sha256 is
known when it is closed (computed while writing, not by reading the file back), so the manifest
costs no second pass.

Layouts (chosen so that ``datasets.load_dataset(export_dir)`` gives ready rows):

- rows with PNG images, JSON lines: one ImageFolder per split, ``<split>/metadata.jsonl`` whose
  ``file_names`` column lists ``images/<name>.png`` beside it (``datasets`` loads it as an
  ``images`` column of PIL images);
- rows with PNG images, Parquet: ``data/<split>.parquet`` with the PNG bytes inside (the
  ``datasets`` Image feature);
- DICOM images: ``images/<name>.dcm`` and ``images`` columns of paths relative to the export;
- text-only rows: ``data/<split>.jsonl`` or ``.parquet``; records: ``records/<table>.<ext>``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

try:  # orjson is several times faster than json; it comes with gradio, and json does the same job
    import orjson

    loads = orjson.loads

    def dumps_line(obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)

except ImportError:  # pragma: no cover - exercised only where orjson is absent
    loads = json.loads

    def dumps_line(obj: Any) -> bytes:
        return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


FORMATS = ("jsonl", "parquet")


class HashingFile:
    """A binary file that hashes what is written to it (sha256) and counts the bytes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.sha = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self._fh.write(data)

    def flush(self) -> None:
        self._fh.flush()

    def tell(self) -> int:
        return self.size

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
            self.closed = True


class Files:
    """The files of an export so far: relative path -> (sha256, bytes)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries: dict[str, dict[str, Any]] = {}

    def add_bytes(self, relpath: str, data: bytes) -> bool:
        """Write ``data`` at ``relpath`` once; False when it is already there (a shared image)."""
        if relpath in self.entries:
            return False
        target = self.root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.entries[relpath] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        return True

    def add_hashed(self, relpath: str, handle: HashingFile) -> None:
        self.entries[relpath] = {"sha256": handle.sha.hexdigest(), "bytes": handle.size}

    def data_hash(self, exclude: Iterable[str] = ("README.md", "manifest.json")) -> str:
        """sha256 over the sorted (path, sha256) of the data files: the export's snapshot hash."""
        skip = set(exclude)
        digest = hashlib.sha256()
        for relpath in sorted(self.entries):
            if relpath not in skip:
                digest.update(f"{relpath}\x00{self.entries[relpath]['sha256']}\n".encode())
        return digest.hexdigest()


class JsonlSink:
    """JSON lines, one object per row; ``rename`` maps column names on the way out."""

    def __init__(self, files: Files, relpath: str, *, rename: dict[str, str] | None = None) -> None:
        self.files, self.relpath, self.rename = files, relpath, rename or {}
        self.handle = HashingFile(files.root / relpath)
        self.rows = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self.rename:
            rows = [{self.rename.get(k, k): v for k, v in row.items()} for row in rows]
        self.handle.write(b"".join(dumps_line(row) for row in rows))
        self.rows += len(rows)

    def write_encoded(self, data: bytes, n_rows: int) -> None:
        """Already-encoded JSON lines (the records fast path)."""
        self.handle.write(data)
        self.rows += n_rows

    def close(self) -> None:
        self.handle.close()
        self.files.add_hashed(self.relpath, self.handle)


class ParquetSink:
    """Parquet with an explicit schema (``datasets`` features in its metadata), one row group
    per ``rows_per_group`` rows or ``max_group_bytes`` of buffered images."""

    def __init__(
        self,
        files: Files,
        relpath: str,
        schema: pa.Schema,
        *,
        rows_per_group: int = 2000,
        max_group_bytes: int = 64 << 20,
    ) -> None:
        self.files, self.relpath, self.schema = files, relpath, schema
        self.handle = HashingFile(files.root / relpath)
        # Fixed writer options: byte-identical files for identical rows (the snapshot hash).
        self.writer = pq.ParquetWriter(self.handle, schema, compression="zstd", write_statistics=True)
        self.rows_per_group, self.max_group_bytes = rows_per_group, max_group_bytes
        self.buffer: list[dict[str, Any]] = []
        self.buffered_bytes = 0
        self.rows = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.buffer.append(row)
            for image in row.get("images") or ():
                if isinstance(image, dict):
                    self.buffered_bytes += len(image.get("bytes") or b"")
            if len(self.buffer) >= self.rows_per_group or self.buffered_bytes >= self.max_group_bytes:
                self._flush()

    def write_table(self, table: pa.Table) -> None:
        """Columns already built (the records fast path)."""
        self._flush()
        self.writer.write_table(table.cast(self.schema))
        self.rows += table.num_rows

    def _flush(self) -> None:
        if self.buffer:
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
            self.rows += len(self.buffer)
            self.buffer, self.buffered_bytes = [], 0

    def close(self) -> None:
        self._flush()
        self.writer.close()
        self.handle.close()
        self.files.add_hashed(self.relpath, self.handle)


def open_sink(
    files: Files, relpath: str, fmt: str, schema: pa.Schema | None = None, **kw: Any
) -> JsonlSink | ParquetSink:
    if fmt == "jsonl":
        return JsonlSink(files, relpath, **kw)
    if fmt == "parquet":
        if schema is None:
            raise ValueError("a Parquet sink needs a schema")
        return ParquetSink(files, relpath, schema)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
