"""Dashboard read models on the seeded history (see conftest.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from review_db.types import utcnow
from services.dashboards import queries
from services.dashboards.queries import Group, PairTable, VerdictCounts
from services.dashboards.rollup import CACHE, snapshot
from tests.dashboards.conftest import pair_table, per_verdict


def _load(db):  # noqa: ANN001, ANN202
    return queries.load_all(db.factory)


def _counts(groups: tuple[Group, ...]) -> dict[str, tuple[int, int, int]]:
    return {g.label: (g.counts.accept, g.counts.correct, g.counts.reject) for g in groups}


def test_rates_by_position_task_type_and_model(seeded) -> None:  # noqa: ANN001
    db, _ = seeded
    rates = _load(db).rates
    # Effective verdicts only: r1's first "reject" of A1 was replaced by "accept".
    assert _counts(rates.by_position) == {"1": (4, 1, 1), "2": (4, 1, 0), "3": (0, 0, 2), "added": (1, 0, 0)}
    assert [g.label for g in rates.by_position] == ["1", "2", "3", "added"]
    assert _counts(rates.by_task_type) == {
        "binary": (5, 0, 1),
        "open_findings": (1, 1, 0),
        "single_choice": (3, 1, 2),
    }
    assert [g.label for g in rates.by_model] == ["base", "v1", "no version (imported)"]
    assert _counts(rates.by_model) == {"base": (5, 0, 1), "v1": (3, 1, 2), "no version (imported)": (1, 1, 0)}


def test_rates_by_finding_and_region(seeded) -> None:  # noqa: ANN001
    db, _ = seeded
    rates = _load(db).rates
    assert _counts(rates.by_finding) == {
        "pleural effusion": (2, 0, 0),
        "pneumothorax": (1, 1, 0),
        "cardiomegaly / heart size": (0, 1, 2),
        "opacity": (2, 0, 1),
        "answer / conclusion": (3, 0, 0),
        "support devices": (1, 0, 0),
    }
    regions = _counts(rates.by_region)
    assert regions["costophrenic angle"] == regions["pleura"] == (2, 0, 0)
    assert regions["heart"] == (0, 1, 2)
    assert regions["lower lobe"] == (2, 0, 1)
    assert regions["(none named)"] == (5, 1, 0)
    assert [g.label for g in rates.by_region][0] == "(none named)"  # most verdicts first


def test_activity_counts_every_verdict_row_review_and_verified_case(seeded) -> None:  # noqa: ANN001
    db, _ = seeded
    data = _load(db)
    assert sum(d.verdicts for d in data.activity) == 15  # 14 effective + 1 superseded
    assert sum(d.reviews for d in data.activity) == 6
    assert sum(d.verified_cases for d in data.activity) == 3
    assert all(
        (utcnow().date() - d.day).days in (0, 1) for d in data.activity
    )  # today (or, near midnight, yesterday)
    assert data.verdict_rows == 15 and data.judged_steps == 7


def test_agreement_tables_and_profiles(seeded) -> None:  # noqa: ANN001
    db, _ = seeded
    agreement = _load(db).agreement
    assert agreement.pairs == (
        PairTable("r1", "r2", pair_table((2, 1, 1), (0, 0, 0), (0, 0, 1))),
        PairTable("r1", "r3", pair_table((2, 0, 0), (0, 0, 0), (0, 0, 0))),
        PairTable("r2", "r3", pair_table((1, 0, 0), (0, 0, 0), (1, 0, 0))),
    )
    profiles = [(2, 0, 0), (1, 1, 0), (0, 0, 2), (2, 0, 1), (3, 0, 0)]
    assert dict(agreement.profiles) == {tuple(per_verdict(*p)): 1 for p in profiles}


def test_model_points_read_metrics_and_promotion_decisions(seeded) -> None:  # noqa: ANN001
    db, _ = seeded
    models = {m.name: m for m in _load(db).models}
    assert [m for m in models] == ["base", "v1", "v2"]
    assert (models["base"].status, models["base"].radrscore, models["base"].accuracy) == ("retired", 0.5, 0.6)
    assert models["v1"].status == "promoted" and models["v1"].parent == "base"
    assert models["v1"].radrscore == pytest.approx(0.7)  # the mean of its three components
    assert (models["v1"].completeness, models["v1"].factuality, models["v1"].effectiveness) == (0.6, 0.7, 0.8)
    assert models["v1"].promoted_at is not None and models["base"].promoted_at is not None
    assert (models["v2"].status, models["v2"].promoted_at, models["v2"].accuracy) == ("rejected", None, 0.65)


def test_loss_curves_from_progress_and_log_history(seeded) -> None:  # noqa: ANN001
    db, _ = seeded
    curves = _load(db).losses
    assert [(c.kind, c.status) for c in curves] == [("sft", "succeeded"), ("rl", "succeeded")]
    assert (curves[0].steps, curves[0].losses) == ((1.0, 2.0, 3.0), (2.0, 1.5, 1.25))
    assert (curves[1].steps, curves[1].losses) == ((10.0, 20.0), (0.9, 0.7))


def test_time_spent_bins_median_and_mean(seeded) -> None:  # noqa: ANN001
    db, _ = seeded
    spent = _load(db).time_spent
    assert spent.edges == queries.TIME_EDGES
    assert dict(spent.by_task_type) == {
        "binary": (1, 0, 1, 0, 0, 0, 0, 0, 0, 1),
        "open_findings": (0, 0, 0, 1, 0, 0, 0, 0, 0, 0),
        "single_choice": (0, 1, 0, 0, 1, 0, 0, 0, 0, 0),
    }
    assert spent.total == 6 and spent.median_s == 70.0
    assert spent.mean_s == pytest.approx(4465 / 6)


def test_empty_database_gives_empty_results(db) -> None:  # noqa: ANN001
    CACHE.clear()
    data = _load(db)
    assert data.activity == () and data.models == () and data.losses == ()
    assert data.rates == queries.VerdictRates() and data.agreement == queries.AgreementData()
    assert data.time_spent.total == 0 and data.time_spent.median_s is None
    assert (data.verdict_rows, data.judged_steps) == (0, 0)


def test_each_query_alone_matches_load_all(seeded) -> None:  # noqa: ANN001
    db, _ = seeded
    data = _load(db)
    with snapshot(db.factory) as s:
        rollup = CACHE.current(s)
        assert queries.verdict_rates(session=s, rollup=rollup) == data.rates
        assert queries.model_points(session=s) == data.models
        assert queries.time_spent(session=s) == data.time_spent
    assert VerdictCounts(1, 2, 3).share("correct") == pytest.approx(1 / 3)
    assert VerdictCounts().share("accept") is None


def test_warm_up_folds_in_the_background(seeded) -> None:  # noqa: ANN001
    from services.dashboards.rollup import RollupCache

    db, _ = seeded
    cache = RollupCache()
    queries.warm_up(db.factory, cache=cache).join(timeout=60)
    assert cache.held(db.engine).rows == 15
