"""The pure row builders and the consolidation of several reviewers' verdicts."""

from __future__ import annotations

import pytest

from exports import (
    AddedStep,
    Agreement,
    Policy,
    VerifiedChain,
    consolidate,
    pair_row,
    prm_rows,
    sft_row,
)
from exports.consolidate import Review, ReviewedChain, ReviewedStep, Vote

PROMPT = "Is there a pneumothorax? Options:\nA) Yes\nB) No\nLet's think step by step."


def chain(**over) -> VerifiedChain:
    fields = dict(
        prompt=PROMPT,
        model_steps=("The lungs are clear.", "A pleural line is seen.", "So the answer is A."),
        verdicts=("accept", "correct", "reject"),
        corrections=(None, "No pleural line is seen.", None),
        added_steps=(AddedStep(after=1, text="The costophrenic angles are sharp."),),
        final_answer="A",
        corrected_answer="B",
        images=("train/images/x.png",),
        meta={"id": "chain-12", "case_id": 7, "chain_id": 12},
    )
    fields.update(over)
    return VerifiedChain(**fields)


def test_verified_steps_apply_corrections_rejections_and_insertions() -> None:
    c = chain(added_steps=(AddedStep(-1, "First."), AddedStep(1, "After two.")))
    assert c.verified_steps == ("First.", "The lungs are clear.", "No pleural line is seen.", "After two.")
    assert c.labels == (True, False, False)
    assert c.verified_answer == "B"
    assert c.changed


def test_sft_row_is_vision_conversational_with_think_and_answer() -> None:
    row = sft_row(chain())
    assert row["images"] == ["train/images/x.png"]
    user, assistant = row["messages"]
    assert user == {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT}]}
    assert assistant["content"][0]["text"] == (
        "<think> The lungs are clear. No pleural line is seen. The costophrenic angles are sharp. </think>"
        "<answer> B </answer>"
    )
    assert row["id"] == "chain-12" and row["chain_id"] == 12


def test_sft_row_without_images_has_no_image_part() -> None:
    row = sft_row(chain(), with_images=False, system_prompt="You are a radiologist.")
    assert "images" not in row
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert all(p["type"] == "text" for m in row["messages"] for p in m["content"])


def test_prm_rows_label_the_model_steps_and_add_the_verified_chain() -> None:
    model, verified = prm_rows(chain())
    assert model["completions"] == list(chain().model_steps)
    assert model["labels"] == [True, False, False]
    assert verified["completions"] == list(chain().verified_steps)
    assert verified["labels"] == [True, True, True]
    assert (model["id"], verified["id"]) == ("chain-12/model", "chain-12/verified")
    assert model["prompt"] == PROMPT


def test_prm_rows_of_an_all_accepted_chain_do_not_repeat_it() -> None:
    c = chain(verdicts=("accept",) * 3, corrections=(), added_steps=(), corrected_answer=None)
    assert [r["source"] for r in prm_rows(c)] == ["model"]


def test_pair_row_prefers_the_verified_chain() -> None:
    row = pair_row(chain())
    assert row["prompt"][0]["content"][0] == {"type": "image"}
    assert "No pleural line" in row["chosen"][0]["content"][0]["text"]
    assert "A pleural line" in row["rejected"][0]["content"][0]["text"]
    assert row["rejected"][0]["content"][0]["text"].endswith("<answer> A </answer>")


def test_pair_row_is_none_when_review_changed_nothing() -> None:
    c = chain(verdicts=("accept",) * 3, corrections=(), added_steps=(), corrected_answer=None)
    assert pair_row(c) is None


@pytest.mark.parametrize(
    "over",
    [
        {"verdicts": ("accept", "maybe", "reject")},
        {"verdicts": ("accept", "correct", "reject"), "corrections": (None, None, None)},
        {"verdicts": ("accept", "accept")},
    ],
)
def test_inconsistent_chains_are_refused(over) -> None:  # noqa: ANN001
    with pytest.raises(ValueError):
        chain(**over)


