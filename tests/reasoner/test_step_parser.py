"""The step parser: fixtures, edge cases and properties (never raises, lossless, chunk-invariant)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reasoner_helpers import OPTIONS4, load_fixture_outputs

from reasoner.answers import infer_answer, parse_answer
from reasoner.parsing import MALFORMED_IF, ParsedChain, StepStream, parse_output, step_body

FIXTURES = load_fixture_outputs()


def assert_lossless(chain: ParsedChain) -> None:
    """Each step is its span of the reasoning, and nothing but whitespace lies outside spans."""
    text = chain.reasoning
    last = 0
    assert len(chain.steps) == len(chain.spans)
    for step, (a, b) in zip(chain.steps, chain.spans, strict=True):
        assert text[a:b] == step
        assert step == step.strip() and step
        assert text[last:a].strip() == ""
        last = b
    assert text[last:].strip() == ""
    assert " ".join(chain.steps).split() == text.split()


@pytest.mark.parametrize("item", FIXTURES, ids=[f["id"] for f in FIXTURES])
def test_fixture_outputs(item):
    chain = parse_output(item["pred"], options=OPTIONS4)
    assert chain.answer == item["answer"]
    assert len(chain.steps) >= item["min_steps"]
    assert set(item["flags"]) <= chain.flags
    assert ("malformed" in item["flags"]) == chain.malformed
    assert_lossless(chain)


def test_paragraph_splits_at_sentences_not_abbreviations():
    chain = parse_output(FIXTURES[0]["pred"], options=OPTIONS4)
    assert chain.steps[0].endswith("approx. 0.6 on this PA view.")
    assert "e.g. by a small effusion of about 7.5 mm depth." in chain.steps[1]
    assert "i.e. the pleural line" in chain.steps[2]
    assert chain.steps[-1].startswith("In conclusion")
    assert "<think>" not in chain.reasoning and "assistant" not in chain.reasoning


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("Dr. Smith compared it vs. the prior. It is unchanged.", 2),
        ("The tube is 4.5 cm above the carina. Good position.", 2),
        ("Nodules, cysts, etc. are absent. Heart normal.", 2),
        ("Findings: 1. Cardiomegaly. 2. Effusion.", 2),
        ("1) Lungs clear.\n2) Heart normal.\n3) No effusion.", 3),
        ("Findings\nThe lungs are clear.\nThe heart is normal.", 2),
        ("The lungs are clear and\nwell expanded. Heart normal.", 2),
        ("No. The heart is normal.", 1),
        ("- Lungs clear. Well expanded.\n- Heart normal", 2),
    ],
)
def test_segmentation_rules(text, steps):
    chain = parse_output(f"<think>{text}</think><answer>A</answer>")
    assert len(chain.steps) == steps, chain.steps
    assert_lossless(chain)


def test_truncated_leftover_stays_its_own_step():
    chain = parse_output("<think>The lungs are clear. The heart is normal. In conclusion")
    assert chain.steps[-1] == "In conclusion"
    assert {"truncated", "unclosed_think", "no_answer", "malformed"} <= chain.flags


def test_answer_forms():
    assert parse_answer(" c ", options=OPTIONS4).answer == "C"
    assert parse_answer("A and C", options=OPTIONS4).answer == "A,C"
    assert parse_answer("(B)", options=OPTIONS4).answer == "B"
    assert parse_answer("C, A", options=OPTIONS4).answer == "A,C"
    assert parse_answer("B) option b", options=OPTIONS4).answer == "B"
    assert parse_answer("Option D", options=OPTIONS4).answer == "D"
    assert parse_answer("option c", options=OPTIONS4).answer == "C"
    assert parse_answer("Yes", options=("Yes", "No")).answer == "A"
    assert parse_answer("maybe", options=OPTIONS4).flags == {"answer_unparsed"}
    assert parse_answer("E", options=OPTIONS4).flags == {"answer_outside_options"}
    assert parse_answer("cardiomegaly,  effusion").answer == "cardiomegaly, effusion"
    assert infer_answer("... so the final answer is (B).") == "B"


def test_unopened_answer_and_several_answer_tags():
    assert parse_output("<think>Lungs clear.</think> C </answer>").answer == "C"
    chain = parse_output("<think>Lungs clear.</think><answer>A</answer><answer>B</answer>")
    assert chain.answer == "B" and "multiple_answer_tags" in chain.flags and chain.malformed


def test_special_tokens_and_im_start_template():
    raw = (
        "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
        "<think>Heart normal.</think><answer>A</answer><|im_end|>"
    )
    chain = parse_output(raw)
    assert chain.steps == ("Heart normal.",) and chain.answer == "A"
    assert chain.flags == {"chat_template_stripped"}


def test_step_body_removes_markers():
    assert step_body("2. The heart is normal.") == "The heart is normal."
    assert step_body("Step 3: Conclude.") == "Conclude."
    assert step_body("- No effusion.") == "No effusion."
    assert step_body("The heart.") == "The heart."


def test_pieces_concatenate_to_steps_and_arrive_early():
    raw = FIXTURES[0]["pred"]
    stream = StepStream(options=OPTIONS4)
    done_at: dict[int, int] = {}
    texts: dict[int, str] = {}
    for i in range(0, len(raw), 3):
        for piece in stream.feed(raw[i : i + 3]):
            if piece.kind == "text":
                texts[piece.index] = texts.get(piece.index, "") + piece.text
            elif piece.kind == "step":
                done_at[piece.index] = i
    stream.flush()
    chain = stream.finish()
    assert [texts[i] for i in range(len(chain.steps))] == list(chain.steps)
    # The first step is done long before the output ends (a few characters after its period).
    first_end = raw.index("PA view.") + len("PA view.")
    assert done_at[0] <= first_end + 3


# -- properties --------------------------------------------------------------------------------

TOKENS = [
    "<think>", "</think>", "<answer>", "</answer>", "<|im_end|>", "system\n", "user\n",
    "assistant\n", "<", "<thi", " ", "  ", "\n", "\n\n", ".", ". ", "? ", "!", ":", ",",
    "e.g. ", "i.e. ", "approx. ", "Dr. ", "vs. ", "etc. ", "7.5 mm", "1. ", "2) ", "Step 1: ",
    "- ", "* ", "\u2022 ", "The lungs are clear", "heart", " In conclusion", "A", "B", " C ",
    "A, C", "Options:", "(B)", '"', ")", "No", "x",
]  # fmt: skip
raw_text = st.lists(st.sampled_from(TOKENS) | st.text(max_size=4), max_size=40).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=raw_text | st.text(max_size=200), options=st.sampled_from([None, OPTIONS4, ("Yes", "No")]))
def test_never_raises_and_is_lossless(raw, options):
    chain = parse_output(raw, options=options)
    assert_lossless(chain)
    assert chain.answer is None or chain.answer == chain.answer.strip()
    if chain.answer and options:
        assert re.fullmatch(r"[A-Z](,[A-Z])*", chain.answer)
    assert ("malformed" in chain.flags) == bool(chain.flags & MALFORMED_IF)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=raw_text, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_incremental_equals_batch(raw, cuts):
    batch = parse_output(raw, options=OPTIONS4)
    bounds = sorted({c % (len(raw) + 1) for c in cuts} | {0, len(raw)})
    stream = StepStream(options=OPTIONS4)
    pieces = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        pieces += stream.feed(raw[a:b])
    pieces += stream.flush()
    assert stream.finish() == batch
    assert [p.text for p in pieces if p.kind == "step"] == list(batch.steps)
    assert [p.index for p in pieces if p.kind == "step"] == list(range(len(batch.steps)))
    for i, step in enumerate(batch.steps):
        assert "".join(p.text for p in pieces if p.kind == "text" and p.index == i) == step
