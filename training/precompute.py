"""SFT rows processed once per run: token ids, labels and pixel values cached on disk; a collator
that only pads and stacks.

Contract: :func:`precompute` turns an export's SFT rows into a ``datasets.Dataset`` whose items
are the tensors TRL's vision collator would have produced for each row on its own
(``input_ids``, ``attention_mask``, ``labels`` with the prompt masked, ``pixel_values``,
``image_grid_thw``, ``mm_token_type_ids``...). :class:`PaddingCollator` batches those items:
sequences right-padded, image tensors concatenated; no decoding, no image processor, no chat
template, no tokenisation per step. With ``dataset_kwargs={"skip_prepare_dataset": True}`` and
``remove_unused_columns=False`` TRL's ``SFTTrainer`` trains on them as they are
(:func:`training.sft.main`). The loss is the one TRL's ``DataCollatorForVisionLanguageModeling``
gives on the same batch (tests/training/test_precompute.py checks it).

Why: without torchvision the image processor runs in PIL/numpy; decoding and normalising a
radiograph costs tens of milliseconds, more than a step of a small model, and the vision collator
paid it on every step of every epoch. Here it is paid once per row.

The cache (``cache_dir``, one safetensors file per row) is content-addressed: the key hashes the
row's messages, its images' bytes (their sha256 from the export's manifest when it has them) and
the processor (image processor settings, tokenizer, chat template) and library versions. A later
run, or a later epoch, on a new snapshot of the same verified cases finds its rows there and only
processes the cases that are new. Pixel values are stored in the dtype the vision tower casts
them to (Qwen-VL: ``pixel_values.type(self.visual.dtype)``), so a bf16 model costs half the disk
and sees the same numbers. Deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.data import manifest
from training.images import processor_bounds, target_size

FORMAT = 1
# Per-token tensors, padded on the right with these values (input_ids: the tokenizer's pad id).
SEQUENCE_PADS: dict[str, int | None] = {
    "input_ids": None,
    "attention_mask": 0,
    "labels": -100,
    "mm_token_type_ids": 0,
    "token_type_ids": 0,
}
PATH_COLUMN = "tensors_path"


def processor_fingerprint(processor: Any) -> str:
    """A hash of everything in the processor that changes the tensors of a row."""
    import datasets
    import transformers
    import trl

    tokenizer = processor.tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # Padding and truncation state changes with every call (padding=True turns it on): not the
        # tokenizer's identity, so left out of the key.
        backend = {
            k: v for k, v in json.loads(backend.to_str()).items() if k not in ("padding", "truncation")
        }
    parts = [
        f"format={FORMAT} trl={trl.__version__} transformers={transformers.__version__}",
        f"datasets={datasets.__version__}",
        type(processor).__name__,
        processor.image_processor.to_json_string(),
        json.dumps(backend if backend is not None else tokenizer.get_vocab(), sort_keys=True),
        str(getattr(processor, "chat_template", None) or getattr(tokenizer, "chat_template", "")),
        json.dumps(tokenizer.special_tokens_map, sort_keys=True, default=str),
    ]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def image_digest(image: Any, known: Mapping[str, str]) -> str:
    """sha256 of an image's bytes: from ``known`` (path -> sha256, the manifest's), else computed."""
    if isinstance(image, Mapping):  # Parquet exports embed the bytes
        if image.get("bytes") is not None:
            return hashlib.sha256(image["bytes"]).hexdigest()
        image = image["path"]
    path = str(image)
    if path in known:
        return known[path]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_digests(export_dir: Path | str) -> dict[str, str]:
    """Absolute path -> sha256 of every file an export's manifest lists (empty when it lists none)."""
    root = Path(export_dir).resolve()
    files = manifest(root).get("files") or {}
    return {str((root / rel).resolve()): entry["sha256"] for rel, entry in files.items() if "sha256" in entry}


def row_key(row: Mapping[str, Any], *, fingerprint: str, known: Mapping[str, str], settings: str) -> str:
    """The cache key of one prompt-completion row (see the module docstring)."""
    content = json.dumps(
        {"prompt": row["prompt"], "completion": row["completion"]}, sort_keys=True, default=str
    )
    images = [image_digest(img, known) for img in row.get("images") or []]
    text = "\x00".join([fingerprint, settings, content, *images])
    return hashlib.sha256(text.encode()).hexdigest()


def _decode(image: Any, processor: Any) -> Any:
    # The decoding the trainer's dataset does (datasets' Image feature), so the pixels are the same.
    from datasets import Image

    value = dict(image) if isinstance(image, Mapping) else {"path": str(image), "bytes": None}
    return _presized(Image().decode_example(value), processor)


