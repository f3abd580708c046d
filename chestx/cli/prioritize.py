"""``chestx prioritize``: the current PRM scores the open chains' steps; the strategy orders the worklist.

What a loop run does at its end, on demand: the newest trained PRM (or ``--prm DIR``) scores every
step of every open model chain, then each case's priority and reason follow the shared strategy.
``--strategy S`` first makes S the strategy every replica orders by (the admin page's chooser
sets the same setting); ``--no-score`` re-orders from the stored scores without loading a PRM.
The use case is :mod:`services.prioritize`; docs/ACTIVE_LEARNING.md says what each strategy does.
"""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import select

from chestx.cli.common import clean_errors, database, printable
from review_db.engine import read_session
from review_db.models import Case
from review_db.store import priorities as stored
from review_db.types import CaseStatus
from services import prioritize as use_case
from vocab.priority import PriorityStrategy

_NAMES = "|".join(s.value for s in PriorityStrategy)


def _top(limit: int) -> None:
    """The first open cases in worklist order, with why."""
    factory = database()
    with read_session(factory) as session:
        cases = session.execute(
            select(Case.id, Case.priority)
            .where(Case.status == CaseStatus.open)
            .order_by(Case.priority.desc(), Case.id)
            .limit(limit)
        ).all()
        reasons = stored.priority_reasons(session=session, case_ids=[c for c, _ in cases])
    for case_id, priority in cases:
        typer.echo(f"  case {case_id:>6}  priority {priority:>7}  {printable(reasons.get(case_id, '—'))}")


def register(app: typer.Typer) -> None:
    @app.command("prioritize")
    def prioritize(
        strategy: str = typer.Option(
            None,
            "--strategy",
            help=f"Order by this strategy from now on ({_NAMES}); default: the current one.",
        ),
        prm: Path = typer.Option(
            None,
            "--prm",
            exists=True,
            file_okay=False,
            help="A trained PRM folder; default: the newest PRM run's.",
        ),
        score: bool = typer.Option(
            True, "--score/--no-score", help="Score the steps with the PRM first (--no-score: stored scores)."
        ),
        show: int = typer.Option(10, "--show", min=0, help="Print the first N cases of the worklist."),
    ) -> None:
        """Score open chains' steps with the current PRM and order the worklist by the strategy."""
        factory = database()
        with clean_errors():
            if not score:
                done = use_case.set_strategy(
                    factory=factory, strategy=strategy or _current(factory), actor="cli:prioritize"
                )
            else:
                done = use_case.prioritize(
                    factory=factory, actor="cli:prioritize", strategy=strategy, prm_path=prm
                )
        by = f", steps scored by {done.prm}: {done.scored_steps}" if done.prm else ""
        typer.echo(f"strategy {done.strategy}: {done.cases} open case(s) ordered{by}")
        if done.prm is None and score:
            typer.echo("no trained PRM yet: ordered from stored scores (run the loop or chestx train prm)")
        if show:
            _top(show)


def _current(factory) -> PriorityStrategy:  # noqa: ANN001
    with read_session(factory) as session:
        return use_case.status(session=session)["strategy"]
