"""The LLM judge is sent its own key (CHESTX_JUDGE_API_KEY), never the reasoner's."""

from __future__ import annotations

import pytest

from chestx.cli.evaluate import JudgeKind, _judge
from chestx.settings import get_settings


@pytest.mark.parametrize(("judge_key", "sent"), [("judge-secret-0123", "judge-secret-0123"), (None, None)])
def test_the_judge_gets_its_own_key_only(monkeypatch: pytest.MonkeyPatch, judge_key, sent) -> None:  # noqa: ANN001
    monkeypatch.setenv("CHESTX_OPENAI_API_KEY", "reasoner-secret-4567")
    if judge_key:
        monkeypatch.setenv("CHESTX_JUDGE_API_KEY", judge_key)
    else:
        monkeypatch.delenv("CHESTX_JUDGE_API_KEY", raising=False)
    get_settings.cache_clear()
    try:
        judge = _judge(JudgeKind.llm, "http://127.0.0.1:9/v1", "judge-model", 1)
    finally:
        get_settings.cache_clear()
    assert judge.config.api_key == sent
    judge.close()
