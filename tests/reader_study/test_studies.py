"""Creating a study: validation (nothing written on bad input), the design frozen with the
assignments stored as randomized, audited; listing with progress."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from review_db import store
from review_db.engine import read_session, session_scope
from review_db.errors import ValidationError
from review_db.models import AuditLog, ReaderAssignment, ReaderStudy
from review_db.types import Role
from services.reader_study import studies
from services.reader_study.design import STANDARD_ARMS, randomize
from tests import factories
from tests.reader_study.helpers import LEASE, verified_case, world


def _create(s, admin: int, cases: list[int], readers: list[int], **over):  # noqa: ANN001, ANN202
    kw = {"name": "Pilot", "arms": STANDARD_ARMS, "washout_days": 14, "seed": 7} | over
    return studies.create_study(session=s, case_ids=cases, reader_ids=readers, created_by=admin, **kw)


def test_a_study_stores_its_design_and_the_randomization(db) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="user:1") as s:
        admin, cases, readers = world(s, n_cases=6, n_readers=3)
        study_id = _create(s, admin, cases, readers).id
    with read_session(db.factory) as s:
        study = s.get(ReaderStudy, study_id)
        rows = s.scalars(select(ReaderAssignment).where(ReaderAssignment.study_id == study_id)).all()
        got = sorted((r.reader_id, r.case_id, r.period, r.sequence, r.arm) for r in rows)
        audited = s.scalar(select(func.count()).where(AuditLog.entity == "reader_study_assignments"))
        design = study.design
    expected = randomize(readers=readers, cases=cases, arms=STANDARD_ARMS, seed=7)
    assert got == sorted((x.reader_id, x.case_id, x.period, x.sequence, x.arm) for x in expected)
    assert audited == len(rows) == 3 * 6 * 3
    assert design["periods"] == 3 and design["washout_days"] == 14 and design["method"]
    assert [c["case_id"] for c in design["cases"]] == sorted(cases)
    assert all(c["truth"] == "A" and c["chain_id"] for c in design["cases"])
    assert [r["code"] for r in design["readers"]] == ["R1", "R2", "R3"]


def test_the_truth_falls_back_to_the_reviewers_verified_answer(sqlite_db) -> None:  # noqa: ANN001
    with session_scope(sqlite_db.factory, actor="test") as s:
        admin, _cases, readers = world(s, n_cases=0, n_readers=1)
        verifier = factories.user(s, name="v2")
        case, chain = factories.case(s, answer="A", reference_answer=None)
        store.claim_case(session=s, case_id=case.id, reviewer_id=verifier.id, lease=LEASE)
        store.submit_review(
            session=s, chain_id=chain.id, reviewer_id=verifier.id, answer_verdict="disagree",
            corrected_answer="C", require_all_steps=False, lease=LEASE,
        )  # fmt: skip
        study = _create(s, admin, [case.id], readers, arms=STANDARD_ARMS[:2])
        assert study.design["cases"][0]["truth"] == "C"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "  "}, "needs a name"),
        ({"washout_days": -1}, "washout"),
        ({"seed": -5}, "seed"),
        ({"arms": STANDARD_ARMS[:1]}, "2 to 6 arms"),
        ({"name": "Taken"}, "exists already"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_written(sqlite_db, change, message) -> None:  # noqa: ANN001
    with session_scope(sqlite_db.factory, actor="test") as s:
        admin, cases, readers = world(s, n_cases=2, n_readers=1)
        _create(s, admin, cases, readers, name="Taken")
    with session_scope(sqlite_db.factory, actor="test") as s, pytest.raises(ValidationError, match=message):
        _create(s, admin, cases, readers, **change)
    with read_session(sqlite_db.factory) as s:
        assert s.scalar(select(func.count()).select_from(ReaderStudy)) == 1


def test_cases_that_cannot_be_read_and_readers_who_saw_them_are_refused(sqlite_db) -> None:  # noqa: ANN001
    with session_scope(sqlite_db.factory, actor="test") as s:
        admin, cases, readers = world(s, n_cases=2, n_readers=2)
        open_case, _chain = factories.case(s)
        no_options, _ = factories.case(s, task_type="open_findings", options=[], reference_answer=None)
        researcher = factories.user(s, role=Role.researcher, name="res")
    attempts = [
        ([*cases, open_case.id], readers, "not verified"),
        (cases, [*readers, researcher.id], "active reviewers"),
        (cases, [*readers, 10_000], "does not exist"),
        ([], readers, "at least one case"),
    ]
    for case_ids, reader_ids, message in attempts:
        with session_scope(sqlite_db.factory, actor="test") as s, pytest.raises(Exception, match=message):
            _create(s, admin, case_ids, reader_ids)
    with session_scope(sqlite_db.factory, actor="test") as s:
        # A reader who verified a case of the study has seen its reasoning.
        exposed = factories.user(s, name="exposed")
        case_id, _ = verified_case(s, verifier_id=exposed.id)
    with session_scope(sqlite_db.factory, actor="test") as s, pytest.raises(ValidationError, match="exposed"):
        _create(s, admin, [*cases, case_id], [*readers, exposed.id])
    with read_session(sqlite_db.factory) as s:
        assert s.scalar(select(func.count()).select_from(ReaderStudy)) == 0
        assert not any(c.id == no_options.id for c in studies.eligible_cases(session=s))
        assert [c.id for c in studies.eligible_cases(session=s)] == [*cases, case_id]
        assert [c.id for c in studies.eligible_cases(session=s, limit=1)] == cases[:1]


def test_studies_are_listed_with_their_progress(sqlite_db) -> None:  # noqa: ANN001
    with session_scope(sqlite_db.factory, actor="test") as s:
        admin, cases, readers = world(s, n_cases=3, n_readers=2)
        _create(s, admin, cases, readers, arms=STANDARD_ARMS[:2])
    with read_session(sqlite_db.factory) as s:
        (summary,) = studies.list_studies(session=s)
        names = [n for n, _ in studies.eligible_readers(session=s)]
    assert (summary.name, summary.cases, summary.periods, summary.reads_done, summary.reads_total) == (
        "Pilot", 3, 2, 0, 2 * 3 * 2,
    )  # fmt: skip
    assert summary.readers == ("reader1", "reader2") and summary.arms == ("No AI", "Answer only")
    assert names == ["reader1", "reader2", "verifier"]


def test_a_reader_may_see_the_images_of_their_study_cases_only(sqlite_db) -> None:  # noqa: ANN001
    from services.reader_study.access import may_see_image

    with session_scope(sqlite_db.factory, actor="test") as s:
        admin, cases, readers = world(s, n_cases=2, n_readers=2)
        _create(s, admin, cases[:1], readers[:1], arms=STANDARD_ARMS[:2])
    with read_session(sqlite_db.factory) as s:
        assert may_see_image(session=s, user_id=readers[0], case_id=cases[0])
        assert not may_see_image(session=s, user_id=readers[0], case_id=cases[1])  # not in their study
        assert not may_see_image(session=s, user_id=readers[1], case_id=cases[0])  # not a reader of it
