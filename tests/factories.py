"""Factories that build rows through the real service functions (no mocks)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

from sqlalchemy.orm import Session

from review_db import store
from review_db.models import Case, Chain, Study, User
from review_db.types import Role

LEASE = dt.timedelta(minutes=15)
_seq = itertools.count()


def user(
    session: Session,
    *,
    role: Role = Role.reviewer,
    name: str | None = None,
    password: str = "correct horse battery",
) -> User:
    return store.add_user(session=session, username=name or f"user{next(_seq)}", password=password, role=role)


def study(session: Session, **over) -> Study:
    """A study row for a synthetic image (tests of the import path use real DICOM instead)."""
    n = next(_seq)
    row = Study(
        image_sha256=hashlib.sha256(f"img{n}".encode()).hexdigest(),
        stored_path=f"xx/{n}.png",
        source_format="png",
        patient_pseudonym=f"P-{n:016x}",
        width=64,
        height=64,
        window_presets={},
        warnings=[],
    )
    for key, value in over.items():
        setattr(row, key, value)
    session.add(row)
    session.flush()
    return row


def case(
    session: Session,
    *,
    steps: tuple[str, ...] = ("The lungs are clear.", "No effusion is seen.", "The heart size is normal."),
    answer: str = "A",
    required_reviews: int = 1,
    **over,
) -> tuple[Case, Chain]:
    s = study(session)
    c = store.create_case(
        session=session,
        study_id=s.id,
        task_type=over.pop("task_type", "single_choice"),
        question=over.pop("question", "Which finding is present?"),
        options=over.pop("options", ["No acute findings", "Pneumothorax", "Effusion"]),
        reference_answer=over.pop("reference_answer", "A"),
        required_reviews=required_reviews,
        **over,
    )
    chain = store.add_chain(
        session=session,
        case_id=c.id,
        steps=list(steps),
        final_answer=answer,
        source="imported",
        raw_output="<think>...</think><answer> A </answer>",
    )
    return c, chain
