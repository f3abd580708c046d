"""``chestx import images|dicomweb|predictions``: bring studies and model outputs in, de-identified.

``images`` and ``dicomweb`` show a tqdm progress bar on stderr (stdout keeps the summary) and
record the import for the admin page (:mod:`services.import_runs`); ``dicomweb`` needs the
``[pacs]`` extra (dicomweb-client), imported when the command runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import typer
from tqdm import tqdm

from chestx.cli.common import clean_errors, database, fail, printable, settings
from chestx.compose import intake
from services.import_runs import ImportRecorder
from services.importing import ImportReport, Progress, import_images, import_predictions
from vocab.imports import ImportKind


@contextlib.contextmanager
def progress_bar(what: str) -> Iterator[Progress]:
    """A :data:`services.importing.Progress` drawn as a tqdm bar on stderr, closed on the way out."""
    bar = tqdm(desc=f"importing {what}", unit=f" {what}", leave=False)

    def advance(done: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
            bar.refresh()  # the total at once: a quick import may never reach tqdm's next redraw
        bar.update(done - bar.n)

    try:
        yield advance
    finally:
        bar.close()


def _print_report(report: ImportReport, what: str) -> None:
    for name, reason in report.rejected:
        line = f"rejected: {reason}" if name in reason else f"rejected: {name}: {reason}"
        typer.echo(printable(line), err=True)  # a file name may hold a newline
    _grouped("skipped", report.skipped)
    _grouped("warning", [(name, w) for name, w in report.warnings])
    skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
    typer.echo(
        f"{len(report.imported)} {what} imported, {len(report.recognised)} already present{skipped}, "
        f"{len(report.rejected)} rejected" + (f"; cases {_ids(report.case_ids)}" if report.case_ids else "")
    )


def _grouped(heading: str, items: list[tuple[str, str]]) -> None:
    """One stderr line per distinct reason: the item, or how many and the first."""
    by_text: dict[str, list[str]] = {}
    for name, text in items:
        by_text.setdefault(text, []).append(name)
    for text, names in by_text.items():
        where = names[0] if len(names) == 1 else f"{len(names)} items ({names[0]} ...)"
        typer.echo(printable(f"{heading}: {where}: {text}"), err=True)


def _ids(ids: list[int]) -> str:
    return f"{ids[0]}-{ids[-1]}" if len(ids) > 3 else ", ".join(map(str, ids))


def register(app: typer.Typer) -> None:
    imp = typer.Typer(
        help="Import images and predictions (de-identified on the way in).", no_args_is_help=True
    )

    @imp.command("images")
    def images(
        paths: list[Path] = typer.Argument(..., help="DICOM, PNG or JPEG files, or folders of them."),
        question: str | None = typer.Option(None, help="Create a case per image with this question."),
        option: list[str] = typer.Option([], "--option", "-o", help="An answer option (repeat, A first)."),
        task_type: str | None = typer.Option(
            None, help="binary | single_choice | multiple_choice | open_findings"
        ),
        report: Path | None = typer.Option(None, help="A text file with the report (findings, impression)."),
        answer: str | None = typer.Option(None, help="The reference answer, e.g. 'B'."),
        required_reviews: int | None = typer.Option(None, min=1),
    ) -> None:
        """Import images; exits 1 if any file was rejected (the good ones are imported)."""

        with clean_errors():
            report_text = report.read_text(encoding="utf-8") if report else None
            factory = database()
            # The record names no path (a file name may carry a patient's name): only how many.
            source = f"command line ({len(paths)} path{'s' if len(paths) != 1 else ''})"
            recorder = ImportRecorder.start(
                factory=factory, kind=ImportKind.files, source=source, actor="cli:import"
            )
            with progress_bar("images") as progress:
                result = import_images(
                    factory=factory,
                    intake=intake(settings()),
                    paths=paths,
                    actor="cli:import",
                    question=question,
                    options=option,
                    task_type=task_type,
                    report=report_text,
                    reference_answer=answer,
                    required_reviews=required_reviews,
                    progress=progress,
                    recorder=recorder,
                )
        _print_report(result, "images")
        if not result.ok:
            raise typer.Exit(1)

    @imp.command("dicomweb")
    def dicomweb(
        url: str = typer.Argument(..., help="The DICOMweb root, e.g. http://pacs:8042/dicom-web"),
        modality: list[str] = typer.Option(["CR", "DX"], "--modality", help="Modalities to import (repeat)."),
        body_part: list[str] = typer.Option(
            ["CHEST"], "--body-part", help="Body Part Examined values to import (repeat)."
        ),
        any_body_part: bool = typer.Option(False, help="Import whatever body part (or none) is recorded."),
        since: dt.datetime | None = typer.Option(
            None, formats=["%Y-%m-%d"], help="Study date from (YYYY-MM-DD)."
        ),
        until: dt.datetime | None = typer.Option(
            None, formats=["%Y-%m-%d"], help="Study date to (YYYY-MM-DD)."
        ),
        accession: str | None = typer.Option(None, help="Only the study with this accession number."),
        user: str | None = typer.Option(None, help="User name for HTTP basic authentication."),
        password_file: Path | None = typer.Option(
            None, exists=True, dir_okay=False, help="A file holding the password (kept off the command line)."
        ),
        timeout: float = typer.Option(60.0, min=1, help="Seconds to wait for each answer of the server."),
        parallel: int = typer.Option(2, min=1, max=8, help="Instances retrieved at once."),
        compress: bool = typer.Option(False, help="Ask the server to gzip its answers (for slow links)."),
    ) -> None:
        """Query a PACS over DICOMweb (QIDO-RS) and import its chest radiographs (WADO-RS).

        De-identified and deduplicated as files are; other modalities and body parts are skipped
        with the reason. Run it again to resume: instances imported before are not retrieved.
        Exits 1 if any instance was rejected.
        """
        from services.pacs import dicomweb as web  # lazy: the optional [pacs] extra (dicomweb-client)

        if "@" in url.partition("://")[2].partition("/")[0]:
            raise fail("put no credentials in the URL: use --user and --password-file")
        with clean_errors():
            password = password_file.read_text(encoding="utf-8").strip() if password_file else None
            query = web.Query(
                modalities=tuple(m.upper() for m in modality),
                body_parts=() if any_body_part else tuple(b.upper() for b in body_part),
                study_date_from=since.date() if since else None,
                study_date_to=until.date() if until else None,
                accession=accession,
            )
            remote = web.Remote(
                url, user=user, password=password, timeout_s=timeout, parallel=parallel, compress=compress
            )
            with progress_bar("instances") as progress:
                result = web.import_dicomweb(
                    factory=database(),
                    intake=intake(settings()),
                    remote=remote,
                    query=query,
                    actor="cli:import",
                    progress=progress,
                )
        _print_report(result, "instances")
        if not result.ok:
            raise typer.Exit(1)

    @imp.command("predictions")
    def predictions(
        file: Path = typer.Argument(
            ..., exists=True, dir_okay=False, help="JSON or JSONL, evaluation format."
        ),
        images_root: Path | None = typer.Option(
            None, help="Folder that the items' image_path is relative to."
        ),
        required_reviews: int | None = typer.Option(None, min=1),
        model: str | None = typer.Option(None, help="Name of the model that produced the predictions."),
    ) -> None:
        """Import model outputs in ChestX-Reasoner's evaluation format as cases with chains."""

        with clean_errors():
            result = import_predictions(
                factory=database(),
                intake=intake(settings()),
                path=file,
                actor="cli:import",
                images_root=images_root,
                required_reviews=required_reviews,
                source_detail=model,
            )
        _print_report(result, "items")
        if not result.ok:
            raise typer.Exit(1)

    app.add_typer(imp, name="import")
