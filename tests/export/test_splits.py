"""Patient-level, seeded splits: no patient in two splits, the same seed the same split."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from review_db.export import SplitSpec, build_export
from tests.export.helpers import KEY


def test_split_shares_and_determinism() -> None:
    groups = [f"P-{i:08d}" for i in range(5000)]
    spec = SplitSpec(seed=3, validation=0.1, test=0.2)
    first = [spec.assign(g) for g in groups]
    assert first == [SplitSpec(seed=3, validation=0.1, test=0.2).assign(g) for g in groups]
    shares = Counter(first)
    assert abs(shares["test"] / 5000 - 0.2) < 0.03 and abs(shares["validation"] / 5000 - 0.1) < 0.03
    other = [SplitSpec(seed=4, validation=0.1, test=0.2).assign(g) for g in groups]
    assert sum(a != b for a, b in zip(first, other, strict=False)) > 1000


def test_test_split_does_not_move_when_validation_share_changes() -> None:
    groups = [f"P-{i:08d}" for i in range(2000)]
    before = {g for g in groups if SplitSpec(seed=1, validation=0.1).assign(g) == "test"}
    after = {g for g in groups if SplitSpec(seed=1, validation=0.3).assign(g) == "test"}
    assert before == after


@pytest.mark.parametrize("bad", [(-0.1, 0.1), (0.5, 0.5), (0.1, 1.2)])
def test_bad_shares_are_refused(bad) -> None:  # noqa: ANN001
    with pytest.raises(ValueError):
        SplitSpec(validation=bad[0], test=bad[1])


def split_patients(out: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for split in ("train", "validation", "test"):
        path = out / "data" / f"{split}.jsonl"
        rows = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
        found[split] = {r["patient"] for r in rows}
    return found


def test_no_patient_in_two_splits_and_same_seed_same_split(sqlite_db, seeded_sqlite, tmp_path) -> None:  # noqa: ANN001
    def export(name: str, seed: int) -> dict[str, set[str]]:
        result = build_export(
            session_factory=sqlite_db.factory,
            kind="prm",
            out_dir=tmp_path / name,
            key=KEY,
            split_seed=seed,
            validation_share=0.3,
            test_share=0.3,
        )
        manifest = json.loads(result.manifest_path.read_text())
        sizes = manifest["splits"]["sizes"]
        assert sizes["test"]["trainable"] is False and "evaluation" in sizes["test"]["purpose"]
        assert sizes["train"]["trainable"] is True and sizes["validation"]["trainable"] is False
        return split_patients(result.out_dir)

    a, again, other = export("a", 7), export("b", 7), export("c", 8)
    assert a == again
    assert all(a[x].isdisjoint(a[y]) for x in a for y in a if x < y)
    assert a != other


def test_shared_patient_chains_land_together(sqlite_db, seeded_sqlite, tmp_path) -> None:  # noqa: ANN001
    for seed in range(5):
        result = build_export(
            session_factory=sqlite_db.factory,
            kind="sft",
            out_dir=tmp_path / f"s{seed}",
            key=KEY,
            images="none",
            split_seed=seed,
            validation_share=0.3,
            test_share=0.3,
        )
        wanted = {seeded_sqlite.chains["shared_a"], seeded_sqlite.chains["shared_b"]}
        where = set()
        for split in ("train", "validation", "test"):
            path = result.out_dir / "data" / f"{split}.jsonl"
            for line in path.read_text().splitlines() if path.exists() else []:
                if json.loads(line)["chain_id"] in wanted:
                    where.add(split)
        assert len(where) == 1
