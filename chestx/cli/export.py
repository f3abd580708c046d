"""``chestx export KIND --out DIR``: de-identified datasets of verified chains.

A thin wrapper over :func:`services.exporting.export_to_folder` with a tqdm progress bar. The
options are :class:`services.exporting.ExportRequest`'s fields: their flags, help texts and
defaults come from :data:`services.exporting.OPTIONS` (the choices from the export registries),
and the dataset card's command line from :meth:`~services.exporting.ExportRequest.command`.
Every export is also recorded in the snapshot index so that ``--since`` takes a snapshot hash.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from tqdm import tqdm

from chestx.cli.common import clean_errors, database, fail, settings
from services.exporting import DEFAULTS, KIND_HELP, OPTIONS, ExportRequest, export_to_folder, snapshot_index


class _Bar:
    """:class:`exports.Progress` on a tqdm bar (on stderr, so stdout stays parseable)."""

    def __init__(self) -> None:
        self.bar = None

    def start(self, total: int | None, unit: str) -> None:
        self.bar = tqdm(total=total, unit=f" {unit}", unit_scale=True, desc="exporting", leave=False)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _option(name: str) -> Any:
    """The typer option of the request field ``name``: flag, help and default from OPTIONS."""
    spec, default = OPTIONS[name], DEFAULTS[name]
    extra = {"min": spec.minimum} if spec.minimum is not None else {}
    default = list(default) if isinstance(default, tuple) else default  # typer's repeated options
    return typer.Option(default, spec.flag, help=spec.help, **extra)


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        kind: str = typer.Argument(..., help=KIND_HELP),
        out: Path = typer.Option(..., "--out", help="Folder to create (refused if it exists)."),
        fmt: str = _option("fmt"),
        images: str | None = _option("images"),
        policy: str = _option("policy"),
        reviewed_from: dt.datetime | None = _option("reviewed_from"),
        reviewed_to: dt.datetime | None = _option("reviewed_to"),
        task_types: list[str] = _option("task_types"),
        model_versions: list[str] = _option("model_versions"),
        reviewers: list[str] = _option("reviewers"),
        min_reviews: int | None = _option("min_reviews"),
        only_agreed: bool = _option("only_agreed"),
        include_unverified: bool = _option("include_unverified"),
        include_demo: bool = _option("include_demo"),
        include_reports: bool = _option("include_reports"),
        since: str | None = _option("since"),
        seed: int = _option("seed"),
        validation_share: float = _option("validation_share"),
        test_share: float = _option("test_share"),
        key_file: Path | None = typer.Option(None, help="File holding the export pseudonym key."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier export at --out."),
    ) -> None:
        """Export verified chains as a de-identified dataset (TRL rows or full records)."""
        request = ExportRequest(
            kind=kind, fmt=fmt, images=images, policy=policy, reviewed_from=reviewed_from,
            reviewed_to=reviewed_to, task_types=tuple(task_types), model_versions=tuple(model_versions),
            reviewers=tuple(reviewers), min_reviews=min_reviews, only_agreed=only_agreed,
            include_unverified=include_unverified, include_demo=include_demo,
            include_reports=include_reports, since=since, seed=seed, validation_share=validation_share,
            test_share=test_share,
        )  # fmt: skip
        s = settings()
        bar = _Bar()
        with clean_errors():
            key = key_file.read_bytes().strip() if key_file else s.key_bytes()
            if key_file and not key:
                raise fail(f"{key_file} is empty")
            try:
                result = export_to_folder(
                    request,
                    session_factory=database(),
                    key=key,
                    image_root=s.image_dir,
                    out_dir=out,
                    overwrite=overwrite,
                    index_dir=snapshot_index(s.exports_dir),
                    command=request.command(out=out.name, extra=["--key-file", "<key>"] if key_file else []),
                    progress=bar,
                )
            finally:
                bar.close()
        rows = ", ".join(f"{name} {n}" for name, n in result.rows.items())
        skipped = ", ".join(f"{n} {reason}" for reason, n in result.skipped.items())
        typer.echo(
            f"exported {result.kind} to {result.out_dir}: {rows}"
            + (f" (left out: {skipped})" if skipped else "")
        )
        typer.echo(f"snapshot {result.snapshot_hash}")
