"""Incremental exports: only the chains that changed since an earlier export's watermark."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from exports import EmptySelection, build_export
from review_db import store
from review_db.engine import session_scope
from review_db.models import Chain, ChainReview, User
from tests.export.conftest import _case
from tests.export.helpers import KEY, LEASE, model_steps, review


def chain_ids(result) -> set[int]:  # noqa: ANN001
    ids = set()
    for rel in result.files:
        if rel.startswith("data/") or rel.startswith("records/chains"):
            for line in (result.out_dir / rel).read_text().splitlines():
                row = json.loads(line)
                ids.add(row.get("chain_id", row.get("id")))
    return ids


def test_since_exports_only_what_changed(db, seeded, tmp_path) -> None:  # noqa: ANN001
    first = build_export(
        session_factory=db.factory, kind="sft", out_dir=tmp_path / "1", key=KEY, images="none"
    )
    assert len(chain_ids(first)) == 16
    with session_scope(db.factory, actor="test") as s:
        alice = s.scalar(select(User).where(User.username == "alice"))
        new = _case(s)
        review(s, new, alice, ["accept", "accept", "accept"])
        revised = s.get(Chain, seeded.chains["single0"])
        # A submitted review changes only through an amendment (reopen, change, submit again).
        store.reopen_review(session=s, chain_id=revised.id, reviewer_id=alice.id, lease=LEASE)
        store.record_verdict(
            session=s, step_id=model_steps(revised)[2].id, reviewer_id=alice.id, verdict="reject", lease=LEASE
        )
        mine = s.scalar(select(ChainReview).where(ChainReview.chain_id == revised.id))
        store.submit_review(
            session=s,
            chain_id=revised.id,
            reviewer_id=alice.id,
            answer_verdict="agree",
            expected_version=mine.version,
            lease=LEASE,
        )
        edited = s.get(Chain, seeded.chains["single2"])
        case = edited.case
        store.update_case(
            session=s, case_id=case.id, expected_version=case.version, question="Which finding?"
        )
        new_id = new.id
    second = build_export(
        session_factory=db.factory,
        kind="sft",
        out_dir=tmp_path / "2",
        key=KEY,
        images="none",
        since=first.out_dir,
    )
    assert chain_ids(second) == {new_id, seeded.chains["single0"], seeded.chains["single2"]}
    manifest = json.loads(second.manifest_path.read_text())
    assert manifest["incremental"] and manifest["since"]["snapshot_hash"] == first.snapshot_hash
    records = build_export(
        session_factory=db.factory,
        kind="records",
        out_dir=tmp_path / "r",
        key=KEY,
        images="none",
        since=first.manifest_path,
    )
    assert chain_ids(records) == chain_ids(second)
    with pytest.raises(EmptySelection, match="nothing changed since that export"):
        build_export(
            session_factory=db.factory,
            kind="sft",
            out_dir=tmp_path / "3",
            key=KEY,
            images="none",
            since=second.manifest,
        )
    assert not (tmp_path / "3").exists()


def test_since_needs_an_export(tmp_path, sqlite_db) -> None:  # noqa: ANN001
    from review_db.errors import ValidationError

    (tmp_path / "junk").mkdir()
    with pytest.raises(ValidationError, match="not an export"):
        build_export(
            session_factory=sqlite_db.factory,
            kind="sft",
            out_dir=tmp_path / "o",
            key=KEY,
            images="none",
            since=tmp_path / "junk",
        )
