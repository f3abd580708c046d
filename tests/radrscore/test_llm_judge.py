"""The LLM judge over real HTTP against a tiny server that answers as an LLM would."""

from __future__ import annotations

import json
import socket

import pytest

from reasoner.radrscore import Flag, LLMJudge, LLMJudgeConfig, Sample, sample_score
from reasoner.radrscore.llm import parse_json_reply, status_from_text

from .judge_server import Script, judge_server

FINDINGS = json.dumps(
    {
        "key_conclusion": [
            {"observation": "Cardiomegaly", "status": "confirmed as present"},
            {"observation": "Left pleural effusion", "status": "confirmed"},
            {"observation": "Pneumothorax", "status": "not present"},
            {"observation": "Rib fracture", "status": "not present"},
        ]
    }
)
GOOD = {
    "findings": ["```json\n" + FINDINGS + "\n```"],
    "recall": [
        '{"recalled_findings": [{"observation": "Cardiomegaly", "status": "confirmed"}], "recalled_count": 3}'
    ],
    "precision": [
        'Here is the result:\n{"correct_steps": ["Cardiomegaly"], "correct_count": 2}\nHope this helps.'
    ],
    "efficiency": ['{"effective_steps": ["step one"], "effective_count": 1, "ineffective_count": 3}'],
}
SAMPLE = Sample(
    model_steps=("The heart is enlarged.", "There is a left pleural effusion."),
    reference_steps=("Cardiomegaly.", "Small left effusion.", "No pneumothorax."),
    report="Cardiomegaly, small left effusion.",
    model_text="<think>The heart is enlarged. There is a left pleural effusion.</think><answer>A</answer>",
)


def run(replies: dict[str, list[str | int]], samples: list[Sample] | None = None, **config):
    script = Script(replies)
    with judge_server(script) as url:
        judge = LLMJudge(LLMJudgeConfig(base_url=url, model="judge", timeout_s=10, **config))
        try:
            return judge.judge(samples or [SAMPLE]), script
        finally:
            judge.close()


def test_scores_come_from_the_replies_the_paper_way() -> None:
    (j,), script = run(GOOD)
    s = sample_score(j)
    assert (s.completeness, s.factuality, s.effectiveness) == (0.75, 0.5, 0.25)
    assert s.flags == ()
    assert [f.status.positive for f in j.model_findings] == [True, True, False, False]
    assert script.requests == {"findings": 2, "recall": 1, "precision": 1, "efficiency": 1}


def test_malformed_json_is_retried_once_then_recovered() -> None:
    replies = dict(GOOD, recall=['{"recalled_findings": [ oops', GOOD["recall"][0]])
    (j,), script = run(replies)
    assert sample_score(j).completeness == 0.75
    assert script.requests["recall"] == 2


def test_malformed_json_twice_gives_undefined_component_and_flag() -> None:
    replies = dict(GOOD, precision=["I think most steps are correct.", "{'correct_count': two}"])
    (j,), _ = run(replies)
    s = sample_score(j)
    assert s.factuality is None
    assert (s.completeness, s.effectiveness) == (0.75, 0.25)
    assert Flag.JUDGE_MALFORMED in s.flags


def test_wrong_shape_is_malformed_too() -> None:
    replies = dict(GOOD, efficiency=['{"effective_count": "many", "ineffective_count": 1}'])
    (j,), _ = run(replies)
    assert sample_score(j).effectiveness is None
    assert Flag.JUDGE_MALFORMED in j.flags


def test_http_500_gives_undefined_components_and_judge_error() -> None:
    replies = dict(GOOD, findings=[500])
    (j,), script = run(replies)
    s = sample_score(j)
    assert (s.completeness, s.factuality) == (None, None)
    assert s.effectiveness == 0.25  # the efficiency call does not need the findings
    assert Flag.JUDGE_ERROR in s.flags
    assert script.requests["findings"] == 4  # two chains, two attempts each
    assert "recall" not in script.requests


def test_unreachable_endpoint_never_raises() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    judge = LLMJudge(LLMJudgeConfig(base_url=f"http://127.0.0.1:{port}/v1", model="judge", timeout_s=2))
    (j,) = judge.judge([SAMPLE])
    s = sample_score(j)
    assert (s.completeness, s.factuality, s.effectiveness) == (None, None, None)
    assert Flag.JUDGE_ERROR in s.flags and "errors" in j.detail


def test_empty_chain_needs_no_calls_and_is_flagged() -> None:
    empty = Sample(model_steps=(), reference_steps=(), report="")
    (j,), script = run(GOOD, [empty])
    s = sample_score(j)
    assert (s.completeness, s.factuality, s.effectiveness) == (None, None, None)
    assert {Flag.NO_MODEL_STEPS, Flag.NO_REFERENCE} <= set(s.flags)
    assert sum(script.requests.values()) == 0


def test_many_samples_concurrently_keep_their_order() -> None:
    samples = [SAMPLE, Sample(model_steps=(), reference_steps=("Cardiomegaly.",)), SAMPLE]
    judgements, _ = run(GOOD, samples, concurrency=3)
    assert [sample_score(j).completeness for j in judgements] == [0.75, 0.0, 0.75]


@pytest.mark.parametrize(
    ("reply", "ok"),
    [('```json\n{"a": 1}\n```', True), ('Sure! {"a": 1} Done.', True), ("[1, 2]", False), ("{bad", False)],
)
def test_parse_json_reply(reply: str, ok: bool) -> None:
    if ok:
        assert parse_json_reply(reply) == {"a": 1}
    else:
        with pytest.raises(Exception, match="JSON"):
            parse_json_reply(reply)


def test_status_from_text() -> None:
    assert not status_from_text("not present").positive
    assert not status_from_text("Normal, no effusion").positive
    assert status_from_text("confirmed as cardiomegaly").positive
    assert status_from_text("improved since prior").value == "improved"
