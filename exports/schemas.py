"""Column types of the row kinds, as ``datasets`` features (Parquet files carry them).

Contract: :func:`features_for` gives the ``datasets.Features`` of a kind's rows, and
:func:`arrow_schema` the Arrow schema with those features in its metadata, so that
``datasets.load_dataset`` restores the Image and List types of a Parquet export exactly. JSON
lines need no schema (``datasets`` infers the same one). ``datasets`` is imported only here and
only when a Parquet export of rows is written.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def features_for(kind: str, images: str) -> Any:
    """``datasets.Features`` of ``kind`` ("sft", "prm", "pairs") rows with ``images`` ("png" embeds
    the PNG bytes, "dicom" lists paths, "none" has no images column)."""
    from datasets import Features, Image, List, Value

    text = Value("string")
    messages = List({"role": text, "content": List({"type": text, "text": text})})
    columns: dict[str, Any] = {
        "id": text,
        "case_id": Value("int64"),
        "chain_id": Value("int64"),
        "patient": text,
        "task_type": text,
        "model_version": text,
        "reviewers": Value("int64"),
    }
    if kind == "prm":
        columns.update(source=text, prompt=text, completions=List(text), labels=List(Value("bool")))
        return Features(columns)
    if images == "png":
        columns["images"] = List(Image())
    elif images == "dicom":
        columns["images"] = List(text)
    if kind == "sft":
        columns["messages"] = messages
    elif kind == "pairs":
        columns.update(prompt=messages, chosen=messages, rejected=messages)
    else:
        raise ValueError(f"no row features for kind {kind!r}")
    return Features(columns)


def arrow_schema(kind: str, images: str) -> pa.Schema:
    """The Arrow schema of a Parquet file of ``kind`` rows, ``datasets`` features in its metadata."""
    return features_for(kind, images).arrow_schema
