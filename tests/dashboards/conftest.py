"""A small review history, written through the real services, whose aggregates are known exactly.

Three reviewers judge three cases (the expected numbers are worked out in :data:`EXPECTED` and
in the tests that use them):

- case A (single choice, model version v1, two reviews required), steps:
  1 "The left costophrenic angle is blunted, a small pleural effusion."  r1 reject then accept, r2 accept
  2 "No pneumothorax is seen."                                             r1 accept, r2 correct
  3 "The heart size is normal."                                            r1 reject, r2 reject
- case B (binary, model version base, three reviews required), steps:
  1 "There is an opacity in the right lower lobe."  r1 accept, r2 reject, r3 accept
  2 "Therefore the answer is A."                    r1 accept, r2 accept, r3 accept
- case C (open findings, imported, no model version, one review), step 1 "Mild cardiomegaly."
  r3 correct; r3 also adds "A right PICC line tip projects over the SVC." and accepts it.

Reviews' time spent: A r1 45 s, r2 200 s; B r1 20 s, r2 70 s, r3 4000 s; C r3 130 s. Model
versions: base (promoted, then retired), v1 (promoted), v2 (rejected). Training runs: an SFT run
with a loss history in ``progress``, an RL run with a transformers-style ``log_history`` in its
metrics, and an evaluation run with no loss.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from review_db import store
from review_db.engine import session_scope
from tests import factories
from vocab import Verdict

LEASE = dt.timedelta(minutes=15)


def per_verdict(*counts: int) -> list[int]:
    """Counts given for the first verdicts, in the vocabulary's order (accept, correct, reject);
    0 for any later kind, so that a new verdict kind leaves these expectations as they are."""
    return [*counts, *[0] * (len(Verdict) - len(counts))]


def pair_table(*rows: Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """A reviewer pair's verdict x verdict table given for the first verdicts; 0 elsewhere."""
    return tuple(tuple(per_verdict(*row)) for row in (*rows, *[()] * (len(Verdict) - len(rows))))


STEPS_A = (
    "The left costophrenic angle is blunted, a small pleural effusion.",
    "No pneumothorax is seen.",
    "The heart size is normal.",
)
STEPS_B = ("There is an opacity in the right lower lobe.", "Therefore the answer is A.")
STEPS_C = ("Mild cardiomegaly.",)
ADDED = "A right PICC line tip projects over the SVC."


@dataclass
class Seeded:
    reviewers: dict[str, int]
    versions: dict[str, int]
    cases: dict[str, int]
    chains: dict[str, int]
    steps: dict[str, list[int]]


def _review(
    factory, case_id: int, chain_id: int, reviewer: int, verdicts: Sequence[tuple[int, str]], seconds: float
) -> None:  # noqa: ANN001
    with session_scope(factory, actor=f"user:{reviewer}") as s:
        store.claim_case(session=s, case_id=case_id, reviewer_id=reviewer, lease=LEASE)
        for step_id, verdict in verdicts:
            corrected = "A small right pneumothorax is seen." if verdict == "correct" else None
            store.record_verdict(
                session=s,
                step_id=step_id,
                reviewer_id=reviewer,
                verdict=verdict,
                corrected_text=corrected,
                lease=LEASE,
            )
        store.submit_review(
            session=s,
            chain_id=chain_id,
            reviewer_id=reviewer,
            answer_verdict="agree",
            time_spent_s=seconds,
            lease=LEASE,
        )


def _models(factory) -> dict[str, int]:  # noqa: ANN001
    from training import registry

    with session_scope(factory, actor="test") as s:
        base = registry.ensure_current(session=s, base_model="tiny-base")
        registry.add_metrics(
            session=s, version_id=base.id, metrics={"eval": {"radrscore": 0.5, "accuracy": 0.6}}
        )
        v1 = registry.register_version(
            session=s,
            name="v1",
            base_model="tiny-base",
            adapter_path="/adapters/v1",
            parent_id=base.id,
            training_run_id=None,
            metrics={
                "radrscore": {
                    "overall": {
                        "completeness": {"mean": 0.6},
                        "factuality": {"mean": 0.7},
                        "effectiveness": {"mean": 0.8},
                    }
                },
                "accuracy": 0.7,
            },
        )
        registry.promote(session=s, version_id=v1.id)
        v2 = registry.register_version(
            session=s,
            name="v2",
            base_model="tiny-base",
            adapter_path="/adapters/v2",
            parent_id=v1.id,
            training_run_id=None,
            metrics={"eval": {"radrscore": 0.55, "accuracy": 0.65}},
        )
        registry.reject(session=s, version_id=v2.id)
        return {"base": base.id, "v1": v1.id, "v2": v2.id}


