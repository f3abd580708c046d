"""Shared fixtures for the reasoner tests: the real outputs (where present), a tiny model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from reasoner_helpers import REAL_DATA

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def real_items() -> list[dict]:
    """The 102 real ChestX-Reasoner outputs; the test is skipped where the file is absent."""
    if not REAL_DATA.exists():
        pytest.skip(f"real data not present at {REAL_DATA}")
    return json.loads(REAL_DATA.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random-weight Qwen2-VL with its processor, built once per session."""
    from reasoner.tiny import build_tiny_qwen2vl

    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny-qwen2vl"))