def reviewed(votes: list[list[str]], answers: list[str], *, adjudicator: int | None = None) -> ReviewedChain:
    """One step per row of ``votes`` (one verdict per reviewer r0, r1, ...)."""
    names = [f"r{i}" for i in range(len(answers))]
    steps = tuple(
        ReviewedStep(
            position=p,
            text=f"step {p}",
            votes=tuple(
                Vote(n, v, f"fixed by {n}" if v == "correct" else None)
                for n, v in zip(names, row, strict=False)
            ),
        )
        for p, row in enumerate(votes)
    )
    reviews = tuple(
        Review(reviewer=n, answer=a, agreed=a == "A", is_adjudication=i == adjudicator, order=i)
        for i, (n, a) in enumerate(zip(names, answers, strict=False))
    )
    return ReviewedChain(prompt=PROMPT, steps=steps, reviews=reviews, final_answer="A")


def test_unanimous_needs_every_reviewer() -> None:
    agreed = consolidate(reviewed([["accept", "accept"], ["reject", "reject"]], ["A", "A"]), Policy.unanimous)
    assert agreed.chain.verdicts == ("accept", "reject") and agreed.unanimous
    split = consolidate(reviewed([["accept", "reject"]], ["A", "A"]), Policy.unanimous)
    assert split.chain is None and "step 1" in split.reason


def test_majority_takes_more_than_half_and_no_tie() -> None:
    votes = [["accept", "correct", "correct"], ["reject", "reject", "accept"]]
    out = consolidate(reviewed(votes, ["A", "B", "B"]), Policy.majority)
    assert out.chain.verdicts == ("correct", "reject")
    assert out.chain.verified_answer == "B" and not out.unanimous
    tie = consolidate(reviewed([["accept", "reject"]], ["A", "A"]), Policy.majority)
    assert tie.chain is None


def test_adjudicator_wins_and_its_correction_is_used() -> None:
    votes = [["accept", "correct", "correct"]]
    out = consolidate(reviewed(votes, ["A", "C", "B"], adjudicator=2), Policy.adjudicator)
    assert out.chain.verdicts == ("correct",)
    assert out.chain.corrections == ("fixed by r2",)
    assert out.chain.verified_answer == "B"
    no_adjudicator = consolidate(reviewed([["accept", "reject"]], ["A", "A"]), Policy.adjudicator)
    assert no_adjudicator.chain is None


def test_added_steps_come_from_the_lead_reviewer() -> None:
    base = reviewed([["accept", "accept"]], ["A", "A"])
    added = {"r0": (AddedStep(0, "from r0"),), "r1": (AddedStep(0, "from r1"),)}
    c = ReviewedChain(prompt=PROMPT, steps=base.steps, reviews=base.reviews, final_answer="A", added=added)
    assert consolidate(c, Policy.unanimous).chain.verified_steps == ("step 0", "from r0")


def test_agreement_counts_pairs_and_kappa() -> None:
    agreement = Agreement()
    for votes, answers in (
        ([["accept", "accept"], ["reject", "reject"]], ["A", "A"]),
        ([["accept", "reject"], ["accept", "accept"]], ["A", "B"]),
    ):
        c = reviewed(votes, answers)
        agreement.add(c, consolidate(c, Policy.majority))
    figures = agreement.as_dict()
    assert figures["multi_reviewed_chains"] == 2
    assert figures["step_pairwise"] == 0.75  # 3 of 4 step pairs agree
    assert figures["answer_agreement"] == 0.5
    assert figures["unanimous_chains"] == 0.5
    # categories: accept 5/8, reject 3/8 -> p_e = 0.53125; p_bar = 0.75
    assert figures["fleiss_kappa"] == pytest.approx((0.75 - 0.53125) / (1 - 0.53125), abs=1e-4)
    assert figures["excluded_by_policy"] == {"no majority verdict": 1}
