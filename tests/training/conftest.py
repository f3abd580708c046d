"""Fixtures of the training tests: tiny random-weight models built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Qwen2-VL with its processor (reasoner.tiny)."""
    from reasoner.tiny import build_tiny_qwen2vl

    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny-vlm") / "model", seed=0, max_pixels=56 * 56 * 4)


@pytest.fixture(scope="session")
def tiny_token_cls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.training.helpers import tiny_token_classifier

    return tiny_token_classifier(tmp_path_factory.mktemp("tiny-tokcls") / "model")
