"""The scoring + prioritizing use case on a real database (SQLite and PostgreSQL): the PRM's scores
stored per step, each open case's priority and reason, the worklist's order under each strategy,
manual priorities kept, new chains marked, step hints per user and for everyone.

The PRM here is a stand-in that distrusts steps naming an effusion: these tests are about the use
case, not the model (tests/active_learning/test_cli.py scores with a real trained text PRM)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import select

from review_db import store
from review_db.engine import read_session, session_scope
from review_db.errors import ValidationError
from review_db.models import AuditLog, Case, StepScore
from review_db.store import priorities as stored
from review_db.store.worklist import worklist
from review_db.types import CaseStatus
from services import prioritize
from tests import factories
from training.active_learning.scoring import apply_strategy, prioritize_open_cases
from vocab.priority import PriorityStrategy

FINE = ("The lungs are clear.", "The heart size is normal.", "No pneumothorax.")
DOUBTED = ("The lungs are clear.", "There is a large effusion.", "No pneumothorax.")


class EffusionSceptic:
    """P(correct) 0.1 for a step naming an effusion, else 0.9 (0.6 for a pneumothorax)."""

    def score(self, context: str, steps: Sequence[str]) -> list[float]:
        return [0.1 if "effusion" in s else 0.6 if "pneumothorax" in s else 0.9 for s in steps]


@pytest.fixture
def cases(db) -> dict[str, int]:  # noqa: ANN001
    """Open cases: fine, doubted (a right answer), wrong (a trusted wrong answer), manual (priority
    5 by hand); and cases no strategy orders: verified, without a chain, with a report chain only."""
    with session_scope(db.factory, actor="test") as s:
        made = {
            "fine": factories.case(s, steps=FINE)[0].id,
            "doubted": factories.case(s, steps=DOUBTED)[0].id,
            "wrong": factories.case(s, steps=FINE, answer="B")[0].id,
            "manual": factories.case(s, steps=FINE, priority=5)[0].id,
        }
        verified, _ = factories.case(s, steps=DOUBTED)
        verified.status = CaseStatus.verified
        made["verified"] = verified.id
        empty = store.create_case(session=s, study_id=None, task_type="open_findings", question="Anything?")
        made["no_chain"] = empty.id
        mined = store.create_case(
            session=s, study_id=None, task_type="open_findings", question="Report only?"
        )
        store.add_chain(
            session=s, case_id=mined.id, steps=["From the report."], final_answer=None, source="report"
        )
        made["report_chain"] = mined.id
        made["reviewer"] = factories.user(s).id
    return made


def _order(db, reviewer: int) -> list[int]:  # noqa: ANN001
    with read_session(db.factory) as s:
        return [c.id for c in worklist(session=s, reviewer_id=reviewer)[0]]


def _priorities(db) -> dict[int, int]:  # noqa: ANN001
    with read_session(db.factory) as s:
        return dict(s.execute(select(Case.id, Case.priority)).all())


def test_scores_every_open_model_step_and_orders_by_the_strategy(db, cases) -> None:  # noqa: ANN001
    done = prioritize_open_cases(
        factory=db.factory,
        scorer=EffusionSceptic(),
        prm="PRM test",
        actor="test",
        strategy=PriorityStrategy.lowest,
    )
    assert (done.strategy, done.cases, done.scored_steps, done.prm) == ("lowest", 4, 12, "PRM test")
    with read_session(db.factory) as s:
        assert s.scalar(select(StepScore.prm).distinct()) == "PRM test"
        reasons = stored.priority_reasons(session=s, case_ids=list(cases.values()))
    assert reasons[cases["doubted"]] == "weakest step 2: 0.10 (PRM test)"
    assert reasons[cases["fine"]] == "weakest step 3: 0.60 (PRM test)"
    assert {cases["verified"], cases["no_chain"], cases["report_chain"]}.isdisjoint(reasons)
    order = _order(db, cases["reviewer"])
    # The hand-set priority 5 stays a tier above; within tier 0, the weakest step first, then age.
    assert order[:4] == [cases["manual"], cases["doubted"], cases["fine"], cases["wrong"]]
    prio = _priorities(db)
    assert prio[cases["manual"]] == 5 * 1000 + 400 and prio[cases["doubted"]] == 900

    # Another strategy re-orders from the stored scores, without the PRM.
    with session_scope(db.factory, actor="test") as s:
        again = apply_strategy(session=s, strategy=PriorityStrategy.disagreement)
    assert again.cases == 4 and again.scored_steps == 0
    assert _order(db, cases["reviewer"])[1:3] == [cases["doubted"], cases["wrong"]]  # 0.9, then 0.6
    with read_session(db.factory) as s:
        reasons = stored.priority_reasons(session=s, case_ids=[cases["wrong"]])
    assert reasons[cases["wrong"]] == "wrong answer, yet every step ≥ 0.60 (PRM test)"

    # fifo gives every case its own priority back: the order is age again, the manual tier first.
    prioritize.set_strategy(factory=db.factory, strategy="fifo", actor="test")
    prio = _priorities(db)
    assert prio[cases["manual"]] == 5 and prio[cases["doubted"]] == prio[cases["fine"]] == 0
    with read_session(db.factory) as s:
        assert (
            stored.priority_reasons(session=s, case_ids=[cases["fine"]])[cases["fine"]]
            == "first in, first out"
        )


def test_a_priority_changed_by_hand_becomes_the_new_tier_and_a_new_chain_is_marked(db, cases) -> None:  # noqa: ANN001
    prioritize_open_cases(
        factory=db.factory,
        scorer=EffusionSceptic(),
        prm="PRM a",
        actor="test",
        strategy=PriorityStrategy.lowest,
    )
    with session_scope(db.factory, actor="test") as s:
        case = s.get(Case, cases["fine"])
        store.update_case(session=s, case_id=case.id, expected_version=case.version, priority=7)
        store.add_chain(
            session=s, case_id=cases["doubted"], steps=list(FINE), final_answer="A", source="imported"
        )
    with read_session(db.factory) as s:
        marked = stored.priority_reasons(session=s, case_ids=[cases["doubted"]])
    assert marked[cases["doubted"]] == "new chain, not scored yet"
    with session_scope(db.factory, actor="test") as s:
        apply_strategy(session=s, strategy=PriorityStrategy.lowest)
        reasons = stored.priority_reasons(session=s, case_ids=[cases["doubted"]])
    assert reasons[cases["doubted"]] == "not scored yet"
    prio = _priorities(db)
    assert prio[cases["fine"]] == 7 * 1000 + 400 and prio[cases["doubted"]] == 0
    assert _order(db, cases["reviewer"])[0] == cases["fine"]  # tier 7 now leads


def test_the_strategy_is_a_shared_audited_setting(db, cases) -> None:  # noqa: ANN001
    with read_session(db.factory) as s:
        assert prioritize.status(session=s)["strategy"] is PriorityStrategy.fifo  # the default
    done = prioritize.set_strategy(factory=db.factory, strategy="uncertain", actor="user:1")
    assert done.strategy == "uncertain" and done.cases == 4
    with read_session(db.factory) as s:
        status = prioritize.status(session=s)
        audited = [
            (a.actor, a.after["value"])
            for a in s.scalars(select(AuditLog).where(AuditLog.entity == "app_settings"))
        ]
    assert status["strategy"] is PriorityStrategy.uncertain and status["cases"] == 4
    assert audited == [("user:1", "uncertain")]
    with pytest.raises(ValidationError, match="one of fifo, lowest, uncertain, disagreement"):
        prioritize.set_strategy(factory=db.factory, strategy="random", actor="user:1")


def test_without_a_trained_prm_prioritize_orders_from_stored_scores(db, cases) -> None:  # noqa: ANN001
    done = prioritize.prioritize(factory=db.factory, actor="test", strategy="lowest")
    assert done.prm is None and done.cases == 4
    with read_session(db.factory) as s:
        reasons = stored.priority_reasons(session=s, case_ids=[cases["fine"]])
        assert prioritize.current_prm(session=s) is None
    assert reasons[cases["fine"]] == "not scored yet"


def test_step_hints_are_off_until_a_reviewer_or_an_admin_turns_them_on(db, cases) -> None:  # noqa: ANN001
    prioritize_open_cases(factory=db.factory, scorer=EffusionSceptic(), prm="PRM h", actor="test")
    reviewer, other = cases["reviewer"], None
    with session_scope(db.factory, actor="test") as s:
        other = factories.user(s).id
        assert not prioritize.hints(session=s, user_id=reviewer).shown
        prioritize.set_my_hints(session=s, user_id=reviewer, on=True)
    with read_session(db.factory) as s:
        assert prioritize.hints(session=s, user_id=reviewer) == prioritize.Hints(True, False)
        assert not prioritize.hints(session=s, user_id=other).shown
        chain_id = store.current_chain(session=s, case_id=cases["doubted"]).id
        risks = prioritize.step_hints(session=s, chain_id=chain_id)
    assert sorted(round(r, 2) for r, _ in risks.values()) == [0.1, 0.4, 0.9]
    assert {prm for _, prm in risks.values()} == {"PRM h"}
    with session_scope(db.factory, actor="test") as s:
        prioritize.set_hints_for_everyone(session=s, on=True, actor="user:1")
    with read_session(db.factory) as s:
        assert prioritize.hints(session=s, user_id=other) == prioritize.Hints(False, True)
        assert prioritize.status(session=s)["hints_for_everyone"] is True
