"""Training data: the rows each trainer reads from an export folder.

Contract: the loop never reads review tables itself. It trains on an export of the verified
chains (:func:`training.snapshot.snapshot`) and reads it here: :func:`read_rows` reads one split
of an export folder; it refuses the test split unless ``purpose="evaluation"``, so no trainer can
take a gradient step on held-out cases by mistake.

Rows keep TRL's formats (see :mod:`exports.rows`): SFT rows have ``images`` (absolute
paths, or ``{"bytes", "path"}`` for Parquet exports) and ``messages``; PRM rows have ``prompt``,
``completions`` and ``labels``. A text PRM compares steps with the case's report, which exports
leave out by default; :func:`attach_reports` adds it back (from the database, by
:mod:`training.stages`) for the loop's own, never distributed, use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reasoner.parsing import parse_output
from review_db.errors import ValidationError

MANIFEST = "manifest.json"
TRAINABLE_PURPOSES = ("training", "validation")


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


def prm_splits(export_dir: Path | str, *, train_split: str, eval_split: str | None) -> dict[str, list]:
    """A PRM's rows by split: ``train``, ``validation`` (with an ``eval_split``) and ``test``.

    The test split is read for a held-out AUROC only: no gradient step, no model selection.
    """
    splits = {"train": read_rows(export_dir, train_split, purpose="training")}
    if eval_split:
        splits["validation"] = read_rows(export_dir, eval_split, purpose="validation")
    splits["test"] = read_rows(export_dir, "test", purpose="evaluation")
    return splits


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


def answer_of(text: str) -> str | None:
    """The normalised answer inside ``<answer>...</answer>`` of an assistant message, or None."""
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
