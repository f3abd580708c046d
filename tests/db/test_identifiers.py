"""Reviewer free text that looks like it identifies someone is refused before it is stored."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from review_db import store
from review_db.engine import session_scope
from review_db.errors import ValidationError
from review_db.identifiers import describe, find_identifiers, redact
from review_db.models import Case, ChainReview, Step, StepVerdict
from tests import factories
from tests.factories import LEASE

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "chestx_reasoner_openi_multi.json"


@pytest.mark.parametrize(
    "text, kind",
    [
        ("Compared with the study of 03/04/2019, unchanged.", "a date"),
        ("Prior from 2021-11-02 shows the same nodule.", "a date"),
        ("Seen on 4.11.21 as well.", "a date"),
        ("Unchanged since March 3rd.", "a date"),
        ("Unchanged since Mar 3, 2020.", "a date"),
        ("As on the 12th of December.", "a date"),
        ("Call 555-123-4567 for the prior.", "a phone number"),
        ("Call (555) 123-4567.", "a phone number"),
        ("The requisition reads 123-45-6789.", "a social security number"),
        ("Write to jane.doe@hospital.org.", "an e-mail address"),
        ("See https://pacs.example.org/study/1 for the prior.", "a web address"),
        ("Film 20231104 has the lateral view.", "a long number (a record or accession number?)"),
        ("MRN: A12B34", "a labelled identifier"),
        ("dob 1950", "a labelled identifier"),
        ("Accession no. 4471 has the lateral view.", "a labelled identifier"),
        ("Discussed with Dr. Smith.", "a name"),
        ("Mrs O'Neil's prior film is better.", "a name"),
    ],
)
def test_identifiers_are_found(text: str, kind: str) -> None:
    found = find_identifiers(text)
    assert [x.kind for x in found] == [kind]
    assert text[found[0].start : found[0].end].strip()


@pytest.mark.parametrize(
    "text",
    [
        "A 7.5 mm nodule in the right upper lobe, 2.3 x 1.1 cm on the lateral view.",
        "Degenerative changes at T7-T8 and C5-6; compression of L1 by 25%.",
        "Cardiothoracic ratio 0.6, about 3/4 of the hemithorax is opacified.",
        "Unchanged since 2019; no new opacity. The heart may be mildly enlarged.",
        "No pneumothorax. Dr. is not a name on its own; neither is MS or the DR view.",
        "Tip of the catheter 3 cm above the carina, 12 Fr drain in place, 1,250 ml drained.",
        "Mild hypoinflation (volumes 2.8 L), XXXX deformity of the spine, status post CABG x3.",
    ],
)
def test_radiology_language_passes(text: str) -> None:
    assert find_identifiers(text) == []


@pytest.mark.skipif(not REAL.exists(), reason="../shared/data absent")
def test_no_false_alarm_on_real_chains_and_reports() -> None:
    """Every reasoning step, model output and report of the 102 real items passes."""
    texts = []
    for item in json.loads(REAL.read_text()):
        steps = item["reason_steps"]
        texts += [
            *(steps if isinstance(steps, list) else [steps]),
            item["pred"],
            item.get("original_report") or "",
        ]
    assert len(texts) > 1000
    assert [t for t in texts if find_identifiers(t)] == []


@given(st.text(max_size=300))
def test_finder_never_raises_and_spans_are_ordered(text: str) -> None:
    found = find_identifiers(text)
    assert all(0 <= x.start < x.end <= len(text) for x in found)
    assert all(a.end <= b.start for a, b in zip(found, found[1:], strict=False))
    if found:
        assert describe(found).startswith(found[0].kind)


def test_message_names_kind_and_position_not_the_text() -> None:
    found = find_identifiers("Seen by Dr. Smith on 03/04/2019, call 555-123-4567, MRN 1234567.")
    message = describe(found)
    assert message.startswith("a name at character 9, a date at character 22 and a phone number")
    assert "(and 1 more)" in message and "Smith" not in message and "2019" not in message


def test_identifying_free_text_is_refused_everywhere_and_nothing_is_written(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        _, chain = factories.case(s, required_reviews=1)
        r = factories.user(s)
    first = chain.steps[0].id
    verdict = functools.partial(store.record_verdict, step_id=first)
    attempts = [  # (what the message names, the service, its own arguments)
        (
            "the corrected step",
            verdict,
            {"verdict": "correct", "corrected_text": "Effusion, unchanged from 03/04/2019."},
        ),
        ("the comment", verdict, {"verdict": "reject", "comment": "ask Dr. Jones"}),
        (
            "the added step",
            store.add_step,
            {"chain_id": chain.id, "after_position": 0, "text": "MRN 99812345"},
        ),
    ]
    for what, service, kwargs in attempts:
        with (
            pytest.raises(ValidationError, match=f"{what} seems to hold"),
            session_scope(db.factory, actor="r") as s,
        ):
            service(session=s, reviewer_id=r.id, lease=LEASE, **kwargs)
    with session_scope(db.factory, actor="r") as s:  # the same texts without the identifiers are fine
        for step in chain.steps:
            store.record_verdict(
                session=s,
                step_id=step.id,
                reviewer_id=r.id,
                verdict="reject",
                comment="unchanged since 2019",
                lease=LEASE,
            )
    with (
        pytest.raises(ValidationError, match="the comment seems to hold a phone"),
        session_scope(db.factory, actor="r") as s,
    ):
        store.submit_review(
            session=s,
            chain_id=chain.id,
            reviewer_id=r.id,
            answer_verdict="agree",
            comment="555-123-4567",
            lease=LEASE,
        )
    with db.factory() as s:
        assert s.scalar(select(func.count()).select_from(StepVerdict)) == len(chain.steps)
        assert s.scalar(select(func.count()).select_from(ChainReview)) == 0
        assert s.scalar(select(func.count()).select_from(Step).where(Step.author_id.is_not(None))) == 0


def test_redact_replaces_each_identifier_and_keeps_the_rest() -> None:
    text = "Compared with 03/04/2019 (Dr. Smith). No effusion. Call 555-123-4567."
    redacted, n = redact(text)
    assert n == 3
    assert redacted == "Compared with [REDACTED] ([REDACTED]). No effusion. Call [REDACTED]."
    assert redact("No effusion since 2019.") == ("No effusion since 2019.", 0)


def test_reports_are_stored_redacted(db) -> None:
    with session_scope(db.factory, actor="test") as s:
        case, _ = factories.case(s)
        made = store.create_case(
            session=s,
            study_id=case.study_id,
            task_type="binary",
            question="Is there an effusion?",
            report="Findings: small left effusion, new since 03/04/2019. Discussed with Dr. Jones.",
        )
        made_id, version = made.id, made.version
    with session_scope(db.factory, actor="test") as s:
        stored = s.get(Case, made_id).report
        assert stored == "Findings: small left effusion, new since [REDACTED]. Discussed with [REDACTED]."
        store.update_case(session=s, case_id=made_id, expected_version=version, report="Seen by Mr Brown.")
    with db.factory() as s:
        assert s.get(Case, made_id).report == "Seen by [REDACTED]."