def _presized(image: Any, processor: Any) -> Any:
    """A grayscale radiograph resized to the processor's size in its one band, then made RGB.

    Qwen2-VL's PIL image processor converts to RGB first and resizes the three equal bands; PIL
    resamples each band alike, so resizing the one band first gives the same pixels (the
    processor's own resize to the size it already has is then a copy) at a third of the cost.
    Anything else is left to the processor.
    """
    ip = getattr(processor, "image_processor", None)
    bounds = processor_bounds(processor)
    if (
        image.mode != "L"
        or bounds is None
        or not type(ip).__module__.startswith("transformers.models.qwen2_vl.")
        or not (getattr(ip, "do_resize", False) and getattr(ip, "do_convert_rgb", False))
        or not isinstance(getattr(ip, "resample", None), int)
    ):
        return image
    factor, min_pixels, max_pixels = bounds
    size = target_size(*image.size, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    return image.resize(size, resample=ip.resample).convert("RGB")


def encode_row(row: Mapping[str, Any], *, collator: Any, pixel_dtype: Any = None) -> dict[str, Any]:
    """The tensors of one prompt-completion row: TRL's vision collator on a batch of one.

    ```python
    >>> encode_row({"images": ["a.png"], "prompt": [user], "completion": [assistant]}, collator=c)
    {"input_ids": [L], "attention_mask": [L], "labels": [L], "pixel_values": [patches, D],
     "image_grid_thw": [1, 3], "mm_token_type_ids": [L]}
    ```
    """
    example = {
        "images": [_decode(img, collator.processor) for img in row.get("images") or []],
        "prompt": [dict(m) for m in row["prompt"]],
        "completion": [dict(m) for m in row["completion"]],
    }
    out = {}
    for name, value in collator([example]).items():
        if name in SEQUENCE_PADS:
            value = value[0]  # a batch of one: no padding, drop the batch dimension
        elif pixel_dtype is not None and value.is_floating_point():
            value = value.to(pixel_dtype)
        out[name] = value.contiguous()
    return out


@dataclass
class PaddingCollator:
    """Batches :func:`encode_row` items: sequences right-padded, everything else concatenated.

    Qwen-VL processors batch images by concatenating their patches (``pixel_values``: patches x
    dim) and grids (``image_grid_thw``: images x 3), which is what concatenation along the first
    dimension reproduces.
    """

    pad_token_id: int

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        batch: dict[str, Any] = {}
        for name in features[0]:
            values = [f[name] for f in features if f.get(name) is not None]
            if name in SEQUENCE_PADS:
                pad = self.pad_token_id if SEQUENCE_PADS[name] is None else SEQUENCE_PADS[name]
                batch[name] = torch.nn.utils.rnn.pad_sequence(
                    values, batch_first=True, padding_value=pad, padding_side="right"
                )
            elif values:
                batch[name] = torch.cat(values, dim=0)
        return batch


def _load(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
    # datasets' transform: paths in, tensors out (a memory-mapped read of a few MB per row).
    from safetensors.torch import load_file

    loaded = [load_file(path) for path in batch[PATH_COLUMN]]
    names = list(dict.fromkeys(n for item in loaded for n in item))
    return {n: [item.get(n) for item in loaded] for n in names}


def _write(path: Path, tensors: dict[str, Any], key: str) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{time.monotonic_ns()}.tmp")
    save_file(tensors, str(tmp), metadata={"format": str(FORMAT), "key": key})
    tmp.replace(path)  # atomic: a concurrent rank or run never reads half a file


def precompute(
    rows: Sequence[Mapping[str, Any]],
    *,
    processor: Any,
    cache_dir: Path | str,
    known_digests: Mapping[str, str] | None = None,
    max_length: int | None = None,
    pixel_dtype: Any = None,
) -> tuple[Any, dict[str, Any]]:
    """(dataset of precomputed rows, stats) for prompt-completion rows.

    ``rows`` are :func:`training.data.prompt_completion` rows of an export. Rows already in
    ``cache_dir`` are not processed again. Stats: rows, processed, cached, seconds.
    """
    from datasets import Dataset
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    t0 = time.perf_counter()
    collator = DataCollatorForVisionLanguageModeling(
        processor=processor, max_length=max_length, completion_only_loss=True
    )
    fingerprint = processor_fingerprint(processor)
    settings = f"max_length={max_length} pixel_dtype={pixel_dtype}"
    cache = Path(cache_dir)
    paths, processed = [], 0
    for row in rows:
        key = row_key(row, fingerprint=fingerprint, known=known_digests or {}, settings=settings)
        path = cache / key[:2] / f"{key}.safetensors"
        if not path.exists():
            _write(path, encode_row(row, collator=collator, pixel_dtype=pixel_dtype), key)
            processed += 1
        paths.append(str(path))
    dataset = Dataset.from_dict({PATH_COLUMN: paths})
    dataset.set_transform(_load)
    stats = {
        "rows": len(paths),
        "processed": processed,
        "cached": len(paths) - processed,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return dataset, stats
