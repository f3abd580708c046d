"""Helpers of the training tests: tiny models, export folders in the export's layout, rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

PURPOSE = {
    "train": "training",
    "validation": "model selection during training (never a gradient step)",
    "test": "held-out evaluation only: never train on it",
}


def xray(seed: int, size: int = 56) -> Image.Image:
    """A small synthetic grey image (the tiny model does not care what it shows)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((size, size)) * 255).astype("uint8")).convert("RGB")


def sft_row(
    i: int, *, steps: Sequence[str], answer: str, question: str = "Is there a pleural effusion?"
) -> dict[str, Any]:
    prompt = f"{question} Options:\nA) Yes\nB) No\nLet's think step by step."
    chain = f"<think> {' '.join(steps)} </think><answer> {answer} </answer>"
    return {
        "id": f"chain-{i}",
        "case_id": i,
        "patient": f"P-{i}",
        "messages": [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]},
            {"role": "assistant", "content": [{"type": "text", "text": chain}]},
        ],
    }


def write_export(
    root: Path, *, kind: str, splits: Mapping[str, Sequence[Mapping[str, Any]]], image_size: int = 56
) -> Path:
    """An export folder in exports's layout (ImageFolder jsonl for sft, data/*.jsonl for prm)."""
    root.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for split in ("train", "validation", "test"):
        rows = [dict(r) for r in splits.get(split, [])]
        rel = f"{split}/metadata.jsonl" if kind == "sft" else f"data/{split}.jsonl"
        sizes[split] = {
            "rows": len(rows),
            "files": [rel] if rows else [],
            "purpose": PURPOSE[split],
            "trainable": split == "train",
        }
        if not rows:  # like the export: an empty split has no file
            continue
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        with (root / rel).open("w", encoding="utf-8") as fh:
            for n, row in enumerate(rows):
                if kind == "sft":
                    name = f"images/{split}-{n}.png"
                    (root / split / "images").mkdir(parents=True, exist_ok=True)
                    xray(n + 1000 * ("train", "validation", "test").index(split), image_size).save(
                        root / split / name
                    )
                    row = {**row, "file_names": [name]}
                fh.write(json.dumps(row) + "\n")
        sizes[split] = {
            "rows": len(rows),
            "files": [rel] if rows else [],
            "purpose": PURPOSE[split],
            "trainable": split == "train",
        }
    files = {  # like the export: every data file's sha256 (image digests the trainer can reuse)
        str(f.relative_to(root)): {
            "sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
            "bytes": f.stat().st_size,
        }
        for f in sorted(root.rglob("*"))
        if f.is_file() and f.name != "manifest.json"
    }
    manifest = {
        "chestx_export": 1,
        "kind": kind,
        "format": "jsonl",
        "images": "png" if kind == "sft" else "none",
        "snapshot_hash": "test",
        "splits": {"by": "patient", "seed": 0, "sizes": sizes},
        "files": files,
    }
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def tiny_token_classifier(out_dir: Path) -> Path:
    """A tiny random Qwen2 token-classification model (2 labels) with the tiny VLM's tokenizer."""
    import torch
    from transformers import Qwen2Config, Qwen2ForTokenClassification

    from reasoner.tiny import _tokenizer

    tokenizer = _tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        num_labels=2,
        pad_token_id=tokenizer.pad_token_id,
        max_position_embeddings=2048,
    )
    torch.manual_seed(0)
    Qwen2ForTokenClassification(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
