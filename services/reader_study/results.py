"""A study's reads, its analysis and its export: what the researcher's page and
``chestx study report`` share.

Contract: :func:`study_data` reads a study from the database (a session, never committing) into a
:class:`StudyData`: its public design, the randomization, the reads. Readers appear only by their
code in the study (R1, R2, ...), never by name or account. :func:`analysis_of` analyses it
(:func:`services.reader_study.analysis.analyse`, bootstrap seeded by the study's seed), and
:func:`write_export` writes the folder a study is re-analysed from elsewhere:

- ``design.json``: arms, readers (codes), cases with the chain shown and the truth, periods,
  washout, seed, the randomization method, what the analysis did;
- ``assignments.csv``: the randomization, one row per read to do (periods and places from 1);
- ``reads.csv``: one row per submitted read (answer, truth, correct, confidence, time, marks);
- ``results.csv``: every number of the analysis in long form (table, arm, arm_b, reader,
  statistic, value), and each table of it as its own CSV (``accuracy_by_arm.csv``, ...);
- ``figures.html``: the figures, standalone.

:func:`zip_export` packs such a folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_db.models import Chain, ReaderAssignment, ReaderRead
from services.reader_study.analysis import BOOTSTRAP_REPS, Analysis, ReadRecord, analyse, tables
from services.reader_study.design import Arm, StepMark
from services.reader_study.figures import figures, figures_html
from services.reader_study.reading import model_steps
from services.reader_study.studies import arms_of, get_study

KEYS = ("arm", "arm_a", "arm_b", "reader")  # the columns that name a row of a table in results.csv
ASSIGNMENT_COLUMNS = ("reader", "case_id", "chain_id", "period", "sequence", "arm", "served_at")
READ_COLUMNS = (
    "reader", "case_id", "period", "sequence", "arm", "answer", "truth", "correct", "confidence", "time_s",
    "steps_helpful", "steps_wrong", "submitted_at",
)  # fmt: skip


@dataclass(frozen=True)
class StudyData:
    study_id: int
    name: str
    design: dict[str, Any]  # public: readers by code only
    arms: tuple[Arm, ...]
    assignments: tuple[dict[str, Any], ...]
    reads: tuple[ReadRecord, ...]
    read_rows: tuple[dict[str, Any], ...]


def _iso(moment: dt.datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _step_numbers(session: Session, chain_ids: Sequence[int]) -> dict[str, int]:
    """Step id -> its number in its chain (1-based), for the chains a study shows."""
    out: dict[str, int] = {}
    for chain in session.scalars(select(Chain).where(Chain.id.in_(chain_ids))):
        out.update({str(s.id): i for i, s in enumerate(model_steps(chain), start=1)})
    return out


def _read_row(a: ReaderAssignment, r: ReaderRead, code: str, truth: str, numbers: dict[str, int]) -> dict:
    marked = {m: sorted(numbers[k] for k, v in r.step_marks.items() if v == m) for m in StepMark}
    steps = {m: ";".join(map(str, marked[m])) for m in StepMark}
    return {
        "reader": code, "case_id": a.case_id, "period": a.period + 1, "sequence": a.sequence + 1,
        "arm": a.arm, "answer": r.answer, "truth": truth, "correct": int(r.answer == truth),
        "confidence": r.confidence, "time_s": r.time_s, "steps_helpful": steps[StepMark.helpful],
        "steps_wrong": steps[StepMark.wrong], "submitted_at": _iso(r.submitted_at),
    }  # fmt: skip


def study_data(*, session: Session, study_id: int) -> StudyData:
    """The study as the analysis and the export see it (see the module docstring)."""
    study = get_study(session=session, study_id=study_id)
    design = study.design
    code = {r["user_id"]: r["code"] for r in design["readers"]}
    truth = {c["case_id"]: c["truth"] for c in design["cases"]}
    numbers = _step_numbers(session, [c["chain_id"] for c in design["cases"]])
    rows = session.execute(
        select(ReaderAssignment, ReaderRead)
        .outerjoin(ReaderRead, ReaderRead.assignment_id == ReaderAssignment.id)
        .where(ReaderAssignment.study_id == study.id)
        .order_by(ReaderAssignment.reader_id, ReaderAssignment.period, ReaderAssignment.sequence)
    ).all()
    assignments, reads, read_rows = [], [], []
    for a, r in rows:
        reader = code[a.reader_id]
        assignments.append(
            {"reader": reader, "case_id": a.case_id, "chain_id": a.chain_id, "period": a.period + 1,
             "sequence": a.sequence + 1, "arm": a.arm, "served_at": _iso(a.served_at)}
        )  # fmt: skip
        if r is None:
            continue
        marks = list(r.step_marks.values())
        reads.append(
            ReadRecord(
                reader,
                a.case_id,
                a.period,
                a.arm,
                r.answer,
                truth[a.case_id],
                r.confidence,
                r.time_s,
                marks.count("helpful"),
                marks.count("wrong"),
            )  # fmt: skip
        )
        read_rows.append(_read_row(a, r, reader, truth[a.case_id], numbers))
    public = {
        "study": {"id": study.id, "name": study.name, "created_at": _iso(study.created_at)},
        **{k: v for k, v in design.items() if k != "readers"},
        "readers": [r["code"] for r in design["readers"]],
    }
    return StudyData(
        study.id, study.name, public, arms_of(study), tuple(assignments), tuple(reads), tuple(read_rows)
    )


def analysis_of(data: StudyData, *, reps: int = BOOTSTRAP_REPS) -> Analysis:
    """The study's analysis; the bootstrap is seeded with the study's seed (reproducible)."""
    return analyse(data.reads, data.arms, seed=data.design["seed"], reps=reps)


def _write_csv(path: Path, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(headers)
        writer.writerows(rows)


def long_results(analysis: Analysis) -> list[list[Any]]:
    """Every number of the analysis as (table, arm, arm_b, reader, statistic, value) rows."""
    out = []
    for name, (headers, rows) in tables(analysis).items():
        for row in rows:
            cells = dict(zip(headers, row, strict=True))
            arm = cells.get("arm", cells.get("arm_a", ""))
            for statistic, value in cells.items():
                if statistic not in KEYS and statistic != "label":
                    out.append([name, arm, cells.get("arm_b", ""), cells.get("reader", ""), statistic, value])
    return out


def write_export(data: StudyData, analysis: Analysis, folder: Path) -> Path:
    """Write the study's export folder (see the module docstring); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    design = {
        **data.design,
        "analysis": {
            "level": analysis.level,
            "wilson": "score interval per arm and per reader and arm",
            "mcnemar": "exact binomial test on the discordant (reader, case) pairs of two arms",
            "bootstrap": {
                "reps": analysis.bootstrap_reps,
                "seed": data.design["seed"],
                "resamples": "readers and cases",
            },
            "reads": analysis.reads,
        },
    }
    (folder / "design.json").write_text(json.dumps(design, indent=2, ensure_ascii=False), encoding="utf-8")
    for name, columns, rows in (
        ("assignments", ASSIGNMENT_COLUMNS, data.assignments),
        ("reads", READ_COLUMNS, data.read_rows),
    ):
        _write_csv(folder / f"{name}.csv", columns, [[r[c] for c in columns] for r in rows])
    _write_csv(
        folder / "results.csv",
        ["table", "arm", "arm_b", "reader", "statistic", "value"],
        long_results(analysis),
    )
    for name, (headers, rows) in tables(analysis).items():
        _write_csv(folder / f"{name}.csv", headers, rows)
    figures_html(figures(analysis, data.reads), folder / "figures.html", title=f"Reader study: {data.name}")
    return folder


def zip_export(folder: Path, path: Path) -> Path:
    """``folder``'s files in a zip at ``path`` (under a folder named like ``folder``)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for file in sorted(folder.iterdir()):
            z.write(file, f"{folder.name}/{file.name}")
    return path
