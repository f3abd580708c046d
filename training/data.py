"""Training data: snapshots of the verified data (exports) and the rows each trainer reads.

Contract: the loop never reads review tables itself. It asks :func:`snapshot` for an export of
the verified chains (``exports.build_export``: de-identified, split by patient, the test
split marked held out in the manifest) and trains on what that folder holds. :func:`read_rows`
reads one split of an export folder; it refuses the test split unless ``purpose="evaluation"``,
so no trainer can take a gradient step on held-out cases by mistake.

Rows keep TRL's formats (see :mod:`exports.rows`): SFT rows have ``images`` (absolute
paths, or ``{"bytes", "path"}`` for Parquet exports) and ``messages``; PRM rows have ``prompt``,
``completions`` and ``labels``. A text PRM compares steps with the case's report, which exports
leave out by default; :func:`attach_reports` adds it back from the database for the loop's own
(never distributed) use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from review_db.errors import ValidationError

MANIFEST = "manifest.json"
TRAINABLE_PURPOSES = ("training", "validation")


@dataclass(frozen=True)
class Snapshot:
    """The exports one loop run trains and evaluates on."""

    root: Path
    dirs: dict[str, Path]  # kind -> export folder
    hashes: dict[str, str]  # kind -> that export's snapshot hash
    rows: dict[str, dict[str, int]]  # kind -> split -> rows

    @property
    def snapshot_hash(self) -> str:
        """One hash over the component exports (what ``training_runs.snapshot_hash`` stores)."""
        joined = "\n".join(f"{k}:{v}" for k, v in sorted(self.hashes.items()))
        return hashlib.sha256(joined.encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "dirs": {k: str(v) for k, v in self.dirs.items()},
            "hashes": self.hashes,
            "rows": self.rows,
            "snapshot_hash": self.snapshot_hash,
        }


def snapshot(
    *,
    session_factory: Any,
    settings: Any,
    out_dir: Path,
    kinds: Sequence[str] = ("sft", "prm"),
    split_seed: int = 0,
    validation_share: float = 0.1,
    test_share: float = 0.2,
    fmt: str = "jsonl",
    include_demo: bool = False,
) -> Snapshot:
    """Export ``kinds`` of the verified data into ``out_dir/<kind>`` (atomic, see the export).

    The split seed and shares must stay the same across runs, so that a patient once in test
    stays in test; the loop config holds them. Demo cases are left out unless ``include_demo``.
    Raises :class:`~exports.EmptySelection` when there is nothing to export.
    """
    from exports import ExportFilter, build_export

    dirs, hashes, rows = {}, {}, {}
    for kind in kinds:
        result = build_export(
            session_factory=session_factory,
            kind=kind,
            out_dir=Path(out_dir) / kind,
            key=settings.key_bytes(),
            image_root=settings.image_dir,
            fmt=fmt,
            split_seed=split_seed,
            validation_share=validation_share,
            test_share=test_share,
            images="png" if kind == "sft" else "none",
            filters=ExportFilter(include_demo=include_demo),
            command=f"chestx loop (snapshot {kind})",
        )
        dirs[kind], hashes[kind], rows[kind] = result.out_dir, result.snapshot_hash, dict(result.rows)
    return Snapshot(Path(out_dir), dirs, hashes, rows)


def manifest(export_dir: Path | str) -> dict[str, Any]:
    path = Path(export_dir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ValidationError(f"{export_dir} is not an export folder (no readable {MANIFEST})") from None


def read_rows(export_dir: Path | str, split: str, *, purpose: str = "training") -> list[dict[str, Any]]:
    """The rows of one split, images as absolute paths (or embedded bytes for Parquet).

    ``purpose`` "training" or "validation" refuses the test split; "evaluation" allows any.
    """
    export_dir = Path(export_dir).resolve()
    info = manifest(export_dir)
    sizes = info.get("splits", {}).get("sizes", {})
    if split not in sizes:
        raise ValidationError(f"{export_dir} has no split {split!r} (it has {', '.join(sizes) or 'none'})")
    split_purpose = sizes[split].get("purpose", "")
    if purpose in TRAINABLE_PURPOSES and not (sizes[split].get("trainable") or split == "validation"):
        raise ValidationError(
            f"the {split} split is reserved ({split_purpose}); it is never used for {purpose}"
        )
    if info.get("images") == "dicom":
        raise ValidationError("training reads PNG exports; re-export with --images png")
    rows: list[dict[str, Any]] = []
    for rel in sizes[split].get("files", []):
        path = export_dir / rel
        rows.extend(_resolve_images(row, path.parent) for row in _read_file(path))
    return rows


def _read_file(path: Path) -> Iterable[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _resolve_images(row: dict[str, Any], base: Path) -> dict[str, Any]:
    # ImageFolder layouts name the images "file_names" (datasets renames it to "images").
    names = row.pop("file_names", None)
    if names is not None:
        row["images"] = names
    if "images" in row:
        row["images"] = [
            img if isinstance(img, dict) else str((base / img).resolve()) for img in row["images"] or []
        ]
    return row


def prompt_completion(row: Mapping[str, Any]) -> dict[str, Any]:
    """An export's conversational SFT row as TRL's prompt-completion row (same images).

    With a prompt and a completion, SFTTrainer's vision collator puts the loss on the completion
    only (the verified chain), not on the question the model is given.

    ```python
    >>> prompt_completion({"images": ["a.png"], "messages": [user, assistant]})
    {"images": ["a.png"], "prompt": [user], "completion": [assistant]}
    ```
    """
    messages = list(row["messages"])
    prompt = [dict(m) for m in messages if m["role"] != "assistant"]
    completion = [dict(m) for m in messages if m["role"] == "assistant"][-1:]
    if not completion:
        raise ValidationError("an SFT row without an assistant message")
    return {"images": list(row.get("images") or []), "prompt": prompt, "completion": completion}


def sft_dataset(rows: Sequence[Mapping[str, Any]], *, max_samples: int | None = None) -> Any:
    """A ``datasets.Dataset`` of prompt-completion rows whose images decode lazily (PIL on access)."""
    from datasets import Dataset, Image, List

    keep = [prompt_completion(r) for r in rows][:max_samples]
    if not keep:
        raise ValidationError("no SFT rows to train on")
    dataset = Dataset.from_list(keep)
    if any(r["images"] for r in keep):
        dataset = dataset.cast_column("images", List(Image()))
    else:
        dataset = dataset.remove_columns("images")
    return dataset


def attach_reports(rows: Iterable[dict[str, Any]], reports: Mapping[int, str | None]) -> list[dict[str, Any]]:
    """Rows with ``report`` set from ``reports`` (case id -> report text) where the row has a case_id."""
    out = []
    for row in rows:
        report = reports.get(row.get("case_id")) if row.get("case_id") is not None else None
        out.append({**row, "report": report or row.get("report") or ""})
    return out


def reports_for(*, session: Any, case_ids: Iterable[int]) -> dict[int, str | None]:
    """The report text of each case (None where the case has none)."""
    from sqlalchemy import select

    from review_db.models import Case

    ids = sorted({int(c) for c in case_ids})
    if not ids:
        return {}
    return dict(session.execute(select(Case.id, Case.report).where(Case.id.in_(ids))).all())


def answer_of(text: str) -> str | None:
    """The normalised answer inside ``<answer>...</answer>`` of an assistant message, or None."""
    from reasoner.parsing import parse_output

    return parse_output(text).answer


def split_messages(messages: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """(prompt messages, assistant text) of a conversational SFT row."""
    prompt = [dict(m) for m in messages if m["role"] != "assistant"]
    answer = next((m for m in reversed(messages) if m["role"] == "assistant"), None)
    if answer is None:
        raise ValidationError("an SFT row without an assistant message")
    content = answer["content"]
    text = (
        content
        if isinstance(content, str)
        else "".join(p.get("text", "") for p in content if p.get("type") == "text")
    )
    return prompt, text


def prompt_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The user's text of prompt messages (what a text PRM reads when there is no report)."""
    parts = []
    for m in messages:
        if m["role"] != "user":
            continue
        content = m["content"]
        parts.append(
            content
            if isinstance(content, str)
            else " ".join(p.get("text", "") for p in content if p.get("type") == "text")
        )
    return "\n".join(parts)
