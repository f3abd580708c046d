"""A tiny review database for the loop tests: verified cases with real stored images, through the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from imaging.prepare import prepare_image
from review_db import store
from review_db.engine import session_scope
from review_db.types import Role
from tests.training.helpers import xray

LEASE = dt.timedelta(minutes=15)
CHAINS = [
    (
        "Small right pleural effusion. No pneumothorax.",
        [
            "Blunting of the right costophrenic angle is seen.",
            "This is a small right pleural effusion.",
            "No pneumothorax.",
        ],
        ["The right costophrenic angle is blunted.", "There is a left pleural effusion.", "No pneumothorax."],
        "A",
    ),
    (
        "The lungs are clear. No pleural effusion.",
        ["The lungs are clear.", "There is no pleural effusion.", "No focal consolidation."],
        ["The lungs are clear.", "There is a pleural effusion.", "No focal consolidation."],
        "B",
    ),
]


def seed_verified(factory: Any, settings: Any, tmp: Path, *, n: int, start: int = 0) -> list[int]:
    """``n`` verified single-choice cases (each its own patient); returns their case ids.

    The model's chains have one wrong step the reviewer rejects (step verdicts for the PRM); the
    reviewer agrees with the answer.
    """
    ids = []
    with session_scope(factory, actor="test:seed") as session:
        reviewer = (
            store.user_by_name(session=session, username="rad")
            if start
            else store.add_user(
                session=session, username="rad", password="correct horse battery", role=Role.reviewer
            )
        )
        for i in range(start, start + n):
            report, good, model_steps, answer = CHAINS[i % len(CHAINS)]
            path = tmp / f"xray-{i}.png"
            xray(i, 64).save(path)
            prepared = prepare_image(
                path,
                key=settings.key_bytes(),
                date_shift_max_days=30,
                max_pixels=settings.max_image_pixels,
                max_bytes=settings.max_upload_bytes,
                patient_id=f"patient-{i}",
            )
            study, _ = store.add_study(session=session, prepared=prepared, image_root=settings.image_dir)
            case = store.create_case(
                session=session,
                study_id=study.id,
                task_type="single_choice",
                question="Is there a pleural effusion?",
                options=["Yes", "No"],
                reference_answer=answer,
                report=report,
            )
            chain = store.add_chain(
                session=session, case_id=case.id, steps=model_steps, final_answer=answer, source="imported"
            )
            store.claim_case(session=session, case_id=case.id, reviewer_id=reviewer.id, lease=LEASE)
            for step, fixed in zip(sorted(chain.steps, key=lambda s: s.position), good, strict=True):
                verdict = "accept" if step.text == fixed else "correct"
                store.record_verdict(
                    session=session,
                    step_id=step.id,
                    reviewer_id=reviewer.id,
                    verdict=verdict,
                    corrected_text=None if verdict == "accept" else fixed,
                    lease=LEASE,
                )
            store.submit_review(
                session=session,
                chain_id=chain.id,
                reviewer_id=reviewer.id,
                answer_verdict="agree",
                lease=LEASE,
            )
            ids.append(case.id)
    return ids
