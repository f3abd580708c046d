"""Parquet: typed columns, zstd, ``.parquet``; rows with PNG images hold the PNG bytes inside.

Contract: :data:`FORMAT` (see :mod:`exports.formats.base`). The schema is explicit (the row
kinds' ``datasets`` features ride in its metadata, so ``datasets.load_dataset`` restores the
Image and List types exactly); one row group per ``rows_per_group`` rows or ``max_group_bytes``
of buffered images. Writer options are fixed: identical rows give byte-identical files (the
snapshot hash depends on it).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq

from exports.formats.base import ExportFormat, RowImages, Schema, renamed
from exports.writers import Files, HashingFile


class ParquetSink:
    """Parquet with an explicit schema, written in row groups."""

    def __init__(
        self,
        files: Files,
        relpath: str,
        *,
        schema: Schema,
        rename: dict[str, str],
        rows_per_group: int = 2000,
        max_group_bytes: int = 64 << 20,
    ) -> None:
        self.files, self.relpath, self.schema, self.rename = files, relpath, schema(), rename
        self.handle = HashingFile(files.root / relpath)
        self.writer = pq.ParquetWriter(self.handle, self.schema, compression="zstd", write_statistics=True)
        self.rows_per_group, self.max_group_bytes = rows_per_group, max_group_bytes
        self.buffer: list[dict[str, Any]] = []
        self.buffered_bytes = 0
        self.rows = 0
        self._parse = pj.ParseOptions(explicit_schema=self.schema, unexpected_field_behavior="error")

    def write(self, rows: list[dict[str, Any]]) -> None:
        for row in renamed(rows, self.rename):
            self.buffer.append(row)
            for image in row.get("images") or ():
                if isinstance(image, dict):
                    self.buffered_bytes += len(image.get("bytes") or b"")
            if len(self.buffer) >= self.rows_per_group or self.buffered_bytes >= self.max_group_bytes:
                self._flush()

    def write_lines(self, data: bytes, n_rows: int) -> None:
        """JSON lines -> Arrow (pyarrow's C++ JSON reader, which releases the GIL) -> the file."""
        read = pj.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 20))
        table = pj.read_json(pa.BufferReader(data), read_options=read, parse_options=self._parse)
        self._flush()
        self.writer.write_table(table.select(self.schema.names).cast(self.schema))
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


FORMAT = ExportFormat(
    name="parquet",
    label="Parquet",
    suffix=".parquet",
    loader="parquet",
    png_rows=RowImages.embedded,
    compressed=True,
    sink=ParquetSink,
)
