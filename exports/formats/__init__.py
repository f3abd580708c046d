"""Export file formats: one module per format, one line per format in :data:`FORMATS`.

Contract: :data:`FORMATS` maps each ``--format`` name to its
:class:`~exports.formats.base.ExportFormat`, in the order the choices are offered. Everything
that names formats reads it: plan validation (:func:`get`), the sinks, the image layout, the
zip, the CLI's ``--format`` choices and help, the export page's choices and labels. To add a
format, write ``exports/formats/<name>.py`` defining ``FORMAT`` and add it to the line below
(docs/ARCHITECTURE.md, "How to add an export format").
"""

from __future__ import annotations

from exports.formats import jsonl, parquet
from exports.formats.base import ExportFormat, RowImages, Sink
from review_db.errors import ValidationError

FORMATS: dict[str, ExportFormat] = {f.name: f for f in (jsonl.FORMAT, parquet.FORMAT)}
DEFAULT_FORMAT = jsonl.FORMAT.name

__all__ = ["DEFAULT_FORMAT", "FORMATS", "ExportFormat", "RowImages", "Sink", "get", "names"]


def names() -> str:
    """The format names for a message or a help text: ``jsonl | parquet``."""
    return " | ".join(FORMATS)


def get(name: str) -> ExportFormat:
    """The registered format called ``name``; ValidationError (listing the choices) otherwise."""
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise ValidationError(f"unknown format {name!r}; one of {', '.join(FORMATS)}") from None
