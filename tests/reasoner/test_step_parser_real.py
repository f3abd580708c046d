"""The parser on the 102 real ChestX-Reasoner outputs (skipped where ../shared/data is absent)."""

from __future__ import annotations

import re

from reasoner.parsing import StepStream, parse_output

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def _options(question: str) -> list[str]:
    return re.findall(r"^[A-D]\) (.*)$", question, re.MULTILINE)


def _answer_in_pred(pred: str) -> str | None:
    """The letter inside the model's own <answer> (the prompt's empty pair comes first)."""
    output = pred[pred.index("\nassistant\n") :]
    found = _ANSWER.findall(output)
    return found[-1].strip() if found else None


def test_every_real_output_has_steps_and_its_answer(real_items):
    assert len(real_items) == 102
    for item in real_items:
        chain = parse_output(item["pred"], options=_options(item["question"]))
        assert len(chain.steps) >= 2, item["item_id"] if "item_id" in item else item["pred"][-200:]
        assert chain.answer == _answer_in_pred(item["pred"])
        assert "chat_template_stripped" in chain.flags
        assert "Options:" not in chain.reasoning
        assert " ".join(chain.steps).split() == chain.reasoning.split()


def test_real_outputs_stream_token_by_token_like_batch(real_items):
    for item in real_items[:20]:
        pred = item["pred"]
        stream = StepStream()
        for word in re.split(r"(?<= )", pred):  # word-sized deltas, as a streamer gives them
            stream.feed(word)
        assert stream.finish() == parse_output(pred)


def test_only_the_truncated_real_output_is_malformed(real_items):
    malformed = [it for it in real_items if parse_output(it["pred"]).malformed]
    assert len(malformed) == 1
    chain = parse_output(malformed[0]["pred"])
    assert {"unclosed_think", "truncated", "no_answer"} <= chain.flags
