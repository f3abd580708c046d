"""Agreement statistics: Cohen's kappa against scikit-learn, Fleiss' kappa against a published
example, and the seeded history's figures worked out by hand."""

from __future__ import annotations

import itertools
import random

import pytest
from sklearn.metrics import cohen_kappa_score

from services.dashboards.queries import AgreementData, PairTable, agreement_from_rollup, load_all
from services.dashboards.stats import fleiss, summarise, table_agreement
from tests.dashboards.agreement_oracle import agreement as oracle_agreement

LABELS = ("accept", "correct", "reject")


def test_cohen_kappa_matches_scikit_learn() -> None:
    rng = random.Random(3)
    for _ in range(20):
        a = [rng.choice(LABELS) for _ in range(200)]
        b = [x if rng.random() < 0.6 else rng.choice(LABELS) for x in a]
        table = [
            [sum(1 for x, y in zip(a, b, strict=True) if (x, y) == (p, q)) for q in LABELS] for p in LABELS
        ]
        agreement, kappa = table_agreement(table)
        assert kappa == pytest.approx(cohen_kappa_score(a, b, labels=list(LABELS)))
        assert agreement == pytest.approx(sum(x == y for x, y in zip(a, b, strict=True)) / 200)


def test_fleiss_kappa_of_the_published_example() -> None:
    """Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa 0.210."""
    rows = [
        (0, 0, 0, 0, 14),
        (0, 2, 6, 4, 2),
        (0, 0, 3, 5, 6),
        (0, 3, 9, 2, 0),
        (2, 2, 8, 1, 1),
        (7, 7, 0, 0, 0),
        (3, 2, 6, 3, 0),
        (2, 5, 3, 2, 2),
        (6, 5, 2, 1, 0),
        (0, 2, 2, 3, 7),
    ]
    steps, p_bar, kappa = fleiss([(r, 1) for r in rows])
    assert steps == 10
    assert p_bar == pytest.approx(0.378, abs=1e-3)
    assert kappa == pytest.approx(0.210, abs=1e-3)
    # Weights are counts of identical rows.
    assert fleiss([(rows[0], 3), (rows[1], 2)]) == pytest.approx(
        fleiss([(rows[0], 1)] * 3 + [(rows[1], 1)] * 2)
    )


def test_undefined_statistics_are_none_not_errors() -> None:
    assert table_agreement([[0, 0, 0]] * 3) == (None, None)
    assert table_agreement([[5, 0, 0], [0, 0, 0], [0, 0, 0]]) == (1.0, None)  # chance agreement is 1
    assert fleiss([]) == (0, None, None)
    assert fleiss([((1, 0, 0), 4)]) == (0, None, None)  # one reviewer per step: nothing to agree on
    assert fleiss([((2, 0, 0), 4)])[2] is None
    empty = summarise(AgreementData())
    assert (empty.pairs, empty.reviewers, empty.steps, empty.fleiss_kappa) == ((), (), 0, None)


def test_reviewer_pooling_transposes_the_tables_seen_from_b() -> None:
    data = AgreementData(pairs=(PairTable("a", "b", ((3, 1, 0), (0, 0, 0), (0, 0, 0))),))
    stats = {r.reviewer: r for r in summarise(data).reviewers}
    assert stats["a"].n == stats["b"].n == 4
    assert stats["a"].percent_agreement == stats["b"].percent_agreement == 0.75


