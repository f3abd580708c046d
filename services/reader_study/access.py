"""Whether a reader may see a case's image because a reader study assigns them that case.

Contract: :func:`may_see_image` is for the image route only. A reader may see the radiograph of
every case their studies assign them, in every arm (the image is what every arm shows); it
grants nothing else: not the chain, the report or the review page, which stay behind
:func:`services.screens.may_view_case` (a verified case is not a reviewer's to open there).
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from review_db.models import ReaderAssignment


def may_see_image(*, session: Session, user_id: int, case_id: int) -> bool:
    """Whether a study assigns the case to this reader."""
    assigned = exists().where(ReaderAssignment.reader_id == user_id, ReaderAssignment.case_id == case_id)
    return bool(session.scalar(select(assigned)))
