"""Helpers for the reasoner tests (a uniquely named module: tests/ holds several conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "reasoner"
REAL_DATA = ROOT.parent / "shared" / "data" / "chestx_reasoner_openi_multi.json"
OPTIONS4 = ("option a", "option b", "option c", "option d")


def load_fixture_outputs() -> list[dict]:
    with open(FIXTURES / "outputs.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
