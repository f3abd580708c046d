"""De-identified dataset exports of verified chains: SFT, PRM, preference pairs and records.

Contract: :func:`build_export` is the one entry point (CLI, app, training loop); it reads the
database read-only and writes one export folder atomically. :func:`build_export_zip` does the
same into a temporary folder and returns a zip (the app's download). The row builders in
:mod:`exports.rows` are pure and can be used without the database. See docs/EXPORTS.md.
"""

from exports.build import ExportResult, Progress, build_export, load_since
from exports.consolidate import Agreement, Policy, ReviewedChain, consolidate
from exports.ids import SPLITS, SplitSpec
from exports.kinds import DEFAULT_IMAGES, ExportKind, ImageMode
from exports.output import EmptySelection, OutputExists
from exports.rows import AddedStep, VerifiedChain, completion_text, pair_row, prm_rows, sft_row
from exports.source import ExportFilter, Watermark
from exports.zipped import ZippedExport, build_export_zip

__all__ = [
    "DEFAULT_IMAGES",
    "SPLITS",
    "AddedStep",
    "Agreement",
    "EmptySelection",
    "ExportFilter",
    "ExportKind",
    "ExportResult",
    "ImageMode",
    "OutputExists",
    "Policy",
    "Progress",
    "ReviewedChain",
    "SplitSpec",
    "VerifiedChain",
    "Watermark",
    "ZippedExport",
    "build_export",
    "build_export_zip",
    "completion_text",
    "consolidate",
    "load_since",
    "pair_row",
    "prm_rows",
    "sft_row",
]
