"""Verdict aggregates kept up to date incrementally: the part of the dashboards that scales.

Contract: :class:`Rollup` is plain data (counters) summarising every stored step verdict:
verdict rows per day, effective verdicts (the latest per step and reviewer) by step position /
task type / model version, by finding and region label, and the agreement tables (verdict
profiles of steps judged by two or more reviewers, and a verdict x verdict table per reviewer
pair). Every count list has one slot per :class:`~vocab.Verdict`, in the enum's order.
:func:`fold` brings a rollup up to date with the database, reading only what changed since it
was last folded; :class:`RollupCache` keeps one per database for the process.

Why not one GROUP BY per chart: on SQLite, grouping a million verdict rows joined to their steps,
chains and cases costs seconds of CPU (measured in bench/RESULTS.md) whatever the indexes,
because the grouping sorts every row. Verdicts are append-only, so an aggregate only ever needs
the rows added since the last look: ``fold`` reads the verdicts with an id above its watermark,
the earlier verdicts of the steps they touch (an index probe each), and those steps' facts, then
subtracts each touched step's old contribution and adds its new one. The first fold, or a rebuild,
reads everything once (in step-id ranges).

Correctness guards. ``fold`` runs in one snapshot (SQLite's deferred transaction; PostgreSQL
REPEATABLE READ), so counts and rows agree. PostgreSQL hands out ids before commit, so a verdict
may become visible after a higher id was folded: ids missing just below the top are remembered
as *gaps* and picked up when they appear (or forgotten after ``GAP_TTL``). If the number of
verdict rows differs from what the rollup has folded (a cascade deleted some, or a gap arrived
too late), it is rebuilt from scratch. Step facts (position, text, task type, model version)
never change once written, which is what makes subtracting old contributions valid.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
import weakref
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import Connection, Engine, String, func, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from review_db.engine import read_session
from review_db.models import Case, Chain, Step, StepVerdict
from services.dashboards import lexicon
from vocab import StepKind, Verdict

VERDICTS = tuple(v.value for v in Verdict)  # the order of every count list
V_INDEX = {v: i for i, v in enumerate(VERDICTS)}
N_VERDICTS = len(VERDICTS)
ADDED = -1  # position key of steps that reviewers added
GAP_WINDOW = 1000  # ids below the top that may still be in flight on PostgreSQL
GAP_TTL = 600.0  # seconds after which a missing id is taken for a rolled-back one
REBUILD_ABOVE = 200_000  # a delta this large is cheaper to fold as a rebuild
RANGE = 20_000  # steps per range in a full pass
IN_CHUNK = 5_000  # ids per IN (...) list


class StepFacts(NamedTuple):
    """What a verdict is grouped by: fixed once the step is written.

    A named tuple, not a frozen dataclass: a first fold makes one per judged step (a million),
    and a frozen dataclass is several times slower to create.
    """

    position: int  # 0-based model position, or ADDED
    task_type: str
    model_version_id: int | None
    source: str
    findings: tuple[str, ...]
    regions: tuple[str, ...]


def _per_verdict() -> defaultdict:
    return defaultdict(lambda: [0] * N_VERDICTS)


def _tables() -> defaultdict:
    return defaultdict(lambda: [0] * (N_VERDICTS * N_VERDICTS))


@dataclass
class Rollup:
    """Counters over all verdicts up to ``watermark`` (plus late ``gaps`` once they appear)."""

    watermark: int = 0
    rows: int = 0  # verdict rows folded in
    gaps: dict[int, float] = field(default_factory=dict)  # missing id -> monotonic time first missed
    by_day: Counter[dt.date] = field(default_factory=Counter)  # every verdict row, superseded ones too
    # (position, task type, model version id, chain source) -> a count per verdict
    breakdown: defaultdict[tuple[int, str, int | None, str], list[int]] = field(default_factory=_per_verdict)
    findings: defaultdict[str, list[int]] = field(default_factory=_per_verdict)
    regions: defaultdict[str, list[int]] = field(default_factory=_per_verdict)
    # steps with >= 2 effective verdicts: (a count per verdict) -> number of steps
    profiles: Counter[tuple[int, ...]] = field(default_factory=Counter)
    # (reviewer a, reviewer b), a < b -> N_VERDICTS**2 cells, row-major: a's verdict x b's verdict
    pairs: defaultdict[tuple[int, int], list[int]] = field(default_factory=_tables)
    judged_steps: int = 0  # steps with at least one effective verdict

    def contribute(self, facts: StepFacts, effective: dict[int, str], sign: int) -> None:
        """Add (sign 1) or remove (sign -1) one step's effective verdicts {reviewer: verdict}."""
        if not effective:
            return
        self.judged_steps += sign
        key = (facts.position, facts.task_type, facts.model_version_id, facts.source)
        counts = [0] * N_VERDICTS
        for verdict in effective.values():
            counts[V_INDEX[verdict]] += 1
        for i, n in enumerate(counts):
            if n:
                self.breakdown[key][i] += sign * n
                for label in facts.findings:
                    self.findings[label][i] += sign * n
                for label in facts.regions:
                    self.regions[label][i] += sign * n
        if len(effective) >= 2:
            self.profiles[tuple(counts)] += sign
            ordered = sorted(effective.items())
            for i, (ra, va) in enumerate(ordered):
                for rb, vb in ordered[i + 1 :]:
                    self.pairs[(ra, rb)][V_INDEX[va] * N_VERDICTS + V_INDEX[vb]] += sign


