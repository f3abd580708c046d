"""The export use case: one request model, and the two ways to run it (a folder, a zip).

Contract: :class:`ExportRequest` is what a person asks for, as plain values; the command line
(``chestx export``) and the export page (``/export/``) both build one and call
:func:`export_to_folder` or :func:`export_to_zip`, which call :func:`exports.build_export` /
:func:`exports.build_export_zip`. :data:`OPTIONS` gives each field its command-line flag and help
(the CLI declares its options from it); :meth:`ExportRequest.command` is the equivalent command
line, written into the dataset card (usernames, key files and folders' parents left out). The
choices (kinds, formats, image modes, policies) come from the export package's registries
(:mod:`exports.kinds`, :mod:`exports.formats`, :class:`exports.Policy`); nothing here lists them.
The caller checks the role and owns the key; these functions read the database read-only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from exports import (
    ExportFilter,
    ExportResult,
    Policy,
    Progress,
    ZippedExport,
    build_export,
    build_export_zip,
    formats,
)
from exports.kinds import ExportKind, ImageMode, default_images_text
from exports.snapshots import remember, resolve_since

INDEX = ".index"  # below the exports folder: the snapshot index that ``--since HASH`` reads


@dataclass(frozen=True)
class ExportRequest:
    """An export as asked for. Dates bound the chain's latest submitted review (UTC; a naive
    time is UTC): ``reviewed_from`` inclusive, ``reviewed_to`` exclusive. ``since`` is an export
    folder, a manifest or a snapshot hash (prefix) known to the index."""

    kind: str
    fmt: str = formats.DEFAULT_FORMAT
    images: str | None = None  # None: the kind's default
    policy: str = Policy.adjudicator.value
    reviewed_from: dt.datetime | None = None
    reviewed_to: dt.datetime | None = None
    task_types: tuple[str, ...] = ()
    model_versions: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()  # usernames; the card gets their number only
    min_reviews: int | None = None
    only_agreed: bool = False
    include_unverified: bool = False
    include_demo: bool = False
    include_reports: bool = False
    since: str | None = None
    seed: int = 0
    validation_share: float = 0.1
    test_share: float = 0.1

    def filters(self) -> ExportFilter:
        return ExportFilter(
            reviewed_from=self.reviewed_from,
            reviewed_to=self.reviewed_to,
            task_types=self.task_types,
            model_versions=self.model_versions,
            reviewers=self.reviewers,
            min_reviews=self.min_reviews,
            only_agreed=self.only_agreed,
            only_verified=False if self.include_unverified else None,
            include_demo=self.include_demo,
        )

    def export_options(self) -> dict[str, Any]:
        """The keyword arguments of ``build_export`` / ``build_export_zip`` the request decides
        (all but ``since``, which :func:`export_to_folder` and :func:`export_to_zip` resolve)."""
        return {
            "kind": self.kind,
            "fmt": self.fmt,
            "images": self.images,
            "policy": self.policy,
            "filters": self.filters(),
            "split_seed": self.seed,
            "validation_share": self.validation_share,
            "test_share": self.test_share,
            "include_reports": self.include_reports,
        }

    def command(self, *, out: str | None = None, extra: Sequence[str] = (), note: str | None = None) -> str:
        """The equivalent ``chestx export`` command line, for the dataset card."""
        parts = ["chestx", "export", self.kind, *(["--out", out] if out else [])]
        for field in fields(self):
            if field.name == "kind":  # an argument, written above
                continue
            value, flag = getattr(self, field.name), OPTIONS[field.name].flag.split("/")[0]
            if value is None or value is False or value == ():
                continue
            if field.name == "reviewers":  # usernames never reach the card
                parts += [flag, f"<{len(value)} named>"]
            elif value is True:
                parts.append(flag)
            elif isinstance(value, tuple):
                parts += [item for v in value for item in (flag, str(v))]
            elif isinstance(value, dt.datetime):
                parts += [flag, _when(value)]
            else:
                parts += [flag, Path(value).name if field.name == "since" else str(value)]
        return " ".join([*parts, *extra, *([f"({note})"] if note else [])])


def _when(value: dt.datetime) -> str:
    """A UTC time as ``--from`` / ``--to`` take it: the day alone at midnight."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.date().isoformat() if value.time() == dt.time() else value.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Option:
    """A field of :class:`ExportRequest` on the command line."""

    flag: str  # typer's flag declaration ("--x" or "--x/--no-x")
    help: str
    minimum: int | None = None


