"""Prompts for every task type, and the event stream built from text deltas."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from reasoner.events import Answer, Finished, StepDone, StepStarted, TextDelta, collect, events_from_deltas
from reasoner.prompts import THINK_INSTRUCTION, Task, TaskType, build_messages, build_prompt, make_task

REAL_STYLE = "Which findings are in this chest X-ray? Options:\nA) effusion\nB) nodule\n" + THINK_INSTRUCTION


def test_prompt_matches_chestx_reasoner_format():
    task = make_task("multiple_choice", "Which findings are in this chest X-ray?", ["effusion", "nodule"])
    assert build_prompt(task) == REAL_STYLE


def test_prompt_equals_real_questions(real_items):
    for item in real_items[:10]:
        question, rest = item["question"].split(" Options:\n", 1)
        options = re.findall(r"^[A-D]\) (.*)$", rest, re.MULTILINE)
        assert build_prompt(make_task("multiple_choice", question, options)) == item["question"]


@pytest.mark.parametrize("kind", list(TaskType))
def test_every_task_type_builds_messages(kind):
    question = None if kind in ("open_findings", "temporal") else "Is there an effusion?"
    options = None if kind in ("binary", "open_findings", "temporal") else ["a", "b", "c"]
    task = make_task(kind, question, options)
    images = [Image.new("L", (64, 64))] * task.n_images
    chat = build_messages(task, images, system_prompt="Be careful.")
    assert chat.messages[0] == {"role": "system", "content": [{"type": "text", "text": "Be careful."}]}
    user = chat.messages[1]["content"]
    assert [p["type"] for p in user] == ["image"] * task.n_images + ["text"]
    assert user[-1]["text"].endswith(THINK_INSTRUCTION)
    if kind == "binary":
        assert "A) Yes\nB) No" in user[-1]["text"]
    if kind == "temporal":
        assert "prior" in user[-1]["text"] and len(chat.images) == 2
    if kind == "open_findings":
        assert "Options:" not in user[-1]["text"]


def test_bad_tasks_are_refused():
    with pytest.raises(ValueError, match="two images|image"):
        build_messages(make_task("temporal"), [Image.new("L", (8, 8))])
    with pytest.raises(ValueError, match="at least two options"):
        make_task("single_choice", "Q?", ["only"])
    with pytest.raises(ValueError, match="empty"):
        Task(TaskType.binary, "  ")
    assert (
        build_messages(make_task("binary", "Q?"), [Image.new("L", (8, 8))], system_prompt=None).messages[0][
            "role"
        ]
        == "user"
    )


def test_events_arrive_in_order():
    raw = "<think> Lungs are clear. Heart is normal. No effusion. </think><answer> B </answer>"
    events = list(events_from_deltas([raw[i : i + 4] for i in range(0, len(raw), 4)], options=["x", "y"]))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "StepStarted" and kinds[-1] == "Finished" and kinds.count("Finished") == 1
    current = -1
    texts: dict[int, str] = {}
    for e in events:
        if isinstance(e, StepStarted):
            assert e.index == current + 1
            current = e.index
        elif isinstance(e, TextDelta):
            assert e.index == current
            texts[e.index] = texts.get(e.index, "") + e.text
        elif isinstance(e, StepDone):
            assert e.index == current and texts[e.index] == e.text
    done = [e.text for e in events if isinstance(e, StepDone)]
    assert done == ["Lungs are clear.", "Heart is normal.", "No effusion."]
    assert [e for e in events if isinstance(e, Answer)] == [Answer("B", "B")]
    fin = events[-1]
    assert isinstance(fin, Finished) and fin.status == "complete" and fin.raw == raw


def test_finish_reasons_flag_incomplete():
    fin = collect(events_from_deltas(["<think>Lungs are clear. Heart"], finish_reason="length"))
    assert {"incomplete", "truncated"} <= fin.flags and fin.status == "incomplete"
    fin = collect(events_from_deltas([], finish_reason="cancelled"))
    assert fin.status == "incomplete" and "empty" in fin.flags