def _runs(factory) -> None:  # noqa: ANN001
    from training import runs

    history = [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}, {"step": 3, "loss": 1.25}]
    log_history = [{"loss": 0.9, "step": 10}, {"eval_loss": 1.0, "step": 10}, {"loss": 0.7, "step": 20}]
    for kind, progress, metrics in (
        ("sft", {"loss_history": history}, {}),
        ("rl", {}, {"log_history": log_history}),
        ("eval", {}, {"accuracy": 0.7}),
    ):
        with session_scope(factory, actor="test") as s:
            run = runs.start_job(session=s, kind=kind, config={}, created_by="test")
            runs.mark_running(session=s, run_id=run.id)
            run_id = run.id
        if progress:
            runs.write_progress(factory, run_id, progress)
        with session_scope(factory, actor="test") as s:
            runs.finish_run(session=s, run_id=run_id, metrics=metrics)


def seed(factory) -> Seeded:  # noqa: ANN001
    """Write the review history above; returns the ids."""
    versions = _models(factory)
    with session_scope(factory, actor="test") as s:
        reviewers = {name: factories.user(s, name=name).id for name in ("r1", "r2", "r3")}
        case_a, chain_a = factories.case(s, steps=STEPS_A, required_reviews=2)
        chain_a.model_version_id = versions["v1"]
        case_b, chain_b = factories.case(
            s, steps=STEPS_B, required_reviews=3, task_type="binary", options=["yes", "no"]
        )
        chain_b.model_version_id = versions["base"]
        case_c, chain_c = factories.case(
            s, steps=STEPS_C, task_type="open_findings", options=[], reference_answer=None
        )
        ids = {
            "cases": {"A": case_a.id, "B": case_b.id, "C": case_c.id},
            "chains": {"A": chain_a.id, "B": chain_b.id, "C": chain_c.id},
            "steps": {
                k: [st.id for st in ch.steps] for k, ch in (("A", chain_a), ("B", chain_b), ("C", chain_c))
            },
        }
    r1, r2, r3 = reviewers["r1"], reviewers["r2"], reviewers["r3"]
    a, b, c = ids["steps"]["A"], ids["steps"]["B"], ids["steps"]["C"]
    ca, cb, cc = ids["cases"]["A"], ids["cases"]["B"], ids["cases"]["C"]
    cha, chb, chc = ids["chains"]["A"], ids["chains"]["B"], ids["chains"]["C"]
    _review(
        factory, ca, cha, r1, [(a[0], "reject"), (a[0], "accept"), (a[1], "accept"), (a[2], "reject")], 45
    )
    _review(factory, ca, cha, r2, [(a[0], "accept"), (a[1], "correct"), (a[2], "reject")], 200)
    _review(factory, cb, chb, r1, [(b[0], "accept"), (b[1], "accept")], 20)
    _review(factory, cb, chb, r2, [(b[0], "reject"), (b[1], "accept")], 70)
    _review(factory, cb, chb, r3, [(b[0], "accept"), (b[1], "accept")], 4000)
    with session_scope(factory, actor=f"user:{r3}") as s:
        store.claim_case(session=s, case_id=cc, reviewer_id=r3, lease=LEASE)
        added = store.add_step(
            session=s, chain_id=chc, reviewer_id=r3, after_position=0, text=ADDED, lease=LEASE
        )
        ids["steps"]["C"].append(added.id)
    _review(factory, cc, chc, r3, [(c[0], "correct"), (ids["steps"]["C"][-1], "accept")], 130)
    _runs(factory)
    return Seeded(reviewers=reviewers, versions=versions, **ids)


@pytest.fixture
def seeded(db) -> tuple[object, Seeded]:  # noqa: ANN001
    """The ``db`` fixture (SQLite, then PostgreSQL) holding the review history above."""
    from services.dashboards.rollup import CACHE

    CACHE.clear()
    return db, seed(db.factory)
