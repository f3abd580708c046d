"""Chains for the step-error task: the project's own fixture, or the real outputs when present.

``tests/fixtures/training/chains.json`` was written for these tests (synthetic reports and
reasoning steps); the real ChestX-Reasoner outputs in ../shared/data are used only where that
folder exists, and are never copied into the repository (their licence forbids it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "training" / "chains.json"
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "chestx_reasoner_openi_multi.json"


def fixture_items() -> list[dict[str, Any]]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def real_items() -> list[dict[str, Any]]:
    """The 102 real items (question, original_report, reason_steps); skips when absent."""
    if not REAL.is_file():
        pytest.skip(f"{REAL} not present (real data is optional; the fixture test covers the code)")
    return json.loads(REAL.read_text(encoding="utf-8"))
