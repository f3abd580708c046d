"""Processors for the Qwen-VL family that work without torchvision, and a strict loader.

Contract: :func:`load_processor` returns a processor that handles images, or raises
:class:`reasoner.errors.ModelLoadError`; it never silently returns a bare tokenizer.

Why: transformers' ``Qwen2VLProcessor`` (and the 2.5/3 variants) also wants a video processor,
which exists only with torchvision. Without torchvision (the CPU machines here) the class cannot
be built and ``AutoProcessor.from_pretrained`` quietly falls back to the tokenizer alone. The
subclasses below take only an image processor and a tokenizer; they are registered with
``AutoProcessor`` for their configs, and :func:`load_processor` uses them for these families
even when a checkpoint names the original class in its ``processor_config.json``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from reasoner.errors import ModelLoadError

# model_type -> (processor module path, processor class, config class)
QWEN_FAMILIES = {
    "qwen2_vl": ("transformers.models.qwen2_vl", "Qwen2VLProcessor", "Qwen2VLConfig"),
    "qwen2_5_vl": ("transformers.models.qwen2_5_vl", "Qwen2_5_VLProcessor", "Qwen2_5_VLConfig"),
    "qwen3_vl": ("transformers.models.qwen3_vl", "Qwen3VLProcessor", "Qwen3VLConfig"),
}


def _image_only(base: type) -> type:
    """A subclass of ``base`` whose only sub-processors are an image processor and a tokenizer."""

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        base.__init__(self, image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    name = base.__name__.replace("Processor", "ImageOnlyProcessor")
    return type(name, (base,), {"__init__": __init__, "__module__": __name__, "__qualname__": name})


@functools.cache
def image_only_processor_classes() -> dict[str, type]:
    """model_type -> image-only processor class, registered with ``AutoProcessor`` (once)."""
    import importlib

    from transformers import AutoProcessor

    classes = {}
    for model_type, (module, proc_name, config_name) in QWEN_FAMILIES.items():
        mod = importlib.import_module(module)
        cls = _image_only(getattr(mod, proc_name))
        globals()[cls.__name__] = cls  # importable by name, so saved configs resolve
        AutoProcessor.register(getattr(mod, config_name), cls, exist_ok=True)
        classes[model_type] = cls
    return classes


def check_processor(processor: Any, where: str) -> Any:
    """Raise when ``processor`` cannot take images (a bare tokenizer, say)."""
    if getattr(processor, "image_processor", None) is None or getattr(processor, "tokenizer", None) is None:
        raise ModelLoadError(
            f"the processor loaded from {where} is a {type(processor).__name__}, not an image+text "
            "processor: the model directory needs preprocessor_config.json (image processor) and "
            "tokenizer files; for Qwen-VL models without torchvision use reasoner.processors"
        )
    return processor


def load_processor(path: str | Path, model_type: str) -> Any:
    """The image+text processor for a model directory or hub id of type ``model_type``."""
    from transformers import AutoProcessor

    classes = image_only_processor_classes()
    try:
        if model_type in classes:
            processor = classes[model_type].from_pretrained(str(path))
        else:
            processor = AutoProcessor.from_pretrained(str(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"cannot load the processor from {path}: {exc}") from exc
    return check_processor(processor, str(path))
