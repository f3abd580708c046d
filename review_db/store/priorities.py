"""What active learning stores (issue 17): shared settings, step hints, PRM step scores, priorities.

Contract: keyword-only functions on a session; they never commit. Settings are
``app_settings`` rows by key (:mod:`vocab.priority` names them); a user's step-hints choice is
their ``user_preferences`` row. The scoring side writes :class:`~review_db.models.StepScore` and
:class:`~review_db.models.CasePriority` rows and ``cases.priority`` in bulk: a priority is
machine-set ordering, so it is written with a plain UPDATE (no version bump: a reviewer's or an
admin's copy of the case is not made stale by a re-ordering; not audited row by row: the
``case_priorities`` row records the strategy, score, reason and time instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from review_db.models import AppSetting, Case, CasePriority, Chain, Step, StepScore, UserPreference
from review_db.store.worklist import current_chain_id
from review_db.types import CaseStatus, ChainSource, StepKind, utcnow
from vocab.priority import PriorityStrategy

_CHUNK = 500  # ids per IN (...) list: well under SQLite's bound-parameter limit
_MAX_TIER = 2_000_000  # tier * 1000 stays within a 32-bit INTEGER (PostgreSQL's)


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for k in range(0, len(items), size):
        yield items[k : k + size]


# ---- settings every replica shares, and a user's own ----
def get_setting(*, session: Session, key: str) -> str | None:
    """The stored value of setting ``key``, or None when nobody set it."""
    return session.scalar(select(AppSetting.value).where(AppSetting.key == key))


def set_setting(*, session: Session, key: str, value: str, actor: str) -> None:
    """Set ``key`` to ``value`` (audited: the row is an ORM object)."""
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=value, updated_by=actor, updated_at=utcnow()))
    else:
        row.value, row.updated_by, row.updated_at = value, actor, utcnow()
    session.flush()


def user_step_hints(*, session: Session, user_id: int) -> bool:
    """Whether ``user_id`` turned step hints on for themselves (off by default)."""
    return bool(session.scalar(select(UserPreference.step_hints).where(UserPreference.user_id == user_id)))


def set_user_step_hints(*, session: Session, user_id: int, on: bool) -> None:
    row = session.get(UserPreference, user_id)
    if row is None:
        session.add(UserPreference(user_id=user_id, step_hints=on, updated_at=utcnow()))
    else:
        row.step_hints, row.updated_at = on, utcnow()
    session.flush()


# ---- what the scoring reads and writes ----
@dataclass(frozen=True)
class OpenChain:
    """An open case's current model chain, as the PRM and the strategies need it."""

    case_id: int
    chain_id: int
    task_type: str
    question: str
    options: tuple[str, ...]
    report: str | None
    reference_answer: str | None
    final_answer: str | None
    step_ids: tuple[int, ...]  # model steps by position
    steps: tuple[str, ...]


def open_model_chains(
    *, session: Session, case_ids: Sequence[int] | None = None, with_text: bool = True
) -> list[OpenChain]:
    """Open cases whose current chain is a model's (not the report's) and has model steps, by id
    (``with_text=False``: the steps' texts are left empty, for re-ordering from stored scores)."""
    query = (
        select(Case, Chain.id, Chain.final_answer)
        .join(Chain, Chain.id == current_chain_id())
        .where(Case.status == CaseStatus.open, Chain.source != ChainSource.report)
        .order_by(Case.id)
    )
    if case_ids is not None:
        query = query.where(Case.id.in_(list(case_ids)))
    found = session.execute(query).all()
    steps: dict[int, list[tuple[int, int, str]]] = {}
    for chunk in _chunks([chain_id for _, chain_id, _ in found]):
        for chain_id, step_id, position, text in session.execute(
            select(Step.chain_id, Step.id, Step.position, Step.text if with_text else literal("")).where(
                Step.chain_id.in_(chunk), Step.kind == StepKind.model
            )
        ):
            steps.setdefault(chain_id, []).append((position, step_id, text))
    out = []
    for case, chain_id, final in found:
        ordered = sorted(steps.get(chain_id, []))
        if ordered:
            out.append(
                OpenChain(
                    case.id, chain_id, case.task_type.value, case.question, tuple(case.options or ()),
                    case.report, case.reference_answer, final, tuple(s[1] for s in ordered),
                    tuple(s[2] for s in ordered),
                )
            )  # fmt: skip
    return out


def save_step_scores(*, session: Session, scores: Mapping[int, float], prm: str) -> None:
    """Replace the stored scores of these steps (step id -> P(correct)) by ``prm``'s."""
    ids, now = list(scores), utcnow()
    for chunk in _chunks(ids):
        session.execute(delete(StepScore).where(StepScore.step_id.in_(chunk)))
    for chunk in _chunks(ids):
        rows = [
            {"step_id": i, "p_correct": float(scores[i]), "prm": prm[:128], "scored_at": now} for i in chunk
        ]
        session.execute(insert(StepScore), rows)


