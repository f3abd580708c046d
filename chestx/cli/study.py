"""``chestx study create|list|report``: reader studies (docs/READER_STUDIES.md).

Thin wrappers over :mod:`services.reader_study`: ``create`` validates and randomizes through
:func:`~services.reader_study.studies.create_study` (audited as ``cli:study``), ``report`` prints
the analysis and writes the export folder (and its zip) that the researcher's page offers too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import typer

from chestx.cli.common import clean_errors, database, fail, settings
from review_db.engine import read_session, session_scope
from review_db.errors import ValidationError
from review_db.store import users as accounts
from services.reader_study import results, studies
from services.reader_study.analysis import BOOTSTRAP_REPS, tables
from services.reader_study.design import STANDARD_ARMS, parse_arms

SHOWN = ("accuracy_by_arm", "paired_differences", "time_by_arm", "confidence_by_arm")
DEFAULT_ARMS = ",".join(a.key for a in STANDARD_ARMS)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows as aligned plain text."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)


def _ids(text: str) -> list[int]:
    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise ValidationError(f"case ids are whole numbers separated by commas, not {text!r}") from None


def register(app: typer.Typer) -> None:
    study = typer.Typer(
        help="Reader studies: readers read cases with and without the model's help.", no_args_is_help=True
    )

    @study.command("create")
    def create(
        name: str,
        readers: str = typer.Option(..., "--readers", help="reviewer usernames, comma-separated"),
        cases: str = typer.Option("", "--cases", help="verified case ids, comma-separated"),
        task_type: str = typer.Option(
            "", "--task-type", help="or by filter: verified cases of this task type"
        ),
        limit: int = typer.Option(0, "--limit", help="with the filter: at most this many cases (0: all)"),
        demo: bool = typer.Option(True, "--demo/--no-demo", help="with the filter: include demo cases"),
        arms: str = typer.Option(
            DEFAULT_ARMS, "--arms", help="standard arm keys or LABEL=none|answer|reasoning"
        ),
        washout_days: int = typer.Option(14, "--washout-days", help="days between a reader's periods"),
        seed: int = typer.Option(0, "--seed", help="the randomization's seed"),
    ) -> None:
        """Create a study: every reader reads every case once per arm, one arm per period."""
        with clean_errors(), session_scope(database(), actor="cli:study") as s:
            if cases:
                case_ids = _ids(cases)
            else:
                found = studies.eligible_cases(
                    session=s, task_type=task_type or None, include_demo=demo, limit=limit or None
                )
                case_ids = [c.id for c in found]
            reader_ids = [
                accounts.user_by_name(session=s, username=n.strip()).id
                for n in readers.split(",")
                if n.strip()
            ]
            created = studies.create_study(
                session=s, name=name, case_ids=case_ids, reader_ids=reader_ids, arms=parse_arms(arms),
                washout_days=washout_days, seed=seed, created_by=None,
            )  # fmt: skip
            typer.echo(f"created {studies.describe(created)}")

    @study.command("list")
    def list_() -> None:
        """List studies with their progress."""
        with read_session(database()) as s:
            rows = [
                (x.id, x.name, ", ".join(x.arms), len(x.readers), x.cases, f"{x.reads_done}/{x.reads_total}")
                for x in studies.list_studies(session=s)
            ]
        typer.echo(
            text_table(["id", "name", "arms", "readers", "cases", "reads"], rows) if rows else "no study yet"
        )

    @study.command("report")
    def report(
        study_id: int,
        out: Path | None = typer.Option(
            None, "--out", help="export folder (default: CHESTX_HOME/exports/...)"
        ),
        zip_: bool = typer.Option(True, "--zip/--no-zip", help="also pack the folder as a zip beside it"),
        reps: int = typer.Option(BOOTSTRAP_REPS, "--reps", help="bootstrap replicates"),
    ) -> None:
        """Print the analysis and write the export (design, assignments, reads, results, figures)."""
        if reps < 100:
            raise fail("--reps must be at least 100")
        with clean_errors(), read_session(database()) as s:
            data = results.study_data(session=s, study_id=study_id)
        analysis = results.analysis_of(data, reps=reps)
        typer.echo(f"Reader study {data.study_id} {data.name!r}: {analysis.reads} reads")
        parts = tables(analysis)
        for name in SHOWN:
            headers, rows = parts[name]
            typer.echo(f"\n{name.replace('_', ' ')}\n{text_table(headers, rows)}")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = out or settings().exports_dir / f"reader-study-{data.study_id}-{stamp}"
        results.write_export(data, analysis, folder)
        typer.echo(f"\nexport: {folder}")
        if zip_:
            typer.echo(f"zip: {results.zip_export(folder, folder.with_suffix('.zip'))}")

    app.add_typer(study, name="study")
