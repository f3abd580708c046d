"""Patient-level, seeded splits: no patient in two splits, the same seed the same split."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from exports import SplitSpec, build_export
from review_db.engine import session_scope
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


def _linked_by_priors(factory, pairs: int = 12) -> dict[int, set[int]]:  # noqa: ANN001
    """``pairs`` patients whose radiograph is another patient's prior (a temporal case under a
    different pseudonym, as in the demo), plus a chain of three patients; every case reviewed.
    Returns each case's study ids (current and prior)."""
    from sqlalchemy import select

    from review_db import store
    from review_db.models import Case
    from tests import factories
    from tests.export.helpers import review

    def case(s, prior: int | None = None) -> tuple[int, object]:  # noqa: ANN001
        study = factories.study(s)
        made = store.create_case(
            session=s, study_id=study.id, prior_study_id=prior,
            task_type="temporal" if prior else "single_choice",
            question="Compared with the prior, how is it?" if prior else "Which finding is present?",
            options=["Improved", "Unchanged", "Worsened"] if prior else ["No finding", "Effusion"],
            reference_answer="B",
        )  # fmt: skip
        chain = store.add_chain(
            session=s, case_id=made.id, steps=["One.", "Two."], final_answer="B", source="model"
        )
        return study.id, chain

    with session_scope(factory, actor="test") as s:
        alice = factories.user(s, name="split-alice")
        chains = []
        for _ in range(pairs):
            first, chain = case(s)
            chains += [chain, case(s, prior=first)[1]]
        previous = None
        for _ in range(3):  # a chain of priors: each patient's image is the next one's prior
            previous, chain = case(s, prior=previous)
            chains.append(chain)
        for chain in chains:
            review(s, chain, alice, ["accept", "accept"])
        rows = s.execute(select(Case.id, Case.study_id, Case.prior_study_id)).all()
    return {case_id: {sid for sid in (study, prior) if sid} for case_id, study, prior in rows}


def test_an_image_is_in_one_split_only(sqlite_db, tmp_path) -> None:  # noqa: ANN001
    """A study that is one patient's image and another patient's prior puts both in one split,
    in the row kinds (by chain) and in records (studies and cases tables), for every seed."""
    from review_db.models import Chain

    studies_of = _linked_by_priors(sqlite_db.factory)
    with sqlite_db.factory() as s:
        case_of = dict(s.query(Chain.id, Chain.case_id).all())
    for seed in range(4):
        common = {"session_factory": sqlite_db.factory, "key": KEY, "split_seed": seed}
        shares = {"validation_share": 0.3, "test_share": 0.3}
        sft = build_export(kind="sft", out_dir=tmp_path / f"sft{seed}", images="none", **common, **shares)
        where: dict[int, set[str]] = {}
        for split in ("train", "validation", "test"):
            for path in sft.split_files(split):
                for line in path.read_text().splitlines():
                    for study in studies_of[case_of[json.loads(line)["chain_id"]]]:
                        where.setdefault(study, set()).add(split)
        assert len(where) == 12 * 2 + 3
        assert {s for s, splits in where.items() if len(splits) > 1} == set(), seed
        rec = build_export(kind="records", out_dir=tmp_path / f"rec{seed}", images="none", **common, **shares)
        table = (rec.out_dir / "records/studies.jsonl").read_text().splitlines()
        studies = {r["id"]: r["split"] for r in map(json.loads, table)}
        for case in map(json.loads, (rec.out_dir / "records/cases.jsonl").open()):
            for sid in (case["study_id"], case["prior_study_id"]):
                assert sid is None or studies[sid] == case["split"], (seed, case["id"])
        assert sft.manifest["splits"]["linked_units"] == rec.manifest["splits"]["linked_units"] == 27
    card = (rec.out_dir / "README.md").read_text()  # the card says how splits are made
    assert "no image is in two splits" in card and "27 patients share a split" in card


def test_linked_groups_keep_the_split_of_their_most_held_out_member() -> None:
    """Unlinked patients keep the split they always had; a linked group goes where its most
    held-out member would go alone (a patient once in test stays in test)."""
    from exports.groups import SplitGroups

    spec = SplitSpec(seed=5, validation=0.2, test=0.2)
    alone = {g: spec.assign(g) for g in (f"P-{i:04d}" for i in range(400))}
    groups = SplitGroups(spec, links=[("P-0000", "P-0001"), ("P-0001", "P-0002"), ("P-0010", "P-0011")])
    rank = {"train": 0, "validation": 1, "test": 2}
    for group, split in alone.items():
        if group not in {"P-0000", "P-0001", "P-0002", "P-0010", "P-0011"}:
            assert groups.assign(group) == split
    for members in (("P-0000", "P-0001", "P-0002"), ("P-0010", "P-0011")):
        want = max((alone[m] for m in members), key=rank.__getitem__)
        assert {groups.assign(m) for m in members} == {want}
    assert groups.assign("case:99") == spec.assign("case:99")  # never seen: its own split
