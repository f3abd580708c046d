"""Records exports: counts match the database, and the records rebuild the SFT rows exactly."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from sqlalchemy import func, select

from exports import Policy, build_export, consolidate, sft_row
from exports.consolidate import Review, ReviewedChain, ReviewedStep, Vote
from exports.rows import AddedStep
from review_db.models import Case, Chain, ChainReview, ModelVersion, Step, StepVerdict, User
from tests.export.helpers import KEY

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def read_records(out: Path) -> dict[str, list[dict]]:
    return {
        p.stem: [json.loads(line) for line in p.read_text().splitlines()]
        for p in (out / "records").glob("*.jsonl")
    }


def test_records_counts_match_the_database(db, seeded, tmp_path) -> None:  # noqa: ANN001
    from exports import ExportFilter

    result = build_export(
        session_factory=db.factory,
        kind="records",
        out_dir=tmp_path / "all",
        key=KEY,
        images="none",
        filters=ExportFilter(include_demo=True),
    )
    with db.factory() as s:
        expected = {
            "cases": s.scalar(select(func.count()).select_from(Case)),
            "chains": s.scalar(select(func.count()).select_from(Chain)),
            "steps": s.scalar(select(func.count()).select_from(Step)),
            "verdicts": s.scalar(select(func.count()).select_from(StepVerdict)),
            "reviews": s.scalar(select(func.count()).select_from(ChainReview)),
            "studies": s.scalar(select(func.count(func.distinct(Case.study_id)))),
            "reviewers": s.scalar(select(func.count(func.distinct(ChainReview.reviewer_id)))),
            "model_versions": s.scalar(select(func.count()).select_from(ModelVersion)),
        }
    assert result.rows == expected
    records = read_records(result.out_dir)
    assert {name: len(rows) for name, rows in records.items()} == expected
    assert all(ISO_UTC.match(r["created_at"]) for r in records["steps"] + records["verdicts"])
    assert all(r["reviewer"].startswith("R-") for r in records["verdicts"])


def test_demo_cases_are_left_out_by_default(db, seeded, tmp_path) -> None:  # noqa: ANN001
    result = build_export(
        session_factory=db.factory, kind="records", out_dir=tmp_path / "r", key=KEY, images="none"
    )
    records = read_records(result.out_dir)
    assert seeded.chains["demo"] not in {c["id"] for c in records["chains"]}
    assert seeded.chains["unreviewed"] in {c["id"] for c in records["chains"]}  # records keep every chain
    assert {c["is_demo"] for c in records["cases"]} == {False}


def test_no_username_and_keyed_pseudonyms(db, seeded, tmp_path) -> None:  # noqa: ANN001
    def reviewers(key: bytes, name: str) -> set[str]:
        out = build_export(
            session_factory=db.factory, kind="records", out_dir=tmp_path / name, key=key, images="none"
        )
        text = b"".join(p.read_bytes() for p in out.out_dir.rglob("*") if p.is_file())
        assert not any(name.encode() in text for name in ("alice", "bob", "carol"))
        return {r["reviewer"] for r in read_records(out.out_dir)["reviewers"]}

    first, again, other = reviewers(KEY, "a"), reviewers(KEY, "b"), reviewers(b"some-other-key-42", "c")
    assert first == again and len(first) == 3
    assert first.isdisjoint(other)


def rebuild_sft(records: dict[str, list[dict]]) -> dict[int, dict]:
    """SFT rows made from nothing but the records tables (what a researcher could do)."""
    from reasoner.prompts import Task, build_prompt

    cases = {c["id"]: c for c in records["cases"]}
    steps, verdicts, reviews = defaultdict(list), {}, defaultdict(list)
    for step in records["steps"]:
        steps[step["chain_id"]].append(step)
    for v in sorted(records["verdicts"], key=lambda v: v["id"]):
        verdicts[(v["step_id"], v["reviewer"])] = v  # the latest id per (step, reviewer) counts
    for r in sorted(records["reviews"], key=lambda r: (r["submitted_at"], r["id"])):
        reviews[r["chain_id"]].append(r)
    out = {}
    for chain in records["chains"]:
        case = cases[chain["case_id"]]
        model = sorted((s for s in steps[chain["id"]] if s["kind"] == "model"), key=lambda s: s["position"])
        added = defaultdict(list)
        for s in steps[chain["id"]]:
            if s["kind"] == "added":
                added[s["author"]].append(AddedStep(s["inserted_after"], s["text"]))
        reviewed = ReviewedChain(
            prompt=build_prompt(Task(case["task_type"], case["question"], tuple(case["options"]))),
            steps=tuple(
                ReviewedStep(
                    s["position"],
                    s["text"],
                    tuple(
                        Vote(who, v["verdict"], v["corrected_text"])
                        for (sid, who), v in verdicts.items()
                        if sid == s["id"]
                    ),
                )
                for s in model
            ),
            reviews=tuple(
                Review(
                    r["reviewer"],
                    chain["final_answer"] if r["answer_verdict"] == "agree" else r["corrected_answer"],
                    is_adjudication=r["is_adjudication"],
                    order=i,
                )
                for i, r in enumerate(reviews[chain["id"]])
            ),
            final_answer=chain["final_answer"],
            added={k: tuple(v) for k, v in added.items()},
        )
        outcome = consolidate(reviewed, Policy.adjudicator)
        if outcome.chain is not None and outcome.chain.verified_steps:
            out[chain["id"]] = sft_row(outcome.chain, with_images=False)
    return out


def test_records_rebuild_the_sft_rows(db, seeded, tmp_path) -> None:  # noqa: ANN001
    records = build_export(
        session_factory=db.factory, kind="records", out_dir=tmp_path / "r", key=KEY, images="none"
    )
    sft = build_export(session_factory=db.factory, kind="sft", out_dir=tmp_path / "s", key=KEY, images="none")
    exported = {}
    for split in ("train", "validation", "test"):
        path = sft.out_dir / "data" / f"{split}.jsonl"
        for line in path.read_text().splitlines() if path.exists() else []:
            row = json.loads(line)
            exported[row["chain_id"]] = row["messages"]
    rebuilt = rebuild_sft(read_records(records.out_dir))
    verified = {c["id"] for c in read_records(records.out_dir)["cases"] if c["status"] == "verified"}
    chains = {c["id"]: c["case_id"] for c in read_records(records.out_dir)["chains"]}
    rebuilt = {cid: row["messages"] for cid, row in rebuilt.items() if chains[cid] in verified}
    assert len(exported) == 16
    assert rebuilt == exported


def test_reviewer_filter_keeps_only_their_verdicts(db, seeded, tmp_path) -> None:  # noqa: ANN001
    from exports import ExportFilter

    result = build_export(
        session_factory=db.factory,
        kind="records",
        out_dir=tmp_path / "bob",
        key=KEY,
        images="none",
        filters=ExportFilter(reviewers=("bob",)),
    )
    records = read_records(result.out_dir)
    assert len({r["reviewer"] for r in records["verdicts"] + records["reviews"]}) == 1
    with db.factory() as s:
        bob = s.scalar(select(User.id).where(User.username == "bob"))
        n = s.scalar(select(func.count()).select_from(ChainReview).where(ChainReview.reviewer_id == bob))
        demo = s.scalar(select(Chain.id).join(Case).where(Case.is_demo.is_(True)))
        n -= s.scalar(
            select(func.count())
            .select_from(ChainReview)
            .where(ChainReview.reviewer_id == bob, ChainReview.chain_id == demo)
        )
    assert len(records["reviews"]) == n


def test_reports_only_on_request(db, seeded, tmp_path) -> None:  # noqa: ANN001
    without = build_export(
        session_factory=db.factory, kind="records", out_dir=tmp_path / "a", key=KEY, images="none"
    )
    assert "report" not in read_records(without.out_dir)["cases"][0]
    with_reports = build_export(
        session_factory=db.factory,
        kind="records",
        out_dir=tmp_path / "b",
        key=KEY,
        images="none",
        include_reports=True,
    )
    assert "report" in read_records(with_reports.out_dir)["cases"][0]


def test_records_with_a_date_range(db, seeded, tmp_path) -> None:  # noqa: ANN001
    import datetime as dt

    from exports import ExportFilter

    hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    result = build_export(
        session_factory=db.factory,
        kind="records",
        out_dir=tmp_path / "r",
        key=KEY,
        images="none",
        filters=ExportFilter(reviewed_from=hour_ago),
    )
    chains = {c["id"] for c in read_records(result.out_dir)["chains"]}
    assert seeded.chains["single0"] in chains and seeded.chains["unreviewed"] not in chains
