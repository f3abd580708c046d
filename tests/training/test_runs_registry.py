"""Run bookkeeping and the model registry on a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select

from review_db.engine import session_scope
from review_db.errors import AlreadyRunning, ConflictError, ValidationError
from review_db.models import ModelVersion, TrainingRun
from review_db.types import ModelStatus, RunStatus, utcnow
from training import registry, runs


def _job(db, kind="sft"):
    with session_scope(db.factory, actor="test") as s:
        return runs.start_job(session=s, kind=kind, config={"args": {}}, created_by="test").id


def test_a_second_job_is_refused_while_one_is_active(db) -> None:
    first = _job(db)
    with pytest.raises(AlreadyRunning, match=f"run {first} \\(sft, queued"):
        _job(db, "loop")
    with session_scope(db.factory, actor="test") as s:
        runs.mark_running(session=s, run_id=first)
        child = runs.start_child(session=s, parent_run_id=first, kind="eval", config={})
        assert child.parent_run_id == first  # stages of the job are not jobs
        runs.finish_run(session=s, run_id=first, metrics={"ok": 1})
    assert _job(db, "loop") > first  # free again


def test_concurrent_triggers_start_exactly_one_job(db) -> None:
    results: list[str] = []
    barrier = threading.Barrier(4)

    def trigger() -> None:
        barrier.wait()
        try:
            _job(db, "loop")
            results.append("started")
        except AlreadyRunning:
            results.append("refused")

    threads = [threading.Thread(target=trigger) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["refused"] * 3 + ["started"]
    with db.factory() as s:
        active = s.scalars(select(TrainingRun).where(TrainingRun.status.in_(runs.ACTIVE))).all()
    assert len(active) == 1


def test_a_job_whose_heartbeat_stopped_is_failed_and_no_longer_blocks(db) -> None:
    stale = _job(db)
    with session_scope(db.factory, actor="test") as s:
        runs.mark_running(session=s, run_id=stale, log_path="/tmp/x.log")
        s.get(TrainingRun, stale).heartbeat_at = utcnow() - dt.timedelta(hours=1)
    with session_scope(db.factory, actor="test") as s:
        fresh = runs.start_job(
            session=s, kind="loop", config={}, created_by="test", stale_after=dt.timedelta(minutes=10)
        )
        fresh_id = fresh.id
    with db.factory() as s:
        old = s.get(TrainingRun, stale)
        assert old.status is RunStatus.failed and "no heartbeat" in old.error and "/tmp/x.log" in old.error
        assert s.get(TrainingRun, fresh_id).status is RunStatus.queued


def test_progress_ticks_do_not_bump_the_version_or_conflict(db) -> None:
    run_id = _job(db)
    with db.factory() as s:
        version = s.get(TrainingRun, run_id).version
    runs.write_progress(db.factory, run_id, {"step": 3, "total": 10, "loss": 1.5, "eta_s": 7.0})
    runs.write_progress(db.factory, run_id, {"step": 4})
    with session_scope(db.factory, actor="test") as s:
        run = s.get(TrainingRun, run_id)
        assert run.progress == {"step": 4, "total": 10, "loss": 1.5, "eta_s": 7.0}
        assert run.version == version and run.heartbeat_at is not None
        runs.mark_running(session=s, run_id=run_id)  # a status change after ticks: no conflict


def test_failing_a_job_fails_its_active_stages(db) -> None:
    job = _job(db, "loop")
    with session_scope(db.factory, actor="test") as s:
        runs.mark_running(session=s, run_id=job)
        child = runs.start_child(session=s, parent_run_id=job, kind="sft", config={}).id
        assert runs.fail_run(session=s, run_id=job, error="boom") is True
        assert runs.fail_run(session=s, run_id=job, error="again") is False
    with db.factory() as s:
        assert s.get(TrainingRun, child).status is RunStatus.failed
        assert "boom" in s.get(TrainingRun, child).error


def test_promotion_keeps_exactly_one_current_version(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        base = registry.ensure_current(session=s, base_model="/models/base")
        assert registry.ensure_current(session=s, base_model="/other").id == base.id
        a = registry.register_version(
            session=s,
            name="a",
            base_model="/models/base",
            adapter_path="/a",
            parent_id=base.id,
            training_run_id=None,
        )
        b = registry.register_version(
            session=s,
            name="b",
            base_model="/models/base",
            adapter_path="/b",
            parent_id=a.id,
            training_run_id=None,
        )
        registry.promote(session=s, version_id=a.id, note="won")
        registry.reject(session=s, version_id=b.id, note="lost")
        with pytest.raises(ValidationError):
            registry.promote(session=s, version_id=b.id)
        with pytest.raises(ValidationError, match="already exists"):
            registry.register_version(
                session=s, name="a", base_model="x", adapter_path=None, parent_id=None, training_run_id=None
            )
    with db.factory() as s:
        status = {v.name: v.status for v in s.scalars(select(ModelVersion))}
        assert status == {"base": ModelStatus.retired, "a": ModelStatus.promoted, "b": ModelStatus.rejected}
        assert [v.name for v in registry.lineage(session=s, version_id=b.id)] == ["b", "a", "base"]
        assert registry.current_version(session=s).name == "a"


def test_two_promotions_at_the_same_moment_leave_exactly_one_current_version(db) -> None:
    """On PostgreSQL the second promotion waits on the first one's row lock and then no longer
    sees a promoted version to retire; only the partial unique index stops it from promoting a
    second one (it gets a ConflictError and writes nothing). On SQLite the writers queue and both
    promotions happen one after the other."""
    with session_scope(db.factory, actor="test") as s:
        base = registry.ensure_current(session=s, base_model="/models/base")
        ids = {
            name: registry.register_version(
                session=s,
                name=name,
                base_model="/m",
                adapter_path=f"/{name}",
                parent_id=base.id,
                training_run_id=None,
            ).id
            for name in ("a", "b")
        }
    first_flushed, outcome = threading.Event(), {}

    def promote(name: str, hold: bool) -> None:
        try:
            with session_scope(db.factory, actor=f"admin-{name}") as s:
                registry.promote(session=s, version_id=ids[name])
                if hold:  # keep the transaction open while the other promotion starts
                    first_flushed.set()
                    time.sleep(0.5)
            outcome[name] = "promoted"
        except ConflictError as exc:
            outcome[name] = str(exc)

    a = threading.Thread(target=promote, args=("a", True))
    a.start()
    assert first_flushed.wait(10)
    promote("b", False)
    a.join()
    with db.factory() as s:
        status = {v.name: v.status for v in s.scalars(select(ModelVersion))}
    assert list(status.values()).count(ModelStatus.promoted) == 1
    assert outcome["a"] == "promoted"
    if db.engine.dialect.name == "postgresql":
        assert "another model version was promoted" in outcome["b"]
        assert status == {"base": ModelStatus.retired, "a": ModelStatus.promoted, "b": ModelStatus.candidate}
    else:
        assert outcome["b"] == "promoted"
        assert status == {"base": ModelStatus.retired, "a": ModelStatus.retired, "b": ModelStatus.promoted}
