"""What an export file format is: the small interface every module in :mod:`exports.formats` fills.

Contract: an :class:`ExportFormat` is plain data plus a sink class. ``name`` is what ``--format``
takes and the manifest records; ``label`` is what the export page shows; ``suffix`` ends every rows
or table file; ``loader`` is the ``datasets`` packaged builder that reads such files
(``datasets.load_dataset(export_dir)`` picks it from the suffix, so an export loads with no
arguments); ``png_rows`` says how rows that carry PNG images hold them (:class:`RowImages`);
``compressed`` says a zip should store the files as they are. ``sink`` opens one file: a
:class:`Sink` writes below the export's :class:`~exports.writers.Files`, hashing while it writes
(:class:`~exports.writers.HashingFile`), and registers the file's hash when closed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from exports.writers import Files

Schema = Callable[[], pa.Schema]  # a sink that needs column types calls it (row schemas import datasets)


class RowImages(enum.StrEnum):
    """How a format's rows hold PNG images (DICOM images are always files beside the rows)."""

    imagefolder = "imagefolder"  # <split>/metadata<suffix> + <split>/images/*.png: datasets' ImageFolder
    embedded = "embedded"  # the PNG bytes inside the rows file (the datasets Image feature)
    paths = "paths"  # images/*.png, the rows hold paths relative to the export folder


class Sink(Protocol):
    """One rows or table file being written."""

    rows: int

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Append rows (dicts of JSON-able values; embedded images as ``{"bytes", "path"}``)."""

    def write_lines(self, data: bytes, n_rows: int) -> None:
        """Append ``n_rows`` rows given as JSON lines, one object per line with the schema's
        columns (the records fast path: the database serialises the rows itself)."""

    def close(self) -> None:
        """Finish the file and record its sha256 and size in the export's Files."""


class SinkFactory(Protocol):
    def __call__(self, files: Files, relpath: str, *, schema: Schema, rename: dict[str, str]) -> Sink: ...


@dataclass(frozen=True)
class ExportFormat:
    name: str
    label: str
    suffix: str
    loader: str
    png_rows: RowImages
    compressed: bool
    sink: SinkFactory

    def open(
        self, files: Files, relpath: str, *, schema: Schema, rename: dict[str, str] | None = None
    ) -> Sink:
        """A sink writing ``relpath``; ``rename`` maps column names on the way out."""
        return self.sink(files, relpath, schema=schema, rename=rename or {})


def renamed(rows: list[dict[str, Any]], rename: dict[str, str]) -> list[dict[str, Any]]:
    """``rows`` with their columns renamed (ImageFolder reads ``images`` as ``file_names``)."""
    if not rename:
        return rows
    return [{rename.get(k, k): v for k, v in row.items()} for row in rows]