def test_seeded_history(seeded) -> None:  # noqa: ANN001
    db, _ = seeded
    summary = summarise(load_all(db.factory).agreement)
    pairs = {(p.reviewer_a, p.reviewer_b): p for p in summary.pairs}
    assert pairs[("r1", "r2")].n == 5
    assert pairs[("r1", "r2")].percent_agreement == pytest.approx(0.6)
    assert pairs[("r1", "r2")].cohen_kappa == pytest.approx(1 / 3)  # (0.6 - 0.4) / (1 - 0.4)
    assert pairs[("r1", "r3")].cohen_kappa is None  # both accepted everything they shared
    assert pairs[("r2", "r3")].percent_agreement == 0.5
    assert summary.steps == 5
    assert summary.percent_agreement == pytest.approx((1 + 0 + 1 + 1 / 3 + 1) / 5)
    p_e = (8 / 12) ** 2 + (1 / 12) ** 2 + (3 / 12) ** 2
    assert summary.fleiss_kappa == pytest.approx((summary.percent_agreement - p_e) / (1 - p_e))
    r1 = next(r for r in summary.reviewers if r.reviewer == "r1")
    assert (r1.n, r1.percent_agreement) == (7, pytest.approx(5 / 7))
    assert list(itertools.islice(pairs, 3)) == [("r1", "r2"), ("r1", "r3"), ("r2", "r3")]


def _via_rollup(ratings: list[tuple[int, int, str]]) -> AgreementData:
    """The dashboards' path: effective verdicts folded into a rollup, then its tables."""
    from services.dashboards.rollup import Rollup, StepFacts

    state = Rollup()
    by_step: dict[int, dict[int, str]] = {}
    for step, reviewer, verdict in ratings:
        by_step.setdefault(step, {})[reviewer] = verdict
    facts = StepFacts(0, "binary", None, "model", (), ())
    for effective in by_step.values():
        state.contribute(facts, effective, 1)
    return agreement_from_rollup(state, {r: f"r{r}" for r in range(10)})


@pytest.mark.parametrize("seed", range(6))
def test_the_same_numbers_as_oracle_agreement(seed: int) -> None:
    rng = random.Random(seed)
    raters = rng.randint(2, 5)
    ratings = []
    for step in range(rng.randint(1, 300)):
        truth = rng.choice(LABELS)
        for reviewer in rng.sample(range(raters), rng.randint(1, raters)):
            ratings.append((step, reviewer, truth if rng.random() < 0.7 else rng.choice(LABELS)))
            if rng.random() < 0.05:  # a changed mind: the later rating counts
                ratings.append((step, reviewer, rng.choice(LABELS)))
    ours = summarise(_via_rollup(ratings))
    theirs = oracle_agreement([(s, f"r{r}", v) for s, r, v in ratings])
    assert ours.steps == theirs.n_items

    def same(a: float | None, b: float | None) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and a == pytest.approx(b))

    assert same(ours.percent_agreement, theirs.percent_agreement)
    assert same(ours.fleiss_kappa, theirs.fleiss_kappa)
    assert same(ours.cohen_kappa, theirs.cohen_kappa)
    assert [(p.reviewer_a, p.reviewer_b, p.n) for p in ours.pairs] == [
        (p.rater_a, p.rater_b, p.n) for p in theirs.pairs
    ]
    for mine, other in zip(ours.pairs, theirs.pairs, strict=True):
        assert same(mine.percent_agreement, other.percent_agreement)
        assert same(mine.cohen_kappa, other.cohen_kappa)
    for mine, other in zip(ours.reviewers, theirs.raters, strict=True):
        assert (mine.reviewer, mine.n) == (other.rater, other.n)
        assert same(mine.percent_agreement, other.percent_agreement)
        assert same(mine.cohen_kappa, other.cohen_kappa)


def test_seeded_history_agrees_with_oracle_agreement(seeded) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from review_db.models import StepVerdict, User

    db, _ = seeded
    with db.factory() as s:
        ratings = s.execute(
            select(StepVerdict.step_id, User.username, StepVerdict.verdict)
            .join(User, User.id == StepVerdict.reviewer_id)
            .order_by(StepVerdict.id)
        ).all()
    theirs = oracle_agreement([(step, name, verdict.value) for step, name, verdict in ratings])
    ours = summarise(load_all(db.factory).agreement)
    assert ours.fleiss_kappa == pytest.approx(theirs.fleiss_kappa)
    assert ours.percent_agreement == pytest.approx(theirs.percent_agreement)
    assert [p.cohen_kappa for p in ours.pairs] == [
        pytest.approx(p.cohen_kappa) if p.cohen_kappa is not None else None for p in theirs.pairs
    ]
