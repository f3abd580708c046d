"""Fixtures for the RadRScore tests: the offline (learned) judge and the rule judge (one model
load per session), the hand-written items under tests/fixtures/radrscore, and the real data where
../shared has it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "radrscore"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
REAL = SHARED / "chestx_reasoner_openi_multi.json"


@pytest.fixture(scope="session")
def judge():
    """The offline default: the learned judge with the shipped parameters."""
    from reasoner.radrscore import OfflineJudge
    from reasoner.radrscore.embedding import default_embedder

    return OfflineJudge(embedder=default_embedder())


@pytest.fixture(scope="session")
def rule_judge():
    """Issue 7's rule judge (hand-tuned thresholds)."""
    from reasoner.radrscore import RuleJudge
    from reasoner.radrscore.embedding import default_embedder

    return RuleJudge(embedder=default_embedder())


@pytest.fixture(scope="session")
def fixture_path() -> Path:
    return FIXTURES / "items.json"


@pytest.fixture(scope="session")
def fixture_items(fixture_path: Path) -> list[dict]:
    return json.loads(fixture_path.read_text())


@pytest.fixture(scope="session")
def real_items() -> list[dict]:
    if not REAL.exists():
        pytest.skip("../shared/data is absent: real-data checks skipped")
    return json.loads(REAL.read_text())


@pytest.fixture(scope="session")
def judged_files() -> list[Path]:
    """The judged evaluation files of ../shared/data (skips where they are absent)."""
    from reasoner.radrscore.refit import judged_files as find

    files = find([SHARED]) if SHARED.exists() else []
    if not files:
        pytest.skip("../shared/data is absent: real-data checks skipped")
    return files
