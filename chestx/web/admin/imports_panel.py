"""The admin page's imports section: each import of images (files, DICOMweb, the DICOM receiver),
running or finished, with its counts and what was skipped or rejected and why.

Contract: :func:`overview` reads :func:`services.import_runs.recent_imports` (admins only: the
page checks); :func:`imports_html` renders it as escaped HTML, with a ``<progress>`` bar for a
running import whose total is known and a closed ``<details>`` per import listing its skipped
and rejected items (named without PHI by the services). :func:`moving` says whether the page's
timer should keep refreshing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from chestx.web.context import AppContext
from chestx.web.html import esc, table
from services.import_runs import any_moving, recent_imports
from vocab.imports import ImportStatus, Outcome


def overview(ctx: AppContext) -> list[dict[str, Any]]:
    with ctx.read() as session:
        return recent_imports(session=session, limit=15)


def moving(imports: Sequence[Mapping[str, Any]]) -> bool:
    return any_moving(list(imports))


def _when(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else ""


def _status(i: Mapping[str, Any]) -> str:
    if i["stalled"]:
        return f"stalled (no progress since {_when(i['updated_at'])} UTC)"
    return i["status"].label


def _progress(i: Mapping[str, Any]) -> str:
    counts = i["counts"]
    done = sum(counts.values())
    parts = [f"{done}" + (f" / {i['total']}" if i["total"] is not None else "")]
    parts += [f"{counts[o]} {o.label}" for o in Outcome if counts[o]]
    return " · ".join(parts)


def _problems(i: Mapping[str, Any]) -> str:
    """A closed <details> with the skipped and rejected items, grouped by reason."""
    if not i["problems"] and not i["error"]:
        return ""
    by_reason: dict[tuple[str, str], list[str]] = {}
    for outcome, item, reason in i["problems"]:
        by_reason.setdefault((outcome, reason), []).append(item)
    items = "".join(
        f"<li>{esc(outcome)}: {esc(reason)} ({len(names)}: {esc(', '.join(names[:5]))}"
        f"{' ...' if len(names) > 5 else ''})</li>"
        for (outcome, reason), names in by_reason.items()
    )
    error = f'<p class="cx-error">{esc(i["error"])}</p>' if i["error"] else ""
    return (
        f'<details class="cx-import-problems" id="cx-import-problems-{esc(i["id"])}"><summary>Import '
        f"{esc(i['id'])}: what was not imported</summary>{error}<ul>{items}</ul></details>"
    )


def _bar(i: Mapping[str, Any]) -> str:
    if i["status"] is not ImportStatus.running or not i["total"]:
        return ""
    done = min(sum(i["counts"].values()), i["total"])
    return f' <progress max="{int(i["total"])}" value="{done}"></progress>'


_HEADERS = ("Import", "From", "Source", "Status", "Items", "Started (UTC)", "Finished (UTC)")


def _row(i: Mapping[str, Any]) -> str:
    cells = [
        esc(i["id"]), esc(i["kind"].label), esc(i["source"]), esc(_status(i)), esc(_progress(i)) + _bar(i),
        esc(_when(i["started_at"])), esc(_when(i["finished_at"])),
    ]  # fmt: skip
    status = "stalled" if i["stalled"] else i["status"].value
    return (
        f'<tr data-import="{esc(i["id"])}" data-status="{status}">'
        + "".join(f"<td>{c}</td>" for c in cells)
        + "</tr>"
    )


def imports_html(imports: Sequence[Mapping[str, Any]]) -> str:
    """The recent imports as a table, then what each did not import and why."""
    if not imports:
        return table(_HEADERS, [], empty="No import yet: chestx import images | dicomweb, or chestx receive.")
    head = "".join(f"<th>{esc(h)}</th>" for h in _HEADERS)
    body = "".join(_row(i) for i in imports)
    problems = "".join(_problems(i) for i in imports)
    return (
        f'<table class="cx-table" id="cx-imports-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>{problems}"
    )