def _as_date(value: object) -> dt.date:
    # SQLite's date() returns 'YYYY-MM-DD', PostgreSQL's a date.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


ChainFacts = dict[int, tuple[str, int | None, str]]  # chain -> (task type, model version id, source)


def _facts(step_rows: Iterable[Sequence], chains: ChainFacts, wanted: Container[int]) -> dict[int, StepFacts]:
    """StepFacts of the ``wanted`` steps among ``step_rows`` (see :func:`_step_columns`)."""
    out = {}
    for step_id, chain_id, position, kind, text in step_rows:
        if step_id not in wanted:
            continue
        findings, regions = lexicon.labels(text or "")
        task_type, version_id, source = chains[chain_id]
        model_step = kind == StepKind.model.value and position is not None
        out[step_id] = StepFacts(
            position if model_step else ADDED, task_type, version_id, source, findings, regions
        )
    return out


def _chains(conn: Connection, chain_ids: Iterable[int] | None = None) -> ChainFacts:
    """The facts of all chains, or of the given ones."""
    query = select(Chain.id, _raw(Case.task_type), Chain.model_version_id, _raw(Chain.source)).join(
        Case, Case.id == Chain.case_id
    )
    if chain_ids is None:
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}
    out = {}
    for ids in _chunks(sorted(set(chain_ids))):
        out.update({row[0]: tuple(row[1:]) for row in conn.execute(query.where(Chain.id.in_(ids)))})
    return out


def _count_days(state: Rollup, rows: Iterable[Sequence]) -> None:
    for day, n in Counter(row[4] for row in rows).items():
        state.by_day[_as_date(day)] += n


def _raw(column):  # noqa: ANN001, ANN202
    # Enum columns read back as plain strings: the rollup keys are plain values, and a million
    # enum conversions are measurable.
    return type_coerce(column, String)


def _step_columns():  # noqa: ANN202
    return select(Step.id, Step.chain_id, Step.position, _raw(Step.kind), Step.text)


def _verdict_columns():  # noqa: ANN202
    v = StepVerdict
    return select(v.id, v.step_id, v.reviewer_id, _raw(v.verdict), func.date(v.created_at))