OPTIONS: dict[str, Option] = {
    "fmt": Option("--format", formats.names()),
    "images": Option("--images", f"{' | '.join(ImageMode)} (default: {default_images_text()})"),
    "policy": Option("--policy", f"Several reviewers: {' | '.join(Policy)}"),
    "reviewed_from": Option("--from", "Latest review at or after (UTC)."),
    "reviewed_to": Option("--to", "Latest review before (UTC)."),
    "task_types": Option("--task-type", "Only this task type (repeat)."),
    "model_versions": Option("--model-version", "Only chains of this model (repeat)."),
    "reviewers": Option("--reviewer", "Only this reviewer's reviews (repeat)."),
    "min_reviews": Option("--min-reviews", "Submitted reviews a chain needs (default 1).", minimum=0),
    "only_agreed": Option("--only-agreed", "Only chains all reviewers agree on."),
    "include_unverified": Option(
        "--include-unverified/--no-include-unverified", "Also cases short of their required reviews."
    ),
    "include_demo": Option("--include-demo/--no-include-demo", "Also the demo cases."),
    "include_reports": Option(
        "--include-reports/--no-include-reports", "records: add report texts (free text, not scrubbed)."
    ),
    "since": Option("--since", "Only what changed since this export (folder or snapshot)."),
    "seed": Option("--seed", "Split seed: keep it fixed so that test stays test."),
    "validation_share": Option("--validation-share", "Share of patients in validation."),
    "test_share": Option("--test-share", "Share of patients in test (held out)."),
}
KIND_HELP = " | ".join(ExportKind)
DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(ExportRequest) if f.name in OPTIONS}


def snapshot_index(exports_dir: Path) -> Path:
    """Where past exports are indexed by snapshot hash (``Settings.exports_dir`` / .index)."""
    return exports_dir / INDEX


def _since(request: ExportRequest, index_dir: Path | None) -> Path | dict[str, Any] | None:
    return resolve_since(request.since, index_dir) if request.since else None


def export_to_folder(
    request: ExportRequest,
    *,
    session_factory: sessionmaker[Session],
    key: bytes,
    image_root: Path | None,
    out_dir: Path,
    overwrite: bool = False,
    index_dir: Path | None = None,
    command: str | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the export into ``out_dir`` and, with ``index_dir``, remember its snapshot there."""
    result = build_export(
        session_factory=session_factory, out_dir=out_dir, key=key, image_root=image_root,
        overwrite=overwrite, since=_since(request, index_dir), progress=progress,
        command=command or request.command(out=Path(out_dir).name), **request.export_options(),
    )  # fmt: skip
    if index_dir is not None:
        remember(index_dir, result)
    return result


def export_to_zip(
    request: ExportRequest,
    *,
    session_factory: sessionmaker[Session],
    key: bytes,
    image_root: Path | None,
    zip_dir: Path,
    index_dir: Path | None = None,
    command: str | None = None,
    progress: Progress | None = None,
) -> ZippedExport:
    """Build the export and zip it into ``zip_dir`` (see :func:`exports.build_export_zip`)."""
    return build_export_zip(
        zip_dir=zip_dir, session_factory=session_factory, key=key, image_root=image_root,
        since=_since(request, index_dir), progress=progress, command=command or request.command(),
        **request.export_options(),
    )  # fmt: skip
