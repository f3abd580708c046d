"""Templates of the admin's and the researcher's parts of the study page (pure, escaped).

Contract: :func:`studies_html` renders the studies and their progress (the admin's table);
:func:`analysis_html` renders an analysis's tables (the same tables as the export's CSV files,
from :func:`services.reader_study.analysis.tables`) and the download link of the export zip.
"""

from __future__ import annotations

from collections.abc import Sequence

from chestx.web.html import esc, table
from services.reader_study.analysis import Analysis, tables
from services.reader_study.studies import StudySummary

TABLE_TITLES = {
    "accuracy_by_arm": "Accuracy per arm",
    "paired_differences": "Paired differences between arms (McNemar, bootstrap over readers and cases)",
    "accuracy_by_reader": "Accuracy per reader",
    "time_by_arm": "Time per read",
    "confidence_by_arm": "Confidence",
    "step_marks": "Steps readers marked (arms showing the reasoning)",
}


def studies_html(rows: Sequence[StudySummary]) -> str:
    body = [
        (
            s.id, s.name, ", ".join(s.arms), ", ".join(s.readers), s.cases, s.periods, s.washout_days, s.seed,
            f"{s.reads_done} / {s.reads_total}", f"{s.created_at:%Y-%m-%d %H:%M}",
        )
        for s in rows
    ]  # fmt: skip
    headers = [
        "Id",
        "Study",
        "Arms",
        "Readers",
        "Cases",
        "Periods",
        "Washout (days)",
        "Seed",
        "Reads",
        "Created",
    ]
    return table(headers, body, empty="No reader study yet.")


def analysis_html(name: str, analysis: Analysis, *, href: str | None, filename: str) -> str:
    """The analysis's tables, with the export's download link first."""
    link = (
        f'<p><a class="cx-download" id="cx-study-download" href="{esc(href)}" download="{esc(filename)}">'
        f"Download {esc(filename)}</a> (design, randomization, reads, results and figures; once, for "
        "30 minutes)</p>"
        if href
        else ""
    )
    parts = [
        f'<h3 class="cx-h">{esc(name)}</h3><p class="cx-muted">{analysis.reads} reads. Intervals at '
        f"{round(analysis.level * 100)}%; bootstrap of {analysis.bootstrap_reps} resamples of readers and "
        "cases, seeded by the study's seed.</p>",
        link,
    ]
    for key, (headers, rows) in tables(analysis).items():
        parts.append(
            f"<h4>{esc(TABLE_TITLES.get(key, key))}</h4>{table(headers, rows, empty='No reads yet.')}"
        )
    return f'<section id="cx-study-results">{"".join(parts)}</section>'
