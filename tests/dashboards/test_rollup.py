"""The incremental verdict rollup: folding deltas gives what a rebuild gives, deletions and ids
that become visible late are caught, and a fold reads only what changed."""

from __future__ import annotations

import dataclasses

from sqlalchemy import delete, event, insert

from review_db import store
from review_db.engine import session_scope
from review_db.models import StepVerdict
from review_db.types import Verdict, utcnow
from services.dashboards import rollup
from services.dashboards.rollup import Rollup, RollupCache, fold, snapshot
from tests import factories
from tests.dashboards.conftest import LEASE, _review, per_verdict


def _plain(state: Rollup) -> dict:
    """The rollup's counters without zero entries (a subtracted contribution leaves zeros)."""
    out = {}
    for f in dataclasses.fields(Rollup):
        value = getattr(state, f.name)
        if f.name in ("watermark", "gaps"):
            continue
        if isinstance(value, dict):
            value = {k: (list(v) if isinstance(v, list) else v) for k, v in value.items()}
            value = {k: v for k, v in value.items() if (any(v) if isinstance(v, list) else v)}
        out[f.name] = value
    return out


def _rebuilt(factory) -> Rollup:  # noqa: ANN001
    with snapshot(factory) as s:
        return fold(s, None)


def test_folding_new_verdicts_equals_a_rebuild(seeded) -> None:  # noqa: ANN001
    db, ids = seeded
    with snapshot(db.factory) as s:
        before = fold(s, None)
    frozen = _plain(before)
    # More work: r2 changes their mind on A2 (correct -> reject), r3 reviews case A too.
    a = ids.steps["A"]
    r2, r3 = ids.reviewers["r2"], ids.reviewers["r3"]
    with session_scope(db.factory, actor="test") as s:  # a submitted review changes by amendment
        review = store.reopen_review(session=s, chain_id=ids.chains["A"], reviewer_id=r2, lease=LEASE)
        store.record_verdict(session=s, step_id=a[1], reviewer_id=r2, verdict="reject", lease=LEASE)
        store.submit_review(
            session=s,
            chain_id=ids.chains["A"],
            reviewer_id=r2,
            answer_verdict=review.answer_verdict,
            corrected_answer=review.corrected_answer,
            lease=LEASE,
        )
    _review(
        db.factory,
        ids.cases["A"],
        ids.chains["A"],
        r3,
        [(a[0], "accept"), (a[1], "reject"), (a[2], "accept")],
        60,
    )
    with snapshot(db.factory) as s:
        after = fold(s, before)
    assert _plain(before) == frozen  # the given rollup is left as it was (readers may hold it)
    assert _plain(after) == _plain(_rebuilt(db.factory))
    key = (1, "single_choice", ids.versions["v1"], "imported")
    assert after.rows == 19 and after.breakdown[key] == per_verdict(1, 0, 2)


def test_deleted_verdicts_trigger_a_rebuild(seeded) -> None:  # noqa: ANN001
    db, ids = seeded
    with snapshot(db.factory) as s:
        state = fold(s, None)
    assert state.regions["(none named)"] == per_verdict(5, 1, 0)
    with db.factory() as s, s.begin():  # as when an added step is removed and its verdicts cascade
        s.execute(delete(StepVerdict).where(StepVerdict.step_id == ids.steps["C"][-1]))
    with snapshot(db.factory) as s:
        state = fold(s, state)
    assert state.rows == 14 and state.regions["(none named)"] == per_verdict(4, 1, 0)
    assert _plain(state) == _plain(_rebuilt(db.factory))


def _raw_verdict(s, vid: int, step_id: int, reviewer_id: int, verdict: str) -> None:  # noqa: ANN001
    s.execute(
        insert(StepVerdict).values(
            id=vid,
            step_id=step_id,
            reviewer_id=reviewer_id,
            verdict=Verdict(verdict),
            comment="",
            request_id=f"raw-{vid}",
            created_at=utcnow(),
        )
    )


def test_a_verdict_committed_late_below_the_watermark_is_folded(sqlite_db) -> None:
    """PostgreSQL can commit id 7 after id 8; the missing id is remembered and picked up later."""
    with session_scope(sqlite_db.factory, actor="test") as s:
        reviewer = factories.user(s).id
        _, chain = factories.case(s)
        steps = [st.id for st in chain.steps]
    with sqlite_db.factory() as s, s.begin():
        for vid, step in ((1, 0), (2, 1), (4, 2)):  # id 3 is "in flight"
            _raw_verdict(s, vid, steps[step], reviewer, "accept")
    with snapshot(sqlite_db.factory) as s:
        state = fold(s, None)
    assert (state.watermark, state.rows, set(state.gaps)) == (4, 3, {3})
    with sqlite_db.factory() as s, s.begin():
        _raw_verdict(s, 3, steps[0], reviewer, "reject")  # supersedes verdict 1 on step 0
    with snapshot(sqlite_db.factory) as s:
        state = fold(s, state)
    assert (state.rows, state.gaps) == (4, {})
    assert state.breakdown[(0, "single_choice", None, "imported")] == per_verdict(0, 0, 1)
    assert _plain(state) == _plain(_rebuilt(sqlite_db.factory))


def test_a_fold_with_nothing_new_reads_no_step(seeded) -> None:  # noqa: ANN001
    db, _ = seeded
    cache = RollupCache()
    with snapshot(db.factory) as s:
        first = cache.current(s)
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with snapshot(db.factory) as s:
            again = cache.current(s)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert _plain(again) == _plain(first)
    assert not any("FROM steps" in st for st in statements)  # only the watermark, new rows, the count
    assert len([st for st in statements if st.lstrip().upper().startswith("SELECT")]) == 3


def test_a_large_delta_is_folded_as_a_rebuild(seeded, monkeypatch) -> None:  # noqa: ANN001
    db, _ = seeded
    with snapshot(db.factory) as s:
        state = fold(s, Rollup())  # an empty rollup "behind" by 15 rows
    assert _plain(state) == _plain(_rebuilt(db.factory))
    monkeypatch.setattr(rollup, "REBUILD_ABOVE", 3)
    monkeypatch.setattr(rollup, "RANGE", 2)  # several step ranges in the full pass
    with snapshot(db.factory) as s:
        state = fold(s, Rollup())
    assert _plain(state) == _plain(_rebuilt(db.factory))
