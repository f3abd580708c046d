"""The export page's form as plain values: parsing, the export request it makes, the result.

Contract: :class:`ExportForm` holds what the researcher chose (strings and numbers as the form
sends them); :meth:`ExportForm.parse` validates them (a bad date is a
:class:`~review_db.errors.ValidationError` with a readable message) and :meth:`ExportForm.request`
turns them into the :class:`~services.exporting.ExportRequest` the command line builds too (its
``command`` is the card's equivalent command line). The choices and their labels come from the
export registries (kinds, formats, image modes, policies) and the task types.
:class:`GradioProgress` forwards the export's progress to a ``gr.Progress``-like callable.
:func:`result_html` describes a finished export and its download link. No Gradio import, no I/O.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from chestx.web.html import TASK_LABELS, esc
from exports import ExportKind, ExportResult, ImageMode, Policy, Progress, formats
from exports.consolidate import POLICY_LABELS
from exports.kinds import KINDS as KIND_SPECS
from exports.kinds import usual_images
from review_db.errors import ValidationError
from review_db.types import TaskType
from services.exporting import ExportRequest

PAGE = "ChestX Review export page"  # the card's note on where the export was made
DEFAULT_IMAGES = "default"  # the form's value for "the kind's default image mode"

# (label, value) choices of the form; the values are what the command line takes.
KINDS = tuple((spec.label, kind.value) for kind, spec in KIND_SPECS.items())
FORMATS = tuple((f.label, f.name) for f in formats.FORMATS.values())
IMAGE_LABELS = {m: m.value.upper() if m is not ImageMode.none else "None" for m in ImageMode}


def _default_images() -> str:
    """``PNG; none for PRM``: the kinds' default image modes, in the page's words."""
    usual, others = usual_images()
    exceptions = (f"{IMAGE_LABELS[m].lower()} for {KIND_SPECS[k].title}" for k, m in others.items())
    return "; ".join([IMAGE_LABELS[usual], *exceptions])


IMAGE_CHOICES = (
    (f"Default ({_default_images()})", DEFAULT_IMAGES),
    *((IMAGE_LABELS[m], m.value) for m in ImageMode),
)
POLICIES = tuple((POLICY_LABELS[p], p.value) for p in Policy)
TASK_TYPES = tuple((TASK_LABELS.get(t.value, t.value), t.value) for t in TaskType)


def _day(text: str, label: str) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{label}: {text!r} is not a date (YYYY-MM-DD)") from None


def _whole(value: Any, label: str, *, default: int | None) -> int | None:
    if value is None or str(value).strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValidationError(f"{label} must be a whole number") from None
    if not number.is_integer():
        raise ValidationError(f"{label} must be a whole number")
    return int(number)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(1, round(n / 1e3))} kB"


@dataclass(frozen=True)
class ExportForm:
    """The form's values, as sent by the page (see :meth:`parse`)."""

    kind: str = ExportKind.sft.value
    fmt: str = ExportRequest.fmt
    images: str = DEFAULT_IMAGES
    policy: str = ExportRequest.policy
    date_from: str = ""  # YYYY-MM-DD, latest review on or after this day (UTC)
    date_to: str = ""  # YYYY-MM-DD, latest review on or before this day (UTC), inclusive
    task_types: tuple[str, ...] = ()
    model_versions: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    min_reviews: int | None = None
    only_agreed: bool = False
    include_demo: bool = False
    seed: int = 0

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> ExportForm:
        """The form from the page's values by field name; unknown names are ignored."""
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in values.items() if k in known}
        for name in ("task_types", "model_versions", "reviewers"):
            data[name] = tuple(str(v) for v in data.get(name) or () if str(v).strip())
        data["min_reviews"] = _whole(data.get("min_reviews"), "Minimum reviews", default=None)
        data["seed"] = _whole(data.get("seed"), "Split seed", default=0)
        for name in ("kind", "fmt", "images", "policy", "date_from", "date_to"):
            data[name] = str(data.get(name) or getattr(cls, name)).strip()
        for name in ("only_agreed", "include_demo"):
            data[name] = bool(data.get(name))
        return cls(**data)

    def request(self) -> ExportRequest:
        """The export request; the form's "to" day is inclusive, the request's bound exclusive."""
        start, end = _day(self.date_from, "Reviewed from"), _day(self.date_to, "Reviewed to")
        if start and end and end < start:
            raise ValidationError("Reviewed to is before Reviewed from")
        return ExportRequest(
            kind=self.kind,
            fmt=self.fmt,
            images=None if self.images == DEFAULT_IMAGES else self.images,
            policy=self.policy,
            reviewed_from=dt.datetime.combine(start, dt.time(), dt.UTC) if start else None,
            reviewed_to=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC) if end else None,
            task_types=self.task_types,
            model_versions=self.model_versions,
            reviewers=self.reviewers,
            min_reviews=self.min_reviews,
            only_agreed=self.only_agreed,
            include_demo=self.include_demo,
            seed=self.seed,
        )

    def options(self) -> dict[str, Any]:
        """Keyword arguments of ``build_export_zip`` chosen by the form, the card's command too."""
        request = self.request()
        return {**request.export_options(), "command": request.command(note=PAGE)}


class GradioProgress(Progress):
    """The export's progress on a ``gr.Progress`` (at most every ``every_s`` seconds)."""

    def __init__(self, report: Callable[..., Any], *, every_s: float = 0.25) -> None:
        self.report = report
        self.every_s = every_s
        self.total: int | None = None
        self.unit = "chains"
        self.done = 0
        self._last = 0.0

    def start(self, total: int | None, unit: str) -> None:
        self.total, self.unit, self.done = total or None, unit, 0
        self._show(force=True)

    def update(self, n: int) -> None:
        self.done += n
        self._show(force=self.total is not None and self.done >= self.total)  # the end always shows

    def _show(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= self.every_s:
            self._last = now
            self.report((self.done, self.total), desc=f"Exporting {self.unit}", unit=self.unit)


def _counts(values: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in values.items() if n) or "none"


def result_html(result: ExportResult, *, href: str, filename: str, size: int, minutes: int) -> str:
    """The finished export: counts, what was left out, and the one-time download link."""
    spec = KIND_SPECS[ExportKind(result.kind)]
    skipped = ""
    if result.skipped:
        skipped = f"<li>Left out: {esc(_counts(result.skipped))}</li>"
    return (
        '<div class="cx-notice cx-ok" role="status" id="cx-export-result">'
        f"<b>Export ready</b>: {esc(spec.title)}, {esc(formats.get(result.format).label)}, "
        f"{result.total_rows:,} rows"
        f"<ul><li>{'Tables' if spec.tables else 'Splits'}: {esc(_counts(result.rows))}</li>"
        f"{skipped}<li>Snapshot <code>{esc(result.snapshot_hash[:16])}</code></li></ul>"
        f'<a class="cx-download" id="cx-export-download" href="{esc(href)}" download="{esc(filename)}">'
        f"Download {esc(filename)} ({_size(size)})</a>"
        f'<p class="cx-muted">The link works once, for you, for {minutes} minutes; '
        "then the zip is deleted from the server.</p></div>"
    )
