"""Read models of the dashboards: small frozen dataclasses, never ORM objects.

Contract: keyword-only functions that take a read-only session (never commit) and return plain
values. Verdict aggregates come from the incremental :mod:`services.dashboards.rollup` (folded in
the same snapshot); the rest are SQL aggregates over small tables (chain reviews, model versions,
training runs). :func:`load_all` gathers everything one dashboard refresh needs.

Definitions (also in docs/DASHBOARDS.md):

- *effective verdict*: the latest verdict of a reviewer on a step; rates count effective verdicts.
- *verdicts per day*: every verdict row, superseded ones included (it measures work done).
- *reviews per day*: chain reviews by their (last) submission day.
- *cases verified per day*: verified cases by the day of their latest submitted review.
- *time per review*: ``chain_reviews.time_spent_s``: one reviewer's time on one case.

Verdict counts, pair tables and profiles have one slot per :class:`~vocab.Verdict`, in the
enum's order (:data:`VERDICTS`): a new verdict kind shows up here without a change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, String, case, cast, func, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from review_db.models import Case, Chain, ChainReview, ModelVersion, TrainingRun, User
from review_db.types import utcnow
from services.dashboards import metrics as mx
from services.dashboards.rollup import (
    ADDED,
    CACHE,
    N_VERDICTS,
    V_INDEX,
    VERDICTS,
    Rollup,
    RollupCache,
    snapshot,
)
from vocab import AnswerVerdict, CaseStatus

log = logging.getLogger(__name__)
TIME_EDGES = (0, 30, 60, 120, 180, 300, 600, 900, 1800, 3600)  # seconds; the last bin is open
LOSS_RUNS = 20  # the newest training runs that get a loss curve


@dataclass(frozen=True, slots=True, init=False)
class VerdictCounts:
    """Effective verdicts of one group: ``VerdictCounts(3, 1, 0)`` counts, in :data:`VERDICTS`'
    order (verdicts left out count 0); ``counts.accept`` or ``counts["accept"]`` reads one."""

    counts: tuple[int, ...]

    def __init__(self, *counts: int) -> None:
        if len(counts) > N_VERDICTS:
            raise ValueError(f"{len(counts)} counts for {N_VERDICTS} verdicts")
        object.__setattr__(self, "counts", tuple(counts) + (0,) * (N_VERDICTS - len(counts)))

    def __getitem__(self, verdict: str) -> int:
        return self.counts[V_INDEX[verdict]]

    def __getattr__(self, name: str) -> int:
        # Only called for names that are not attributes: the verdicts, read as ``counts.accept``.
        if name in V_INDEX:
            return self.counts[V_INDEX[name]]
        raise AttributeError(name)

    @property
    def total(self) -> int:
        return sum(self.counts)

    def share(self, verdict: str) -> float | None:
        """The fraction of ``verdict`` among these counts; None when there are none."""
        return self[verdict] / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Group:
    """One bar of a rates chart: a label and its verdict counts."""

    label: str
    counts: VerdictCounts


@dataclass(frozen=True)
class VerdictRates:
    by_position: tuple[Group, ...] = ()
    by_task_type: tuple[Group, ...] = ()
    by_model: tuple[Group, ...] = ()
    by_finding: tuple[Group, ...] = ()
    by_region: tuple[Group, ...] = ()


@dataclass(frozen=True, slots=True)
class DayActivity:
    day: dt.date
    verdicts: int = 0
    reviews: int = 0
    verified_cases: int = 0


@dataclass(frozen=True, slots=True)
class PairTable:
    """Two reviewers' effective verdicts on the steps both judged: table[a's][b's]."""

    reviewer_a: str
    reviewer_b: str
    table: tuple[tuple[int, ...], ...]  # a row per verdict of a, a column per verdict of b

    @property
    def n(self) -> int:
        return sum(map(sum, self.table))


@dataclass(frozen=True)
class AgreementData:
    pairs: tuple[PairTable, ...] = ()
    # steps judged by >= 2 reviewers: ((a count per verdict), number of such steps)
    profiles: tuple[tuple[tuple[int, ...], int], ...] = ()


@dataclass(frozen=True, slots=True)
class ModelPoint:
    name: str
    status: str
    parent: str | None
    created_at: dt.datetime
    promoted_at: dt.datetime | None
    radrscore: float | None
    accuracy: float | None
    completeness: float | None = None
    factuality: float | None = None
    effectiveness: float | None = None


@dataclass(frozen=True, slots=True)
class LossCurve:
    run_id: int
    kind: str
    status: str
    steps: tuple[float, ...]
    losses: tuple[float, ...]

    @property
    def label(self) -> str:
        return f"{self.kind} #{self.run_id} ({self.status})"


@dataclass(frozen=True)
class TimeSpent:
    """Reviews per time bin (``TIME_EDGES``; the last bin is open-ended), per task type."""

    edges: tuple[int, ...] = TIME_EDGES
    by_task_type: tuple[tuple[str, tuple[int, ...]], ...] = ()
    total: int = 0
    median_s: float | None = None
    mean_s: float | None = None


@dataclass(frozen=True)
class DashboardData:
    activity: tuple[DayActivity, ...] = ()
    rates: VerdictRates = VerdictRates()
    agreement: AgreementData = AgreementData()
    models: tuple[ModelPoint, ...] = ()
    losses: tuple[LossCurve, ...] = ()
    time_spent: TimeSpent = TimeSpent()
    verdict_rows: int = 0
    judged_steps: int = 0
    # Submitted reviews by outcome (AnswerVerdict: agree, disagree, unusable), amendments left out.
    outcomes: tuple[tuple[str, int], ...] = ()
    generated_at: dt.datetime | None = None
    seconds: float = 0.0


_ACTIVITY = ("verdicts", "reviews", "verified_cases")  # DayActivity's counts, in order


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def review_outcomes(*, session: Session) -> tuple[tuple[str, int], ...]:
    """Submitted reviews per outcome, in AnswerVerdict's order (a review being amended counts not)."""
    found = dict(
        session.execute(
            select(ChainReview.answer_verdict, func.count())
            .where(ChainReview.reopened_at.is_(None))
            .group_by(ChainReview.answer_verdict)
        ).all()
    )
    return tuple((v.value, int(found.get(v, 0))) for v in AnswerVerdict)


def review_activity(*, session: Session, rollup: Rollup) -> tuple[DayActivity, ...]:
    """Verdicts, reviews and newly verified cases per day, oldest first (days with any)."""
    reviews = session.execute(
        select(func.date(ChainReview.submitted_at), func.count())
        .where(ChainReview.reopened_at.is_(None))
        .group_by(func.date(ChainReview.submitted_at))
    ).all()
    # A correlated max per verified case walks the (case -> chains -> reviews) indexes; a join
    # and GROUP BY case would sort every review instead. (Not wrapped in a subquery to filter
    # NULLs: SQLite would then evaluate the correlated max twice.)
    last_review = (
        select(func.max(ChainReview.submitted_at))
        .join(Chain, Chain.id == ChainReview.chain_id)
        .where(Chain.case_id == Case.id)
        .scalar_subquery()
    )
    day = func.date(last_review).label("day")
    verified = [
        row
        for row in session.execute(
            select(day, func.count()).where(Case.status == CaseStatus.verified).group_by(day)
        )
        if row[0] is not None
    ]
    days: dict[dt.date, list[int]] = {}  # day -> DayActivity's counts: [verdicts, reviews, verified]
    for day, n in rollup.by_day.items():
        days.setdefault(day, [0] * len(_ACTIVITY))[0] += n
    for column, rows in ((1, reviews), (2, verified)):
        for day, n in rows:
            days.setdefault(_day(day), [0] * len(_ACTIVITY))[column] += n
    return tuple(DayActivity(day, *counts) for day, counts in sorted(days.items()) if any(counts))


def _groups(
    items: dict[Any, list[int]], order: list[Any] | None = None, names: dict | None = None
) -> tuple[Group, ...]:
    keys = order if order is not None else sorted(items)
    out = []
    for key in keys:
        counts = items.get(key)
        if counts and sum(counts):
            out.append(Group(str((names or {}).get(key, key)), VerdictCounts(*counts)))
    return tuple(out)


def _merge(target: dict[Any, list[int]], key: Any, counts: list[int]) -> None:
    slot = target.setdefault(key, [0] * N_VERDICTS)
    for i, n in enumerate(counts):
        slot[i] += n


def verdict_rates(*, session: Session, rollup: Rollup) -> VerdictRates:
    """Effective verdict counts by step position, task type, model version, finding and region."""
    names = dict(session.execute(select(ModelVersion.id, ModelVersion.name)).all())
    by_position: dict[int, list[int]] = {}
    by_task: dict[str, list[int]] = {}
    by_model: dict[str, list[int]] = {}
    for (position, task_type, version_id, source), counts in rollup.breakdown.items():
        _merge(by_position, position, counts)
        _merge(by_task, task_type, counts)
        model = names.get(version_id, f"version {version_id}") if version_id else f"no version ({source})"
        _merge(by_model, model, counts)
    positions = sorted(p for p in by_position if p != ADDED) + ([ADDED] if ADDED in by_position else [])
    position_names = {p: ("added" if p == ADDED else str(p + 1)) for p in positions}
    version_order = [n for _, n in sorted(names.items())]
    models = [m for m in version_order if m in by_model] + sorted(
        m for m in by_model if m not in version_order
    )
    by_count = sorted(rollup.findings, key=lambda k: -sum(rollup.findings[k]))
    by_region = sorted(rollup.regions, key=lambda k: -sum(rollup.regions[k]))
    return VerdictRates(
        by_position=_groups(by_position, positions, position_names),
        by_task_type=_groups(by_task),
        by_model=_groups(by_model, models),
        by_finding=_groups(dict(rollup.findings), by_count),
        by_region=_groups(dict(rollup.regions), by_region),
    )


def agreement_data(*, session: Session, rollup: Rollup) -> AgreementData:
    """Pairwise tables and step profiles for the agreement statistics (see :mod:`stats`)."""
    return agreement_from_rollup(rollup, dict(session.execute(select(User.id, User.username)).all()))


def agreement_from_rollup(rollup: Rollup, names: dict[int, str]) -> AgreementData:
    """The agreement part of ``rollup``, reviewers named by ``names`` (user id -> name)."""
    pairs = []
    for (a, b), cells in sorted(rollup.pairs.items()):
        if sum(cells):
            n = N_VERDICTS
            table = tuple(tuple(cells[i * n : i * n + n]) for i in range(n))
            pairs.append(PairTable(names.get(a, f"user {a}"), names.get(b, f"user {b}"), table))
    profiles = tuple(sorted((p, n) for p, n in rollup.profiles.items() if n > 0))
    return AgreementData(pairs=tuple(pairs), profiles=profiles)


def model_points(*, session: Session) -> tuple[ModelPoint, ...]:
    """Every model version in creation order, with its metrics and promotion decision."""
    versions = session.execute(
        select(
            ModelVersion.id,
            ModelVersion.name,
            type_coerce(ModelVersion.status, String),
            ModelVersion.parent_id,
            ModelVersion.created_at,
            ModelVersion.promoted_at,
            ModelVersion.metrics,
        ).order_by(ModelVersion.created_at, ModelVersion.id)
    ).all()
    names = {row.id: row.name for row in versions}
    return tuple(
        ModelPoint(
            name=row.name,
            status=row[2],
            parent=names.get(row.parent_id),
            created_at=row.created_at,
            promoted_at=row.promoted_at,
            radrscore=mx.metric(row.metrics, "radrscore"),
            accuracy=mx.metric(row.metrics, "accuracy"),
            completeness=mx.component(row.metrics, "completeness"),
            factuality=mx.component(row.metrics, "factuality"),
            effectiveness=mx.component(row.metrics, "effectiveness"),
        )
        for row in versions
    )


def loss_curves(*, session: Session, limit: int = LOSS_RUNS) -> tuple[LossCurve, ...]:
    """Loss curves of the newest ``limit`` training runs that recorded one, oldest first."""
    runs = session.execute(
        select(
            TrainingRun.id,
            type_coerce(TrainingRun.kind, String),
            type_coerce(TrainingRun.status, String),
            TrainingRun.progress,
            TrainingRun.metrics,
        )
        .order_by(TrainingRun.id.desc())
        .limit(limit * 3)  # some runs (queued, evaluations) have no curve
    ).all()
    curves = []
    for run_id, kind, status, progress, metrics in runs:
        points = mx.loss_curve(progress, metrics)
        if points:
            steps, losses = zip(*points, strict=True)
            curves.append(LossCurve(run_id, kind, status, tuple(steps), tuple(losses)))
        if len(curves) == limit:
            break
    return tuple(reversed(curves))


def time_spent(*, session: Session) -> TimeSpent:
    """Reviews per time-spent bin and task type, and the median and mean time per review."""
    t = ChainReview.time_spent_s
    bin_of = case(*((t < edge, i - 1) for i, edge in enumerate(TIME_EDGES) if i), else_=len(TIME_EDGES) - 1)
    rows = session.execute(
        select(type_coerce(Case.task_type, String), bin_of, func.count(), func.sum(cast(t, Float)))
        .select_from(ChainReview)
        .join(Chain, Chain.id == ChainReview.chain_id)
        .join(Case, Case.id == Chain.case_id)
        .group_by(Case.task_type, bin_of)
    ).all()
    if not rows:
        return TimeSpent()
    per_task: dict[str, list[int]] = {}
    for task_type, index, n, _ in rows:
        per_task.setdefault(task_type, [0] * len(TIME_EDGES))[int(index)] += n
    total = sum(row[2] for row in rows)
    mean = sum(row[3] or 0.0 for row in rows) / total
    median = session.scalar(select(t).order_by(t).offset((total - 1) // 2).limit(1))
    return TimeSpent(
        by_task_type=tuple((k, tuple(v)) for k, v in sorted(per_task.items())),
        total=total,
        median_s=float(median) if median is not None else None,
        mean_s=mean,
    )


def warm_up(factory: sessionmaker[Session], *, cache: RollupCache = CACHE) -> threading.Thread:
    """Fold the verdict rollup in a background thread, so the first page view is fast.

    The first fold reads every verdict once (seconds at a million steps; see bench/RESULTS.md);
    an app calls this at start-up. A failure is logged, and the first refresh folds instead.
    """

    def run() -> None:
        try:
            with snapshot(factory) as session:
                cache.current(session)
        except Exception:  # a background convenience: the page itself reports real errors
            log.exception("warming the dashboards' verdict rollup failed")

    thread = threading.Thread(target=run, name="dashboards-warm-up", daemon=True)
    thread.start()
    return thread


def load_all(factory: sessionmaker[Session], *, cache: RollupCache = CACHE) -> DashboardData:
    """Everything one dashboard refresh shows, read in one snapshot of the database."""
    started = time.perf_counter()
    with snapshot(factory) as session:
        rollup = cache.current(session)
        data = DashboardData(
            activity=review_activity(session=session, rollup=rollup),
            rates=verdict_rates(session=session, rollup=rollup),
            agreement=agreement_data(session=session, rollup=rollup),
            models=model_points(session=session),
            losses=loss_curves(session=session),
            time_spent=time_spent(session=session),
            verdict_rows=rollup.rows,
            judged_steps=rollup.judged_steps,
            outcomes=review_outcomes(session=session),
            generated_at=utcnow(),
        )
    return dataclasses.replace(data, seconds=time.perf_counter() - started)


__all__ = [
    "VERDICTS",
    "AgreementData",
    "DashboardData",
    "DayActivity",
    "Group",
    "LossCurve",
    "ModelPoint",
    "PairTable",
    "TimeSpent",
    "VerdictCounts",
    "VerdictRates",
    "agreement_data",
    "agreement_from_rollup",
    "load_all",
    "loss_curves",
    "model_points",
    "review_activity",
    "review_outcomes",
    "time_spent",
    "verdict_rates",
    "warm_up",
]
