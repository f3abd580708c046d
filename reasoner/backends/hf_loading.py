"""Loading a transformers vision-language model: path checks, device/dtype, LoRA adapter.

Contract: :func:`load_model` returns ``(model, processor, info)`` ready for generation, or raises
:class:`reasoner.errors.ModelLoadError` whose message names the path and what is missing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoner.errors import ModelLoadError
from reasoner.processors import load_processor

MODEL_DIR_CONTENTS = (
    "config.json, weights (*.safetensors or pytorch_model*.bin), tokenizer files (tokenizer.json or "
    "tokenizer_config.json with its vocabulary) and preprocessor_config.json (the image processor)"
)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True, slots=True)
class LoadedModel:
    model: Any
    processor: Any
    model_id: str
    model_type: str
    adapter: str | None
    device: str
    dtype: str
    cpu_threads: int | None = None


def choose_device_dtype(device: str | None = None, dtype: str | None = None) -> tuple[str, Any]:
    """CUDA with bfloat16 where a GPU is present, CPU with float32 otherwise; overridable."""
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype is None:
        bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
        return device, torch.bfloat16 if bf16 else (
            torch.float16 if device.startswith("cuda") else torch.float32
        )
    try:
        return device, getattr(torch, dtype)
    except AttributeError:
        raise ModelLoadError(f"unknown dtype {dtype!r} (use bfloat16, float16 or float32)") from None


def check_model_dir(path: Path) -> None:
    """Raise unless ``path`` is a directory holding a complete model."""
    missing = []
    if not path.is_dir():
        raise ModelLoadError(
            f"model path {path} is not a directory; a model directory must contain {MODEL_DIR_CONTENTS}"
        )
    if not (path / "config.json").is_file():
        missing.append("config.json")
    if not any(path.glob("*.safetensors")) and not any(path.glob("pytorch_model*.bin")):
        missing.append("weights (*.safetensors or pytorch_model*.bin)")
    if not any((path / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json")):
        missing.append("tokenizer files (tokenizer.json / tokenizer_config.json)")
    if not any((path / n).is_file() for n in ("preprocessor_config.json", "processor_config.json")):
        missing.append("preprocessor_config.json")
    if missing:
        raise ModelLoadError(
            f"model directory {path} lacks {', '.join(missing)}; a model directory must contain "
            f"{MODEL_DIR_CONTENTS}"
        )


def resolve_model(model: str | Path) -> str:
    """A local directory (checked) or a hub id; anything else is an error naming the path."""
    path = Path(model).expanduser()
    if path.exists():
        check_model_dir(path)
        return str(path.resolve())
    text = str(model)
    if _HUB_ID.match(text) and not text.startswith((".", "~")):
        return text
    raise ModelLoadError(
        f"model path {path} does not exist; give a local model directory containing {MODEL_DIR_CONTENTS}, "
        "or a hub id such as byrLLCC/ChestX-Reasoner"
    )


def _apply_adapter(model: Any, adapter: str | Path) -> Any:
    from peft import PeftModel

    apath = Path(adapter).expanduser()
    if not (apath / "adapter_config.json").is_file():
        raise ModelLoadError(
            f"LoRA adapter path {apath} has no adapter_config.json; an adapter directory is what "
            "peft's save_pretrained writes (adapter_config.json and adapter_model.safetensors)"
        )
    try:
        return PeftModel.from_pretrained(model, str(apath))
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot apply LoRA adapter {apath}: {exc}") from exc


def cpu_threads_for_generation(requested: int | None = None) -> int:
    """Torch threads for CPU generation: all cores but one unless ``requested``.

    Why: with every core in torch's pool, its spinning workers starve the thread that turns
    tokens into step events (and the web server): on 2 busy cores the step-done latency p99 went
    from ~5 ms to ~40 ms. This is process-wide (``torch.set_num_threads``).
    """
    import torch

    threads = requested or max(1, (os.cpu_count() or 1) - 1)
    torch.set_num_threads(threads)
    return threads


def load_model(
    model: str | Path,
    *,
    adapter: str | Path | None = None,
    device: str | None = None,
    dtype: str | None = None,
    cpu_threads: int | None = None,
) -> LoadedModel:
    """Model, processor and a description, from a local directory or a hub id.

    ``cpu_threads``: torch threads when running on the CPU (default: all cores but one).
    """
    from transformers import AutoConfig, AutoModelForImageTextToText

    model_id = resolve_model(model)
    device, torch_dtype = choose_device_dtype(device, dtype)
    try:
        config = AutoConfig.from_pretrained(model_id)
        net = AutoModelForImageTextToText.from_pretrained(model_id, dtype=torch_dtype)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(
            f"cannot load model {model_id}: {exc}. A hub id needs network access or a local cache; "
            f"a local directory must contain {MODEL_DIR_CONTENTS}"
        ) from exc
    processor = load_processor(model_id, config.model_type)
    if adapter is not None:
        net = _apply_adapter(net, adapter)
    net.to(device).eval()
    threads = cpu_threads_for_generation(cpu_threads) if device == "cpu" else None
    return LoadedModel(
        net,
        processor,
        model_id,
        config.model_type,
        str(adapter) if adapter else None,
        device,
        str(torch_dtype).removeprefix("torch."),
        threads,
    )
