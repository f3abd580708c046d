"""``chestx export sft|prm|pairs|records --out DIR``: de-identified datasets of verified chains.

A thin wrapper over :func:`exports.build_export` with a tqdm progress bar. Every export
is also recorded under ``CHESTX_HOME/exports/.index`` so that ``--since`` takes a snapshot hash.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from chestx.cli.common import clean_errors, database, fail, settings


class _Bar:
    """:class:`exports.Progress` on a tqdm bar (on stderr, so stdout stays parseable)."""

    def __init__(self) -> None:
        self.bar = None

    def start(self, total: int | None, unit: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit=f" {unit}", unit_scale=True, desc="exporting", leave=False)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _command(kind: str, out: Path, options: dict[str, object]) -> str:
    """The command line for the dataset card: usernames, key files and folders' parents left out."""
    parts = ["chestx", "export", kind, "--out", out.name]
    for flag, value in options.items():
        if value in (None, False, (), []):
            continue
        if flag == "--reviewer":
            parts += [flag, f"<{len(value)} named>"]
        elif flag == "--key-file":
            parts += [flag, "<key>"]
        elif value is True:
            parts.append(flag)
        elif isinstance(value, list | tuple):
            for item in value:
                parts += [flag, str(item)]
        else:
            parts += [flag, Path(str(value)).name if flag == "--since" else str(value)]
    return " ".join(parts)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        kind: str = typer.Argument(..., help="sft | prm | pairs | records"),
        out: Path = typer.Option(..., "--out", help="Folder to create (refused if it exists)."),
        fmt: str = typer.Option("jsonl", "--format", help="jsonl | parquet"),
        images: str | None = typer.Option(None, help="png | dicom | none (default: png; none for prm)"),
        policy: str = typer.Option(
            "adjudicator", help="Several reviewers: unanimous | majority | adjudicator"
        ),
        date_from: dt.datetime | None = typer.Option(None, "--from", help="Latest review at or after (UTC)."),
        date_to: dt.datetime | None = typer.Option(None, "--to", help="Latest review before (UTC)."),
        task_type: list[str] = typer.Option([], "--task-type", help="Only this task type (repeat)."),
        model_version: list[str] = typer.Option(
            [], "--model-version", help="Only chains of this model (repeat)."
        ),
        reviewer: list[str] = typer.Option([], "--reviewer", help="Only this reviewer's reviews (repeat)."),
        min_reviews: int | None = typer.Option(
            None, min=0, help="Submitted reviews a chain needs (default 1)."
        ),
        only_agreed: bool = typer.Option(False, "--only-agreed", help="Only chains all reviewers agree on."),
        include_unverified: bool = typer.Option(False, help="Also cases short of their required reviews."),
        include_demo: bool = typer.Option(False, help="Also the demo cases."),
        include_reports: bool = typer.Option(
            False, help="records: add report texts (free text, not scrubbed)."
        ),
        since: str | None = typer.Option(
            None, help="Only what changed since this export (folder or snapshot)."
        ),
        seed: int = typer.Option(0, help="Split seed: keep it fixed so that test stays test."),
        validation_share: float = typer.Option(0.1, help="Share of patients in validation."),
        test_share: float = typer.Option(0.1, help="Share of patients in test (held out)."),
        key_file: Path | None = typer.Option(None, help="File holding the export pseudonym key."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier export at --out."),
    ) -> None:
        """Export verified chains as a de-identified dataset (TRL rows or full records)."""
        from exports import ExportFilter, build_export
        from exports.snapshots import remember, resolve_since

        s = settings()
        index_dir = s.exports_dir / ".index"
        options = {
            "--format": fmt, "--images": images, "--policy": policy, "--from": date_from, "--to": date_to,
            "--task-type": task_type, "--model-version": model_version, "--reviewer": reviewer,
            "--min-reviews": min_reviews, "--only-agreed": only_agreed,
            "--include-unverified": include_unverified, "--include-demo": include_demo,
            "--include-reports": include_reports, "--since": since, "--seed": seed,
            "--validation-share": validation_share, "--test-share": test_share, "--key-file": key_file,
        }  # fmt: skip
        bar = _Bar()
        with clean_errors():
            key = key_file.read_bytes().strip() if key_file else s.key_bytes()
            if key_file and not key:
                raise fail(f"{key_file} is empty")
            filters = ExportFilter(
                reviewed_from=_utc(date_from),
                reviewed_to=_utc(date_to),
                task_types=tuple(task_type),
                model_versions=tuple(model_version),
                reviewers=tuple(reviewer),
                min_reviews=min_reviews,
                only_agreed=only_agreed,
                only_verified=False if include_unverified else None,
                include_demo=include_demo,
            )
            try:
                result = build_export(
                    session_factory=database(),
                    kind=kind,
                    out_dir=out,
                    key=key,
                    image_root=s.image_dir,
                    fmt=fmt,
                    filters=filters,
                    split_seed=seed,
                    validation_share=validation_share,
                    test_share=test_share,
                    policy=policy,
                    images=images,
                    overwrite=overwrite,
                    since=resolve_since(since, index_dir) if since else None,
                    include_reports=include_reports,
                    command=_command(kind, out, options),
                    progress=bar,
                )
            finally:
                bar.close()
            remember(index_dir, result)
        rows = ", ".join(f"{name} {n}" for name, n in result.rows.items())
        skipped = ", ".join(f"{n} {reason}" for reason, n in result.skipped.items())
        typer.echo(
            f"exported {result.kind} to {result.out_dir}: {rows}"
            + (f" (left out: {skipped})" if skipped else "")
        )
        typer.echo(f"snapshot {result.snapshot_hash}")
