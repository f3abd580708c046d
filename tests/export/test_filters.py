"""Filters and consolidation policies select the chains they say."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from exports import ExportFilter, build_export
from tests.export.helpers import KEY


def chains_of(db, tmp_path, name: str, **kw) -> set[int]:  # noqa: ANN001
    result = build_export(
        session_factory=db.factory, kind="sft", out_dir=tmp_path / name, key=KEY, images="none", **kw
    )
    ids = set()
    for rel in result.files:
        if rel.startswith("data/"):
            ids |= {json.loads(x)["chain_id"] for x in (result.out_dir / rel).read_text().splitlines()}
    return ids


def test_filters(db, seeded, tmp_path) -> None:  # noqa: ANN001
    c = seeded.chains
    singles = {c[f"single{i}"] for i in range(12)}
    everything = chains_of(db, tmp_path, "all")
    assert everything == singles | {c["shared_a"], c["shared_b"], c["adjudicated"], c["agreed"]}
    binary = chains_of(db, tmp_path, "binary", filters=ExportFilter(task_types=("binary",)))
    assert binary == {c[f"single{i}"] for i in range(0, 12, 3)}
    v1 = chains_of(db, tmp_path, "v1", filters=ExportFilter(model_versions=("chestx-v1",)))
    assert v1 == {c[f"single{i}"] for i in range(1, 12, 2)}
    bob = chains_of(db, tmp_path, "bob", filters=ExportFilter(reviewers=("bob",)))
    assert bob == {c["adjudicated"], c["agreed"]} | {c["disputed"]}  # only bob's view: no disagreement
    two = chains_of(db, tmp_path, "two", filters=ExportFilter(min_reviews=2))
    assert two == {c["adjudicated"], c["agreed"]}
    agreed = chains_of(db, tmp_path, "agreed", filters=ExportFilter(only_agreed=True, min_reviews=2))
    assert agreed == {c["agreed"]}
    demo = chains_of(db, tmp_path, "demo", filters=ExportFilter(include_demo=True))
    assert demo == everything | {c["demo"]}
    open_too = chains_of(db, tmp_path, "open", filters=ExportFilter(only_verified=False))
    assert open_too == everything | {c["half_reviewed"]}


def test_date_range_on_the_latest_review(db, seeded, tmp_path) -> None:  # noqa: ANN001
    now = dt.datetime.now(dt.UTC)
    future = chains_of(db, tmp_path, "f", filters=ExportFilter(reviewed_from=now - dt.timedelta(hours=1)))
    assert len(future) == 16
    from exports import EmptySelection

    with pytest.raises(EmptySelection):
        chains_of(db, tmp_path, "p", filters=ExportFilter(reviewed_to=now - dt.timedelta(hours=1)))


def test_policies(db, seeded, tmp_path) -> None:  # noqa: ANN001
    c = seeded.chains
    multi = ExportFilter(min_reviews=2)
    assert chains_of(db, tmp_path, "u", policy="unanimous", filters=multi) == {c["agreed"]}
    assert chains_of(db, tmp_path, "m", policy="majority", filters=multi) == {c["agreed"], c["adjudicated"]}
    assert chains_of(db, tmp_path, "a", policy="adjudicator", filters=multi) == {
        c["agreed"],
        c["adjudicated"],
    }


def test_agreement_figures_in_the_manifest(db, seeded, tmp_path) -> None:  # noqa: ANN001
    result = build_export(session_factory=db.factory, kind="prm", out_dir=tmp_path / "p", key=KEY)
    agreement = result.agreement
    assert agreement["multi_reviewed_chains"] == 3  # disputed, adjudicated, agreed
    assert agreement["unanimous_chains"] == pytest.approx(1 / 3, abs=1e-3)
    # step pairs agreeing: disputed 2 of 3, adjudicated 7 of 9, agreed 3 of 3
    assert agreement["step_pairwise"] == 0.8 and agreement["fleiss_kappa"] is not None
    assert result.skipped == {"no adjudicator verdict": 1}  # disputed: two reviewers, no adjudicator
    card = (result.out_dir / "README.md").read_text()
    assert "no adjudicator verdict" in card
