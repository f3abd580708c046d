"""Training images, resized once: to the size the model's processor would resize them to anyway.

Contract: :func:`prepare_images` returns the rows with each image path replaced by a copy at the
processor's target size (Qwen-VL's ``smart_resize``: a multiple of patch x merge size, within the
pixel bounds), written once into ``cache_dir`` and reused by later epochs, stages and runs.

Why: exports keep radiographs large (up to 2048 px a side). Without this, every step of every
epoch decodes the full-size PNG and resizes it, on the CPU that feeds the accelerator; with it,
a step decodes a small PNG the processor no longer needs to resize. The pixels the model sees are
the same up to PNG round-off (the same bicubic resize, done earlier).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def processor_bounds(processor: Any) -> tuple[int, int, int] | None:
    """(factor, min_pixels, max_pixels) of a Qwen-VL image processor's resize; None for others."""
    ip = getattr(processor, "image_processor", None)
    if ip is None or not hasattr(ip, "merge_size"):
        return None  # not a Qwen-VL-style processor: leave the images alone
    size = ip.size
    get = size.get if hasattr(size, "get") else (lambda k: getattr(size, k, None))
    return int(ip.patch_size * ip.merge_size), int(get("shortest_edge")), int(get("longest_edge"))


def target_size(width: int, height: int, *, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """(width, height) after the processor's resize."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    h, w = smart_resize(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    return w, h


def _resized(path: str, bounds: tuple[int, int, int], cache_dir: Path) -> str:
    from PIL import Image

    with Image.open(path) as img:  # reads the header only
        size = target_size(*img.size, factor=bounds[0], min_pixels=bounds[1], max_pixels=bounds[2])
        if size == img.size:
            return path
        key = hashlib.sha256(f"{Path(path).resolve()}|{size}".encode()).hexdigest()[:24]
        out = cache_dir / f"{key}.png"
        if not out.exists():
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".tmp")
            img.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(
                tmp, format="PNG", compress_level=1
            )
            tmp.replace(out)  # atomic: a concurrent rank never reads half a file
        return str(out)


def prepare_images(
    rows: Sequence[Mapping[str, Any]], *, processor: Any, cache_dir: Path
) -> list[dict[str, Any]]:
    """``rows`` with image paths replaced by processor-sized copies (see the module docstring)."""
    bounds = processor_bounds(processor)
    out = []
    for row in rows:
        images = row.get("images") or []
        if bounds is None or not images:
            out.append(dict(row))
            continue
        out.append(
            {
                **row,
                "images": [
                    img if isinstance(img, dict) else _resized(img, bounds, cache_dir) for img in images
                ],
            }
        )
    return out
