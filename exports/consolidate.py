"""Consolidating several reviewers' verdicts on one chain, and measuring their agreement.

Contract: pure functions over plain dataclasses. :class:`ReviewedChain` holds every submitted
reviewer's effective verdicts on one chain; :func:`consolidate` turns it into one
:class:`~exports.rows.VerifiedChain` under a :class:`Policy`, or says why it cannot.
:class:`Agreement` accumulates inter-reviewer agreement over many chains (for the dataset card).

The policies decide each model step's verdict (accept / correct / reject) and the answer:

- ``unanimous``: every reviewer gave the same verdict (and the same answer);
- ``majority``: more than half of the reviewers did; a tie decides nothing;
- ``adjudicator``: the reviewer whose review is marked ``is_adjudication`` decides; without an
  adjudicator, unanimity is required.

A step or answer that the policy cannot decide excludes the whole chain (a chain is trained on
whole or not at all). Where reviewers corrected a step differently, the text is the adjudicator's,
else the most frequent, else the earliest reviewer's. Added steps are the lead reviewer's (the
adjudicator, else the earliest to submit): different reviewers' insertions are not merged, since
they usually say the same thing in other words.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from exports.rows import AddedStep, VerifiedChain


class Policy(enum.StrEnum):
    unanimous = "unanimous"
    majority = "majority"
    adjudicator = "adjudicator"


# What people read for each policy (the export page); the values are what --policy takes.
POLICY_LABELS = {
    Policy.unanimous: "All reviewers must agree",
    Policy.majority: "Majority of reviewers",
    Policy.adjudicator: "The adjudicator decides (else all must agree)",
}


@dataclass(frozen=True, slots=True)
class Vote:
    """One reviewer's effective (latest) verdict on one model step."""

    reviewer: str
    verdict: str
    corrected_text: str | None = None


@dataclass(frozen=True, slots=True)
class Review:
    """One reviewer's submitted review: the answer they hold right, and their role."""

    reviewer: str
    answer: str | None  # the model's answer if they agreed, else their corrected answer
    agreed: bool = True
    is_adjudication: bool = False
    order: int = 0  # submission order (earliest first), to pick the lead reviewer


@dataclass(frozen=True, slots=True)
class ReviewedStep:
    position: int
    text: str
    votes: tuple[Vote, ...] = ()


@dataclass(frozen=True, slots=True)
class ReviewedChain:
    """A chain with every submitted reviewer's verdicts, before consolidation."""

    prompt: str
    steps: tuple[ReviewedStep, ...]
    reviews: tuple[Review, ...]
    final_answer: str | None = None
    added: Mapping[str, tuple[AddedStep, ...]] = field(default_factory=dict)  # by reviewer
    images: tuple[str, ...] = ()
    question: str = ""
    options: tuple[str, ...] = ()
    task_type: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The consolidated chain, or the reason there is none; and whether all reviewers agreed."""

    chain: VerifiedChain | None
    reason: str | None
    unanimous: bool


def _decide(values: Sequence[Any], policy: Policy, adjudicated: Any = None) -> Any:
    """The value the policy picks among ``values`` (one per reviewer), or None."""
    if not values:
        return None
    if policy is Policy.adjudicator and adjudicated is not None:
        return adjudicated
    first = values[0]
    if all(v == first for v in values):  # the usual case (one reviewer, or agreement): no counting
        return first
    value, count = Counter(values).most_common(1)[0]
    if policy is Policy.majority:
        return value if count * 2 > len(values) else None
    return value if count == len(values) else None


def _corrected_text(votes: Sequence[Vote], adjudicator: str | None) -> str | None:
    texts = [v.corrected_text for v in votes if v.verdict == "correct" and v.corrected_text]
    if not texts:
        return None
    for vote in votes:
        if vote.reviewer == adjudicator and vote.verdict == "correct" and vote.corrected_text:
            return vote.corrected_text
    text, count = Counter(texts).most_common(1)[0]
    return text if count > 1 else texts[0]


def consolidate(chain: ReviewedChain, policy: Policy | str) -> Outcome:
    """One :class:`VerifiedChain` from several reviewers' verdicts under ``policy``."""
    policy = Policy(policy)
    if not chain.reviews:
        return Outcome(None, "no submitted review", False)
    reviews = sorted(chain.reviews, key=lambda r: r.order)
    reviewers = [r.reviewer for r in reviews]
    adjudicator = next((r.reviewer for r in reviews if r.is_adjudication), None)
    decider = adjudicator if policy is Policy.adjudicator else None
    unanimous = True
    verdicts: list[str] = []
    corrections: list[str | None] = []
    for step in chain.steps:
        votes = [v for v in step.votes if v.reviewer in reviewers]
        values = [v.verdict for v in votes]
        unanimous &= len(set(values)) == 1 and len(values) == len(reviewers)
        adjudicated = next((v.verdict for v in votes if v.reviewer == decider), None)
        verdict = _decide(values, policy, adjudicated)
        if verdict is None:
            return Outcome(None, f"no {policy.value} verdict on step {step.position + 1}", False)
        verdicts.append(verdict)
        corrections.append(
            _corrected_text([v for v in votes if v.verdict == verdict], adjudicator)
            if verdict == "correct"
            else None
        )
    answers = [r.answer for r in reviews]
    unanimous &= len(set(answers)) == 1
    adjudicated_answer = next((r.answer for r in reviews if r.reviewer == decider), None)
    answer = _decide(answers, policy, adjudicated_answer)
    if answer is None:
        return Outcome(None, f"no {policy.value} answer", unanimous)
    lead = adjudicator or reviewers[0]
    verified = VerifiedChain(
        prompt=chain.prompt,
        model_steps=tuple(s.text for s in chain.steps),
        verdicts=tuple(verdicts),
        corrections=tuple(corrections),
        added_steps=tuple(chain.added.get(lead, ())),
        final_answer=chain.final_answer,
        corrected_answer=None if answer == chain.final_answer else answer,
        images=chain.images,
        question=chain.question,
        options=chain.options,
        task_type=chain.task_type,
        meta={**chain.meta, "reviewers": len(reviewers)},
    )
    return Outcome(verified, None, unanimous)