def chain_scores(*, session: Session, chain_ids: Sequence[int]) -> dict[int, dict[int, tuple[float, str]]]:
    """chain id -> {model step position: (P(correct), which PRM)} for the scored steps."""
    out: dict[int, dict[int, tuple[float, str]]] = {}
    for chunk in _chunks(list(chain_ids)):
        rows = session.execute(
            select(Step.chain_id, Step.position, StepScore.p_correct, StepScore.prm)
            .join(StepScore, StepScore.step_id == Step.id)
            .where(Step.chain_id.in_(chunk), Step.kind == StepKind.model)
        )
        for chain_id, position, p, prm in rows:
            out.setdefault(chain_id, {})[position] = (p, prm)
    return out


def step_risks(*, session: Session, chain_id: int) -> dict[int, tuple[float, str]]:
    """step id -> (P(correct), which PRM) for the chain's scored model steps (the step hints)."""
    rows = session.execute(
        select(StepScore.step_id, StepScore.p_correct, StepScore.prm)
        .join(Step, Step.id == StepScore.step_id)
        .where(Step.chain_id == chain_id)
    )
    return {step_id: (p, prm) for step_id, p, prm in rows}


@dataclass(frozen=True)
class PriorityRow:
    """A case's new priority: what the strategy decided and why."""

    case_id: int
    chain_id: int | None
    strategy: str
    score: float
    reason: str
    prm: str | None
    tier_value: int  # the priority within the case's tier: 0..999 (strategy_value(score))


def write_priorities(*, session: Session, rows: Sequence[PriorityRow], scale: int) -> int:
    """Write each case's priority and its reason; returns how many cases.

    The priority is ``tier * scale + tier_value``, where the tier is the priority the case had by
    hand: read from ``cases.priority`` the first time a strategy orders the case, or again when it
    was changed by hand since a strategy last wrote it. Under ``fifo`` it is the tier itself: the
    priorities are as they were before any strategy.
    """
    ids = [r.case_id for r in rows]
    current: dict[int, int] = {}
    previous: dict[int, tuple[int, int]] = {}
    for chunk in _chunks(ids):
        current.update(session.execute(select(Case.id, Case.priority).where(Case.id.in_(chunk))).all())
        for case_id, base, written in session.execute(
            select(CasePriority.case_id, CasePriority.base_priority, CasePriority.written_priority).where(
                CasePriority.case_id.in_(chunk)
            )
        ):
            previous[case_id] = (base, written)
        session.execute(delete(CasePriority).where(CasePriority.case_id.in_(chunk)))
    now, records, updates = utcnow(), [], []
    for r in rows:
        if r.case_id not in current:
            continue
        base, written = previous.get(r.case_id, (None, None))
        if base is None or current[r.case_id] != written:  # first ordering, or changed by hand since
            base = current[r.case_id]
        # fifo gives each case its own priority back; a strategy orders within it (tier).
        tier = min(max(base, -_MAX_TIER), _MAX_TIER)
        value = base if r.strategy == PriorityStrategy.fifo.value else tier * scale + r.tier_value
        records.append(
            {"case_id": r.case_id, "chain_id": r.chain_id, "strategy": r.strategy, "score": float(r.score),
             "reason": r.reason[:256], "prm": r.prm, "base_priority": base, "written_priority": value,
             "computed_at": now}
        )  # fmt: skip
        updates.append({"cid": r.case_id, "value": value})
    table = Case.__table__
    for chunk in _chunks(records):
        session.execute(insert(CasePriority), list(chunk))
    if updates:
        session.execute(
            update(table).where(table.c.id == bindparam("cid")).values(priority=bindparam("value")), updates
        )
    return len(records)


def priority_reasons(*, session: Session, case_ids: Sequence[int]) -> dict[int, str]:
    """case id -> why it sits where it does ("weakest step 3: 0.12 (PRM run 7)"); a case whose
    current chain is newer than the one scored says so."""
    out: dict[int, str] = {}
    for chunk in _chunks(list(case_ids)):
        rows = session.execute(
            select(
                CasePriority.case_id,
                CasePriority.reason,
                CasePriority.prm,
                CasePriority.chain_id,
                current_chain_id(),
            )
            .join(Case, Case.id == CasePriority.case_id)
            .where(CasePriority.case_id.in_(chunk))
        )
        for case_id, reason, prm, scored_chain, current in rows:
            if scored_chain is not None and current != scored_chain:
                out[case_id] = "new chain, not scored yet"
            else:
                out[case_id] = f"{reason} ({prm})" if prm else reason
    return out


def prioritization_summary(*, session: Session) -> dict[str, object]:
    """How many cases the last prioritizations ordered, by which strategy and PRM, and when."""
    rows = session.execute(
        select(
            CasePriority.strategy, CasePriority.prm, func.count(), func.max(CasePriority.computed_at)
        ).group_by(CasePriority.strategy, CasePriority.prm)
    ).all()
    scored = session.scalar(select(func.count()).select_from(StepScore)) or 0
    return {
        "cases": sum(n for _, _, n, _ in rows),
        "by": [{"strategy": s.value, "prm": prm, "cases": n, "at": at} for s, prm, n, at in rows],
        "scored_steps": scored,
        "at": max((at for *_, at in rows), default=None),
    }
