"""The PRM scores every step of every open model chain; the strategy sets each case's priority.

Contract: :func:`prioritize_open_cases` is the whole run (what a loop run does at its end and
``chestx prioritize`` does on demand, through :mod:`services.prioritize`): it reads the open
cases' current model chains in one short read, scores their steps with a
:class:`~training.prm.StepScorer` outside any transaction (the text PRM embeds every text in one
pass), then stores the scores and the priorities in one unit of work. :func:`apply_strategy`
re-orders from the stored scores alone (no PRM, milliseconds: what changing the strategy does).
The strategy is the shared setting (:data:`vocab.priority.STRATEGY_KEY`) unless one is given.
Cases whose current chain has no stored scores yet (a chain newer than the last scoring) get
score 0 and say so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from reasoner.answers import normalize_letters
from reasoner.prompts import Task, build_prompt
from review_db.engine import read_session, session_scope
from review_db.store import priorities as stored
from review_db.store.priorities import OpenChain, PriorityRow
from training.active_learning.strategies import STRATEGIES
from training.active_learning.strategy import SCALE, ChainScores, priority_value
from training.prm import StepScorer
from training.prm_loader import load_scorer
from training.step_errors import prm_context
from vocab.priority import DEFAULT_STRATEGY, STRATEGY_KEY, PriorityStrategy


def current_strategy(*, session: Session) -> PriorityStrategy:
    """The strategy every replica orders by (fifo until an admin chooses another)."""
    value = stored.get_setting(session=session, key=STRATEGY_KEY)
    try:
        return PriorityStrategy(value) if value else DEFAULT_STRATEGY
    except ValueError:  # a value from a newer version of the app: order by age meanwhile
        return DEFAULT_STRATEGY


def answer_correct(final_answer: str | None, reference: str | None, options: Sequence[str]) -> bool | None:
    """Whether a choice answer names exactly the reference's options; None when either is missing
    or the question is open (free text is not compared)."""
    if not options or not final_answer or not reference:
        return None
    return normalize_letters(final_answer.split(",")) == normalize_letters(reference.split(","))


def context_of(chain: OpenChain) -> str:
    """What the PRM reads the steps against, as the training rows give it (the report, else the prompt)."""
    prompt = build_prompt(Task(chain.task_type, chain.question, chain.options))
    return prm_context({"report": chain.report or "", "prompt": prompt})


def score_steps(scorer: StepScorer, chains: Sequence[OpenChain]) -> dict[int, float]:
    """step id -> the PRM's P(correct), for every model step of ``chains``."""
    pairs = [(context_of(c), list(c.steps)) for c in chains]
    featurizer = getattr(scorer, "featurizer", None)
    if featurizer is not None:  # the text PRM: embed every text in one encoder pass first
        featurizer.prepare(pairs)
    out: dict[int, float] = {}
    for chain, (context, steps) in zip(chains, pairs, strict=True):
        out.update(zip(chain.step_ids, (float(p) for p in scorer.score(context, steps)), strict=True))
    return out


def priority_rows(
    chains: Sequence[OpenChain],
    scores: Mapping[int, Mapping[int, tuple[float, str]]],
    strategy: PriorityStrategy,
) -> list[PriorityRow]:
    """Each chain's priority under ``strategy`` from its stored scores (chain id -> position -> (p, prm))."""
    decide, rows = STRATEGIES[strategy], []
    for c in chains:
        scored = scores.get(c.chain_id, {})
        if strategy is not PriorityStrategy.fifo and len(scored) < len(c.step_ids):
            rows.append(PriorityRow(c.case_id, c.chain_id, strategy.value, 0.0, "not scored yet", None, 0))
            continue
        p = tuple(scored[k][0] for k in sorted(scored))
        chain = ChainScores(p, answer_correct(c.final_answer, c.reference_answer, c.options))
        decided = decide(chain)
        prm = None if strategy is PriorityStrategy.fifo else next(iter(scored.values()))[1]
        rows.append(
            PriorityRow(
                c.case_id, c.chain_id, strategy.value, decided.score, decided.reason, prm,
                priority_value(decided.score),
            )
        )  # fmt: skip
    return rows


@dataclass(frozen=True)
class Prioritized:
    """What a prioritization did."""

    strategy: str
    cases: int
    scored_steps: int
    prm: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "strategy": self.strategy,
            "cases": self.cases,
            "scored_steps": self.scored_steps,
            "prm": self.prm,
        }


def plan_priorities(*, session: Session, strategy: PriorityStrategy) -> list[PriorityRow]:
    """Every open model chain's priority under ``strategy`` from the stored step scores (reads only)."""
    chains = stored.open_model_chains(session=session, with_text=False)
    scores = stored.chain_scores(session=session, chain_ids=[c.chain_id for c in chains])
    return priority_rows(chains, scores, strategy)


def write_plan(*, session: Session, rows: Sequence[PriorityRow], strategy: PriorityStrategy) -> Prioritized:
    """Write what :func:`plan_priorities` decided."""
    return Prioritized(
        strategy.value, stored.write_priorities(session=session, rows=rows, scale=SCALE), 0, None
    )


def apply_strategy(*, session: Session, strategy: PriorityStrategy | None = None) -> Prioritized:
    """Re-order every open case with a model chain from the stored step scores (no PRM needed)."""
    strategy = strategy or current_strategy(session=session)
    return write_plan(
        session=session, rows=plan_priorities(session=session, strategy=strategy), strategy=strategy
    )


def prioritize_open_cases(
    *,
    factory: sessionmaker[Session],
    scorer: StepScorer | Callable[[], StepScorer],
    prm: str,
    actor: str,
    strategy: PriorityStrategy | None = None,
) -> Prioritized:
    """Score every open model chain's steps with ``scorer`` (named ``prm`` in the reasons), store
    the scores, and order the cases by ``strategy`` (default: the shared setting).

    ``scorer`` may be a function that loads it: it is called only when there is a step to score.
    """
    with read_session(factory) as session:
        chains = stored.open_model_chains(session=session)
    if chains and not isinstance(scorer, StepScorer):
        scorer = scorer()
    scores = score_steps(scorer, chains) if chains else {}
    with session_scope(factory, actor=actor) as session:
        stored.save_step_scores(session=session, scores=scores, prm=prm)
        done = apply_strategy(session=session, strategy=strategy)
    return Prioritized(done.strategy, done.cases, len(scores), prm)


def prioritize_with_folder(
    *, factory: sessionmaker[Session], prm_path: str | Path, prm: str, actor: str
) -> Prioritized:
    """:func:`prioritize_open_cases` with the trained PRM in ``prm_path`` (either kind), loaded
    only if an open chain needs scoring: what a loop run does at its end."""
    return prioritize_open_cases(factory=factory, scorer=lambda: load_scorer(prm_path), prm=prm, actor=actor)