def _chunks(ids: Sequence[int], size: int = IN_CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _effective(rows: Iterable[Sequence]) -> dict[int, dict[int, str]]:
    """{step: {reviewer: verdict}} from verdict rows in ascending id order: the last one counts."""
    out: dict[int, dict[int, str]] = defaultdict(dict)
    for _, step_id, reviewer_id, verdict, *_ in rows:
        out[step_id][reviewer_id] = verdict
    return out


def _full_pass(session: Session, top: int) -> Rollup:
    """Fold every verdict with id <= top, reading steps in id ranges (no IN lists)."""
    state = Rollup(watermark=top)
    v = StepVerdict.__table__.c
    conn = session.connection()  # Core rows: the ORM result machinery costs seconds here
    last_step = conn.scalar(select(func.max(v.step_id))) or 0  # the index's last entry: O(1)
    chains = _chains(conn)
    for lo in range(0, last_step, RANGE):
        hi = lo + RANGE
        in_range = _verdict_columns().where(v.step_id > lo, v.step_id <= hi, v.id <= top)
        rows = conn.execute(in_range.order_by(v.id)).all()
        if not rows:
            continue
        state.rows += len(rows)
        _count_days(state, rows)
        effective = _effective(rows)
        facts = _facts(conn.execute(_step_columns().where(Step.id > lo, Step.id <= hi)), chains, effective)
        for step_id, verdicts in effective.items():
            state.contribute(facts[step_id], verdicts, 1)
    seen = set(conn.scalars(select(v.id).where(v.id > top - GAP_WINDOW, v.id <= top)))
    state.gaps = _new_gaps(Rollup(watermark=max(0, top - GAP_WINDOW)), seen, top, time.monotonic())
    return state


def _delta(session: Session, state: Rollup, new_rows: list[Sequence]) -> None:
    """Fold ``new_rows`` (the visible verdicts not folded yet) into ``state``."""
    v = StepVerdict.__table__.c
    conn = session.connection()
    new_ids = {row[0] for row in new_rows}
    for step_ids in _chunks(sorted({row[1] for row in new_rows})):
        rows = conn.execute(_verdict_columns().where(v.step_id.in_(step_ids)).order_by(v.id)).all()
        before = _effective(r for r in rows if r[0] <= state.watermark and r[0] not in new_ids)
        after = _effective(rows)
        step_rows = conn.execute(_step_columns().where(Step.id.in_(step_ids))).all()
        facts = _facts(step_rows, _chains(conn, (row[1] for row in step_rows)), set(step_ids))
        for step_id in step_ids:
            state.contribute(facts[step_id], before.get(step_id, {}), -1)
            state.contribute(facts[step_id], after.get(step_id, {}), 1)
    _count_days(state, new_rows)
    state.rows += len(new_rows)


def _new_gaps(state: Rollup, seen: set[int], top: int, now: float) -> dict[int, float]:
    """Ids (old gaps still young, or just below ``top``) that no visible row has yet."""
    gaps = {gid: t for gid, t in state.gaps.items() if gid not in seen and now - t < GAP_TTL}
    for gid in range(max(state.watermark, top - GAP_WINDOW) + 1, top + 1):
        if gid not in seen:
            gaps.setdefault(gid, now)
    return gaps


def fold(session: Session, state: Rollup | None = None) -> Rollup:
    """``state`` brought up to date with the database (a new rollup when None or inconsistent).

    ``session`` should hold one snapshot (see :func:`snapshot`). The given rollup is not
    changed (readers may hold it); the result is a folded copy, or a rebuilt rollup.
    """
    v = StepVerdict.__table__.c
    top = session.scalar(select(func.max(v.id))) or 0
    if state is None or top - state.watermark > REBUILD_ABOVE:
        return _finish(session, _full_pass(session, top), top)
    state = copy.deepcopy(state)
    conn = session.connection()
    new_rows = list(conn.execute(_verdict_columns().where(v.id > state.watermark)))
    for ids in _chunks(sorted(state.gaps)):
        new_rows.extend(conn.execute(_verdict_columns().where(v.id.in_(ids))))
    if new_rows:
        _delta(session, state, new_rows)
    seen = {row[0] for row in new_rows}
    state.gaps = _new_gaps(state, seen, top, time.monotonic())
    state.watermark = max(state.watermark, top)
    return _finish(session, state, top)


def _finish(session: Session, state: Rollup, top: int) -> Rollup:
    """Check the rollup against the row count; rebuild it once when they disagree."""
    v = StepVerdict.__table__.c
    total = session.scalar(select(func.count()).select_from(StepVerdict).where(v.id <= top)) or 0
    return state if total == state.rows else _full_pass(session, top)


@contextmanager
def snapshot(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only session that sees one snapshot for all its statements."""
    engine = factory.kw["bind"]
    if engine.dialect.name == "postgresql":
        with factory() as session:
            session.connection(
                execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            )
            try:
                yield session
            finally:
                session.rollback()
    else:  # SQLite in WAL: a deferred read transaction is a snapshot
        with read_session(factory) as session:
            yield session


class RollupCache:
    """One rollup per database engine for this process; folds of one database are serialised."""

    def __init__(self) -> None:
        self._states: weakref.WeakKeyDictionary[Engine, Rollup] = weakref.WeakKeyDictionary()
        self._locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
        self._guard = threading.Lock()

    def current(self, session: Session) -> Rollup:
        """The rollup of ``session``'s database folded up to the session's snapshot.

        The result must be treated as read-only: later folds copy it rather than change it.
        """
        engine = session.get_bind()
        with self._guard:
            lock = self._locks.setdefault(engine, threading.Lock())
        with lock:
            state = fold(session, self._states.get(engine))
            self._states[engine] = state
            return state

    def held(self, engine: Engine) -> Rollup | None:
        """The rollup last folded for ``engine``, if any (without folding)."""
        return self._states.get(engine)

    def clear(self) -> None:
        with self._guard:
            self._states.clear()


CACHE = RollupCache()
