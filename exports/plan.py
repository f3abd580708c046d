"""The options of one export, checked once: :class:`Plan`.

Contract: :func:`make_plan` validates everything a caller passes to
:func:`~exports.build_export` before anything is read or written, and raises
:class:`~review_db.errors.ValidationError` with a message for a person. The passes, the manifest
and the card read the plan and nothing else. Kinds and image modes are in :mod:`exports.kinds`,
formats in :mod:`exports.formats`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exports import formats
from exports.consolidate import Policy
from exports.formats import ExportFormat
from exports.ids import SplitSpec
from exports.kinds import DEFAULT_IMAGES, KINDS, ExportKind, ImageMode
from exports.source import ExportFilter
from review_db.errors import ValidationError


@dataclass(frozen=True)
class Plan:
    kind: ExportKind
    format: ExportFormat
    images: ImageMode
    policy: Policy
    splits: SplitSpec
    filters: ExportFilter
    key: bytes
    image_root: Path | None
    since: dict[str, Any] | None  # {"snapshot_hash", "watermark"} of the earlier export
    include_reports: bool
    system_prompt: str | None
    png_max_side: int
    command: str | None
    batch_size: int

    @property
    def fmt(self) -> str:
        return self.format.name

    @property
    def records(self) -> bool:
        """The kind writes tables (records), not rows."""
        return KINDS[self.kind].tables


def _choice(enum_cls: type[enum.StrEnum], value: object, what: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        choices = ", ".join(e.value for e in enum_cls)
        raise ValidationError(f"unknown {what} {value!r}; one of {choices}") from None


def make_plan(
    *,
    kind: Any,
    fmt: str,
    images: Any,
    policy: Any,
    split_seed: int,
    validation_share: float,
    test_share: float,
    filters: ExportFilter | None,
    key: bytes,
    image_root: Path | None,
    since: dict[str, Any] | None,
    include_reports: bool = False,
    system_prompt: str | None = None,
    png_max_side: int = 2048,
    command: str | None = None,
    batch_size: int = 500,
) -> Plan:
    """A checked :class:`Plan`; raises ValidationError for anything inconsistent."""
    kind = _choice(ExportKind, kind, "export kind")
    mode = _choice(ImageMode, images or DEFAULT_IMAGES[kind], "image mode")
    try:
        splits = SplitSpec(seed=split_seed, validation=validation_share, test=test_share)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    output = formats.get(fmt)
    spec = KINDS[kind]
    if not spec.images_in_rows and not spec.tables and mode is not ImageMode.none:
        raise ValidationError(f"{kind} rows are text-only ({spec.summary}); use --images none")
    if mode is not ImageMode.none and image_root is None:
        raise ValidationError("exporting images needs the image folder (image_root)")
    if not key:
        raise ValidationError("the export key must not be empty")
    if batch_size < 1 or png_max_side < 16:
        raise ValidationError("batch_size must be >= 1 and png_max_side >= 16")
    return Plan(
        kind=kind, format=output, images=mode, policy=_choice(Policy, policy, "policy"), splits=splits,
        filters=filters or ExportFilter(), key=key, image_root=image_root, since=since,
        include_reports=include_reports, system_prompt=system_prompt, png_max_side=png_max_side,
        command=command, batch_size=batch_size,
    )  # fmt: skip
