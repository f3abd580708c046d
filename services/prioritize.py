"""Active learning on steps, the use case (issue 17): which strategy orders the worklist, scoring
the open chains with the current PRM, and the step hints reviewers may turn on.

Contract: keyword-only functions; those taking a session never commit, those taking a session
factory run their own units of work (the CLI and the admin page call them; scoring loads a model,
so only :func:`prioritize` does it, never a web request).

- :func:`prioritize` (``chestx prioritize``): the current PRM (the newest succeeded PRM run's
  folder, or ``prm_path``) scores every step of every open model chain, then the strategy sets
  each case's priority and reason. Without any PRM it re-orders from the stored scores. A loop
  run does the same at its end (:mod:`training.loop_run`, same function below).
- :func:`set_strategy` (the admin page, ``--strategy``): stores the shared setting and re-orders
  at once from the stored scores (no model: milliseconds).
- :func:`hints` / :func:`set_my_hints` / :func:`set_hints_for_everyone`: step hints are off
  until a reviewer turns them on for themselves or an admin for everyone (a visible score
  anchors the reader); :func:`step_hints` reads a chain's risks for the review page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from review_db.engine import read_session, session_scope
from review_db.errors import ValidationError
from review_db.models import TrainingRun
from review_db.store import priorities as stored
from review_db.types import RunKind, RunStatus
from training.active_learning.scoring import (
    Prioritized,
    apply_strategy,
    current_strategy,
    plan_priorities,
    prioritize_with_folder,
    write_plan,
)
from vocab.priority import HINTS_KEY, STRATEGY_KEY, PriorityStrategy

__all__ = [
    "Hints",
    "Prioritized",
    "current_prm",
    "hints",
    "parse_strategy",
    "prioritize",
    "set_hints_for_everyone",
    "set_my_hints",
    "set_strategy",
    "status",
    "step_hints",
]


def parse_strategy(value: str | PriorityStrategy) -> PriorityStrategy:
    """The strategy named ``value``; ValidationError naming the choices otherwise."""
    try:
        return PriorityStrategy(value)
    except ValueError:
        names = ", ".join(s.value for s in PriorityStrategy)
        raise ValidationError(f"unknown strategy {value!r}; one of {names}") from None


def current_prm(*, session: Session) -> tuple[Path, str] | None:
    """(folder, name) of the newest succeeded PRM run whose folder still exists, or None."""
    rows = session.execute(
        select(TrainingRun.id, TrainingRun.checkpoint)
        .where(TrainingRun.kind == RunKind.prm, TrainingRun.status == RunStatus.succeeded)
        .order_by(TrainingRun.id.desc())
        .limit(20)
    )
    for run_id, checkpoint in rows:
        if checkpoint and Path(checkpoint).is_dir():
            return Path(checkpoint), f"PRM run {run_id}"
    return None


def set_strategy(
    *, factory: sessionmaker[Session], strategy: str | PriorityStrategy, actor: str
) -> Prioritized:
    """Make ``strategy`` the one every replica orders by, and re-order now from the stored scores."""
    chosen = parse_strategy(strategy)
    with read_session(factory) as session:  # the reads outside the (SQLite) writer slot
        rows = plan_priorities(session=session, strategy=chosen)
    with session_scope(factory, actor=actor) as session:
        stored.set_setting(session=session, key=STRATEGY_KEY, value=chosen.value, actor=actor)
        return write_plan(session=session, rows=rows, strategy=chosen)


def prioritize(
    *,
    factory: sessionmaker[Session],
    actor: str,
    strategy: str | PriorityStrategy | None = None,
    prm_path: Path | None = None,
) -> Prioritized:
    """Score the open chains with the current PRM (or ``prm_path``) and re-order the worklist;
    ``strategy`` also becomes the shared setting. Without a PRM, re-orders from stored scores."""
    if strategy is not None:
        set_strategy(factory=factory, strategy=strategy, actor=actor)
    if prm_path is not None:
        if not Path(prm_path).is_dir():
            raise ValidationError(f"no PRM folder at {prm_path}")
        found: tuple[Path, str] | None = (Path(prm_path), f"PRM {Path(prm_path).name}")
    else:
        with read_session(factory) as session:
            found = current_prm(session=session)
    if found is None:
        with session_scope(factory, actor=actor) as session:
            return apply_strategy(session=session)
    return prioritize_with_folder(factory=factory, prm_path=found[0], prm=found[1], actor=actor)


def status(*, session: Session) -> dict[str, object]:
    """What the admin page shows: the strategy, the last prioritization, hints for everyone."""
    return {
        "strategy": current_strategy(session=session),
        "hints_for_everyone": _everyone(session),
        **stored.prioritization_summary(session=session),
    }


@dataclass(frozen=True)
class Hints:
    """Whether a reviewer sees step hints: their own choice, or an admin's for everyone."""

    mine: bool
    everyone: bool

    @property
    def shown(self) -> bool:
        return self.mine or self.everyone


def _everyone(session: Session) -> bool:
    return stored.get_setting(session=session, key=HINTS_KEY) == "on"


def hints(*, session: Session, user_id: int) -> Hints:
    return Hints(stored.user_step_hints(session=session, user_id=user_id), _everyone(session))


def set_my_hints(*, session: Session, user_id: int, on: bool) -> None:
    """A reviewer's own step-hints toggle."""
    stored.set_user_step_hints(session=session, user_id=user_id, on=bool(on))


def set_hints_for_everyone(*, session: Session, on: bool, actor: str) -> None:
    """An admin's switch: step hints on for every reviewer (off: each reviewer's own choice)."""
    stored.set_setting(session=session, key=HINTS_KEY, value="on" if on else "off", actor=actor)


def step_hints(*, session: Session, chain_id: int) -> dict[int, tuple[float, str]]:
    """step id -> (the PRM's risk that the step is wrong, which PRM) for the chain's scored steps."""
    return {
        step_id: (1.0 - p, prm)
        for step_id, (p, prm) in stored.step_risks(session=session, chain_id=chain_id).items()
    }
