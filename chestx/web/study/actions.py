"""What the study page's events do: plain functions of (context, user, input), no Gradio.

Contract: every function checks the role first (readers: reviewers; the setup: admins; the
analysis: researchers and admins, :func:`chestx.web.auth.require`), then does one unit of work
(``ctx.write(user)``, audited as ``user:<id>``) or one read, through :mod:`services.reader_study`.
Bad input raises a :class:`~review_db.errors.ChestXError` with nothing written. The read a reader
is shown is a :class:`~services.reader_study.reading.ReadView`, which holds only what its arm
shows (blinding is the service's, not the page's).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from chestx.web import downloads
from chestx.web.auth import UserInfo, require
from chestx.web.context import AppContext
from chestx.web.study.results_html import analysis_html
from review_db.errors import ValidationError
from services.reader_study import reading, results, studies
from services.reader_study.design import STANDARD_ARMS, StepMark
from services.reader_study.figures import figures
from services.reader_study.reading import ReadView, Waiting
from vocab import Role

READERS = (Role.reviewer,)
RESEARCHERS = (Role.researcher,)
ZIP_TTL_S = 30 * 60.0
MAX_CASE_CHOICES = 500


@dataclass(frozen=True)
class StudyState:
    """The read open in this tab (the server checks it is the reader's and the one being served)."""

    assignment_id: int | None = None


# ----------------------------------------------------------------------------- readers


def serve(ctx: AppContext, user: UserInfo | None) -> tuple[ReadView | Waiting | None, bool]:
    """(the reader's next read, served now; whether they have any reads at all)."""
    reader = require(user, *READERS)
    with ctx.write(reader) as session:
        status = reading.next_read(session=session, reader_id=reader.id)
        return status, status is not None or reading.has_reads(session=session, reader_id=reader.id)


def marks_from(helpful: Sequence[int] | None, wrong: Sequence[int] | None) -> dict[int, str]:
    """Step numbers ticked as helpful and as wrong -> marks; a step cannot be both."""
    helpful, wrong = [int(n) for n in helpful or ()], [int(n) for n in wrong or ()]
    if both := sorted(set(helpful) & set(wrong)):
        raise ValidationError(f"step {both[0]} is marked both helpful and wrong: pick one")
    return {n: StepMark.helpful.value for n in helpful} | {n: StepMark.wrong.value for n in wrong}


def submit(
    ctx: AppContext,
    user: UserInfo | None,
    state: StudyState,
    *,
    one: str | None,
    many: Sequence[str] | None,
    confidence: int | None,
    helpful: Sequence[int] | None,
    wrong: Sequence[int] | None,
) -> None:
    """Store the open read; the server measures its time from when it was served."""
    reader = require(user, *READERS)
    if state.assignment_id is None:
        raise ValidationError("no read is open here: reload the page for your next read")
    answer = ",".join(many) if many else one
    marks = marks_from(helpful, wrong)
    with ctx.write(reader) as session:
        reading.submit_read(
            session=session, reader_id=reader.id, assignment_id=state.assignment_id, answer=answer,
            confidence=confidence, marks=marks,
        )  # fmt: skip


# ----------------------------------------------------------------------------- the admin's setup


@dataclass(frozen=True)
class SetupData:
    cases: list[tuple[str, int]]
    readers: list[tuple[str, int]]
    studies: list[studies.StudySummary]


def setup_data(ctx: AppContext, user: UserInfo | None) -> SetupData:
    require(user)  # no roles named: admins only
    with ctx.read() as session:
        cases = studies.eligible_cases(session=session, limit=MAX_CASE_CHOICES)
        return SetupData(
            [(c.label, c.id) for c in cases],
            studies.eligible_readers(session=session),
            studies.list_studies(session=session),
        )


def cases_by_filter(
    ctx: AppContext, user: UserInfo | None, *, task_type: str | None, limit: int | None
) -> list[int]:
    """The eligible cases of a task type (all types when none), at most ``limit`` (all when 0)."""
    require(user)
    with ctx.read() as session:
        found = studies.eligible_cases(
            session=session, task_type=task_type or None, limit=int(limit or 0) or None
        )
        return [c.id for c in found]


def _whole(value: float | None, what: str) -> int:
    if value is None or float(value) != int(value):
        raise ValidationError(f"the {what} is a whole number")
    return int(value)


def create(
    ctx: AppContext,
    user: UserInfo | None,
    *,
    name: str,
    case_ids: Sequence[int],
    reader_ids: Sequence[int],
    arm_keys: Sequence[str],
    washout_days: float | None,
    seed: float | None,
) -> str:
    """Create a study from the setup form; the message to show."""
    admin = require(user)
    arms = [a for a in STANDARD_ARMS if a.key in set(arm_keys or ())]
    with ctx.write(admin) as session:
        made = studies.create_study(
            session=session, name=name or "", case_ids=[int(c) for c in case_ids or ()],
            reader_ids=[int(r) for r in reader_ids or ()], arms=arms,
            washout_days=_whole(washout_days, "washout"), seed=_whole(seed, "seed"), created_by=admin.id,
        )  # fmt: skip
        return f"Created {studies.describe(made)}."


# ----------------------------------------------------------------------------- the researcher's analysis


def study_choices(ctx: AppContext, user: UserInfo | None) -> list[tuple[str, int]]:
    require(user, *RESEARCHERS)
    with ctx.read() as session:
        return [
            (f"{s.id} · {s.name} ({s.reads_done}/{s.reads_total} reads)", s.id)
            for s in studies.list_studies(session=session)
        ]


def _offer_zip(ctx: AppContext, user: UserInfo, data: results.StudyData, analysis: object) -> tuple[str, str]:
    """Build the export zip in a fresh folder; (its one-time URL, its file name)."""
    root = ctx.cache_dir / "reader-studies"
    root.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(dir=root))
    try:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = results.write_export(data, analysis, build / f"reader-study-{data.study_id}-{stamp}")
        zipped = results.zip_export(folder, folder.with_suffix(".zip"))
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    token = ctx.downloads.offer(
        user=user, path=zipped, filename=zipped.name, media_type="application/zip",
        roles=(*RESEARCHERS, Role.admin), ttl_s=ZIP_TTL_S, once=True, remove=build,
    )  # fmt: skip
    return downloads.url(token), zipped.name


def analyse(ctx: AppContext, user: UserInfo | None, study_id: int | None) -> tuple[str, dict[str, go.Figure]]:
    """The study's analysis as HTML (with the export's download link) and its figures."""
    researcher = require(user, *RESEARCHERS)
    if not study_id:
        raise ValidationError("pick a study first")
    with ctx.read() as session:
        data = results.study_data(session=session, study_id=int(study_id))
    analysis = results.analysis_of(data)
    href, filename = _offer_zip(ctx, researcher, data, analysis)
    return analysis_html(data.name, analysis, href=href, filename=filename), figures(analysis, data.reads)
