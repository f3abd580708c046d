"""Loading the reasoner's vision-language model for training and evaluation.

Contract: :func:`load_vlm` returns ``(model, processor)`` for a model directory or hub id, with an
optional LoRA adapter on top (trainable or merged for inference), and a processor that really
handles images (:func:`reasoner.processors.load_processor` raises instead of silently returning a
tokenizer). :func:`bound_image_size` caps the pixels per image, which is what bounds the number
of image tokens, and so the memory and time of every step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reasoner.processors import load_processor as strict_load
from training.arguments import resolve_dtype


def model_type_of(model_name_or_path: str) -> str:
    """``config.json``'s model_type of a local directory (or the hub id's, through transformers)."""
    config = Path(model_name_or_path) / "config.json"
    if config.is_file():
        return json.loads(config.read_text(encoding="utf-8")).get("model_type", "")
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(model_name_or_path).model_type


def load_processor(
    model_name_or_path: str, *, max_pixels: int | None = None, min_pixels: int | None = None
) -> Any:
    """The image+text processor of the model, with the image size bounded (see module docstring)."""
    processor = strict_load(model_name_or_path, model_type_of(model_name_or_path))
    bound_image_size(processor, max_pixels=max_pixels, min_pixels=min_pixels)
    tokenizer = processor.tokenizer
    if tokenizer.pad_token is None:  # batching needs one; the EOS is the usual stand-in
        tokenizer.pad_token = tokenizer.eos_token
    return processor


def bound_image_size(processor: Any, *, max_pixels: int | None, min_pixels: int | None = None) -> None:
    """Set the Qwen-VL image processor's pixel bounds (``size`` longest/shortest edge in pixels)."""
    image_processor = getattr(processor, "image_processor", None)
    if image_processor is None or (max_pixels is None and min_pixels is None):
        return
    current = image_processor.size
    get = current.get if hasattr(current, "get") else (lambda k: getattr(current, k, None))
    size = {
        "shortest_edge": int(min_pixels or get("shortest_edge") or 56 * 56),
        "longest_edge": int(max_pixels or get("longest_edge") or 28 * 28 * 1280),
    }
    image_processor.size = size


def load_policy(model_args: Any) -> tuple[Any, Any]:
    """(model, peft_config) for SFT and GRPO: the base model with the parent version's adapter
    trainable when ``model_args.adapter_path`` is set (then no new LoRA), else a fresh LoRA."""
    from trl import get_peft_config

    model = load_vlm(
        model_args.model_name_or_path,
        adapter_path=model_args.adapter_path,
        trainable_adapter=True,
        dtype=model_args.dtype,
    )
    return model, None if model_args.adapter_path else get_peft_config(model_args)


def load_vlm(
    model_name_or_path: str,
    *,
    adapter_path: str | None = None,
    trainable_adapter: bool = False,
    dtype: str | None = None,
    device: str | None = None,
) -> Any:
    """The model, with ``adapter_path`` applied: trainable (a PeftModel to keep training) or merged.

    ``dtype`` is "bfloat16", "float16", "float32", "auto" (this machine's:
    :func:`training.arguments.resolve_dtype`) or None (the checkpoint's).
    """
    import torch
    from transformers import AutoModelForImageTextToText

    kwargs: dict[str, Any] = {}
    dtype = resolve_dtype(dtype)
    if dtype:
        kwargs["dtype"] = getattr(torch, dtype)
    model = AutoModelForImageTextToText.from_pretrained(model_name_or_path, **kwargs)
    if adapter_path:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter_path, is_trainable=trainable_adapter)
        if not trainable_adapter:
            model = model.merge_and_unload()
    if device:
        model = model.to(device)
    return model
