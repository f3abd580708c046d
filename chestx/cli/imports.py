"""``chestx import images|predictions``: bring studies and model outputs in, de-identified."""

from __future__ import annotations

from pathlib import Path

import typer

from chestx.cli.common import clean_errors, database, settings
from chestx.compose import intake
from services.importing import import_images, import_predictions


def _print_report(report, what: str) -> None:  # noqa: ANN001 - services.importing.ImportReport
    for name, reason in report.rejected:
        typer.echo(f"rejected: {reason}" if name in reason else f"rejected: {name}: {reason}", err=True)
    by_text: dict[str, list[str]] = {}
    for name, warning in report.warnings:
        by_text.setdefault(warning, []).append(name)
    for warning, names in by_text.items():
        where = names[0] if len(names) == 1 else f"{len(names)} items ({names[0]} ...)"
        typer.echo(f"warning: {where}: {warning}", err=True)
    typer.echo(
        f"{len(report.imported)} {what} imported, {len(report.recognised)} already present, "
        f"{len(report.rejected)} rejected" + (f"; cases {_ids(report.case_ids)}" if report.case_ids else "")
    )


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
            result = import_images(
                factory=database(),
                intake=intake(settings()),
                paths=paths,
                actor="cli:import",
                question=question,
                options=option,
                task_type=task_type,
                report=report_text,
                reference_answer=answer,
                required_reviews=required_reviews,
            )
        _print_report(result, "images")
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
