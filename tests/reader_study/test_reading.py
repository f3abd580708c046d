"""A reader's reads: served in order, blinded by arm, timed by the server, checked on submit,
held behind the washout, append-only (refused UPDATE and DELETE by the database) and audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from review_db.engine import read_session, session_scope
from review_db.errors import ChestXError, ConflictError, PermissionDenied, ValidationError
from review_db.models import AuditLog, ReaderAssignment, ReaderRead
from services.reader_study import reading, studies
from services.reader_study.design import STANDARD_ARMS, Shows
from tests.reader_study.helpers import STEPS, world

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _study(factory, *, n_cases: int = 3, washout_days: int = 0, arms=STANDARD_ARMS) -> tuple[int, list[int]]:  # noqa: ANN001
    with session_scope(factory, actor="test") as s:
        admin, cases, readers = world(s, n_cases=n_cases, n_readers=2)
        studies.create_study(
            session=s, name="S", case_ids=cases, reader_ids=readers, arms=arms,
            washout_days=washout_days, seed=1, created_by=admin,
        )  # fmt: skip
    return readers[0], readers


def _serve(factory, reader: int, now: dt.datetime):  # noqa: ANN001, ANN202
    with session_scope(factory, actor=f"user:{reader}") as s:
        return reading.next_read(session=s, reader_id=reader, now=now)


def _submit(factory, reader: int, view, now: dt.datetime, **kw) -> None:  # noqa: ANN001
    """Submit ``view`` (a ReadView, or an assignment id) as ``reader``."""
    kw = {"answer": "A", "confidence": 3} | kw
    assignment_id = view if isinstance(view, int) else view.assignment_id
    with session_scope(factory, actor=f"user:{reader}") as s:
        reading.submit_read(session=s, reader_id=reader, assignment_id=assignment_id, now=now, **kw)


def test_reads_come_in_order_and_each_shows_only_what_its_arm_shows(sqlite_db) -> None:  # noqa: ANN001
    reader, _ = _study(sqlite_db.factory)
    with read_session(sqlite_db.factory) as s:
        planned = s.execute(
            select(ReaderAssignment.id, ReaderAssignment.arm)
            .where(ReaderAssignment.reader_id == reader)
            .order_by(ReaderAssignment.period, ReaderAssignment.sequence)
        ).all()
    arms = {a.key: a.shows for a in STANDARD_ARMS}
    now = T0
    for i, (assignment_id, arm) in enumerate(planned):
        view = _serve(sqlite_db.factory, reader, now)
        assert view.assignment_id == assignment_id and view.done == i and view.total == 9
        shown = repr(view)
        if arms[arm] is Shows.none:
            assert view.model_answer is None and view.steps == ()
        if arms[arm] is Shows.answer:
            assert view.model_answer == "A" and view.steps == ()
        if arms[arm] is not Shows.reasoning:
            assert not any(step in shown for step in STEPS)  # blinded: not in the read at all
        else:
            assert [st.text for st in view.steps] == list(STEPS) and view.model_answer == "A"
        assert view.question and view.options and view.period == 1 + i // 3
        _submit(sqlite_db.factory, reader, view, now + dt.timedelta(seconds=30 + i))
        now += dt.timedelta(minutes=1)
    assert _serve(sqlite_db.factory, reader, now) is None
    with read_session(sqlite_db.factory) as s:
        times = s.scalars(select(ReaderRead.time_s).order_by(ReaderRead.id)).all()
        audited = s.scalar(select(func.count()).where(AuditLog.entity == "reader_study_reads"))
    assert times == [30.0 + i for i in range(9)]  # from serving to submitting, on the server's clock
    assert audited == 9


def test_serving_again_keeps_the_first_serve_time(sqlite_db) -> None:  # noqa: ANN001
    reader, _ = _study(sqlite_db.factory)
    first = _serve(sqlite_db.factory, reader, T0)
    again = _serve(sqlite_db.factory, reader, T0 + dt.timedelta(minutes=5))  # a reload
    assert again.assignment_id == first.assignment_id
    _submit(sqlite_db.factory, reader, again, T0 + dt.timedelta(minutes=6))
    with read_session(sqlite_db.factory) as s:
        assert s.scalar(select(ReaderRead.time_s)) == 360.0


def test_the_next_period_waits_for_the_washout(sqlite_db) -> None:  # noqa: ANN001
    reader, _ = _study(sqlite_db.factory, n_cases=2, washout_days=14, arms=STANDARD_ARMS[:2])
    now = T0
    for _ in range(2):
        _submit(sqlite_db.factory, reader, _serve(sqlite_db.factory, reader, now), now)
        now += dt.timedelta(hours=1)
    last = now - dt.timedelta(hours=1)
    waiting = _serve(sqlite_db.factory, reader, now)
    assert isinstance(waiting, reading.Waiting)
    assert waiting.opens_at == last + dt.timedelta(days=14) and (waiting.done, waiting.total) == (2, 4)
    view = _serve(sqlite_db.factory, reader, last + dt.timedelta(days=14))
    assert isinstance(view, reading.ReadView) and view.period == 2


def test_a_submission_is_checked_and_bad_ones_write_nothing(sqlite_db) -> None:  # noqa: ANN001
    reader, readers = _study(sqlite_db.factory)
    view = _serve(sqlite_db.factory, reader, T0)
    other = readers[1]
    bad = [
        (other, {}, PermissionDenied, "another reader"),
        (reader, {"answer": None}, ValidationError, "pick your answer"),
        (reader, {"answer": "A,B"}, ValidationError, "one answer"),
        (reader, {"answer": "Z"}, ValidationError, "not among the options"),
        (reader, {"confidence": 0}, ValidationError, "confidence"),
        (reader, {"confidence": None}, ValidationError, "confidence"),
        (reader, {"marks": {9: "helpful"}}, ValidationError, "no step 9|no reasoning"),
        (reader, {"marks": {1: "brilliant"}}, ValidationError, "marked|no reasoning"),
    ]
    for who, kw, error, message in bad:
        with pytest.raises(error, match=message):
            _submit(sqlite_db.factory, who, view, T0, **kw)
    _submit(sqlite_db.factory, reader, view, T0)
    with pytest.raises(ConflictError, match="submitted already"):
        _submit(sqlite_db.factory, reader, view, T0)
    with read_session(sqlite_db.factory) as s:
        later = s.scalar(
            select(ReaderAssignment.id)
            .where(ReaderAssignment.reader_id == reader)
            .order_by(ReaderAssignment.period.desc(), ReaderAssignment.sequence.desc())
        )
        assert s.scalar(select(func.count()).select_from(ReaderRead)) == 1
    with pytest.raises(ConflictError, match="not the read being served"):
        _submit(sqlite_db.factory, reader, later, T0)  # a read of period 3, while period 1 runs


def test_step_marks_are_kept_by_step_in_the_reasoning_arm_only(sqlite_db) -> None:  # noqa: ANN001
    reader, _ = _study(sqlite_db.factory)
    now = T0
    marked = None
    while (view := _serve(sqlite_db.factory, reader, now)) is not None:
        if view.shows is Shows.reasoning and marked is None:
            _submit(sqlite_db.factory, reader, view, now, marks={1: "helpful", 3: "wrong"})
            marked = view
        else:
            if view.shows is not Shows.reasoning:
                with pytest.raises(ChestXError, match="no reasoning"):
                    _submit(sqlite_db.factory, reader, view, now, marks={1: "wrong"})
            _submit(sqlite_db.factory, reader, view, now)
        now += dt.timedelta(minutes=1)
    with read_session(sqlite_db.factory) as s:
        read = s.scalar(select(ReaderRead).where(ReaderRead.assignment_id == marked.assignment_id))
        assert read.step_marks == {str(marked.steps[0].id): "helpful", str(marked.steps[2].id): "wrong"}


@pytest.mark.parametrize(
    "statement", ["UPDATE reader_study_reads SET confidence = 5", "DELETE FROM reader_study_reads"]
)
def test_reads_are_append_only_in_the_database(db, statement: str) -> None:  # noqa: ANN001
    reader, _ = _study(db.factory, n_cases=1, arms=STANDARD_ARMS[:2])
    _submit(db.factory, reader, _serve(db.factory, reader, T0), T0, confidence=2)
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text(statement))
    with read_session(db.factory) as s:
        assert s.scalars(select(ReaderRead.confidence)).all() == [2]