@dataclass
class Agreement:
    """Inter-reviewer agreement, accumulated chain by chain (only chains with 2+ reviewers count).

    - ``step_pairwise``: share of reviewer pairs giving a step the same verdict (3 categories);
    - ``label_pairwise``: the same for the PRM label (accepted or not);
    - ``fleiss_kappa``: Fleiss' kappa over steps (verdict categories), with the per-item
      agreement computed for however many reviewers rated that step;
    - ``answer_agreement``: share of chains on which all reviewers hold the same answer;
    - ``unanimous_chains``: share of chains with identical verdicts on every step and answer.
    """

    chains: int = 0
    multi_reviewed: int = 0
    unanimous: int = 0
    answers_agreed: int = 0
    pairs: int = 0
    pairs_same: int = 0
    label_pairs_same: int = 0
    items: int = 0
    item_agreement_sum: float = 0.0
    category_counts: Counter = field(default_factory=Counter)
    excluded: Counter = field(default_factory=Counter)

    def add(self, chain: ReviewedChain, outcome: Outcome) -> None:
        self.chains += 1
        if outcome.chain is None and outcome.reason:
            self.excluded[outcome.reason.split(" on step")[0]] += 1
        reviewers = {r.reviewer for r in chain.reviews}
        if len(reviewers) < 2:
            return
        self.multi_reviewed += 1
        self.unanimous += outcome.unanimous
        self.answers_agreed += len({r.answer for r in chain.reviews}) == 1
        for step in chain.steps:
            values = [v.verdict for v in step.votes if v.reviewer in reviewers]
            n = len(values)
            if n < 2:
                continue
            counts = Counter(values)
            same = sum(c * (c - 1) // 2 for c in counts.values())
            accepted = counts.get("accept", 0)
            self.pairs += n * (n - 1) // 2
            self.pairs_same += same
            self.label_pairs_same += accepted * (accepted - 1) // 2 + (n - accepted) * (n - accepted - 1) // 2
            self.items += 1
            self.item_agreement_sum += 2 * same / (n * (n - 1))
            self.category_counts.update(values)

    def as_dict(self) -> dict[str, Any]:
        def share(a: float, b: float) -> float | None:
            return round(a / b, 4) if b else None

        total = sum(self.category_counts.values())
        p_e = sum((c / total) ** 2 for c in self.category_counts.values()) if total else 0.0
        p_bar = self.item_agreement_sum / self.items if self.items else None
        kappa = None
        if p_bar is not None and p_e < 1:
            kappa = round((p_bar - p_e) / (1 - p_e), 4)
        return {
            "chains": self.chains,
            "multi_reviewed_chains": self.multi_reviewed,
            "unanimous_chains": share(self.unanimous, self.multi_reviewed),
            "answer_agreement": share(self.answers_agreed, self.multi_reviewed),
            "step_pairwise": share(self.pairs_same, self.pairs),
            "label_pairwise": share(self.label_pairs_same, self.pairs),
            "fleiss_kappa": kappa,
            "excluded_by_policy": dict(sorted(self.excluded.items())),
        }
