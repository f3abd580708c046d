"""Small HTML builders for the pages: every piece of data goes through :func:`esc`.

Contract: pure functions from plain values to HTML strings. Model text, reviewer text, reports,
questions, usernames: all of it is untrusted and is escaped here, once, at the point it becomes
HTML (``html.escape`` with quotes), so a ``<script>`` or ``<img onerror>`` in a step is shown as
text. Nothing here passes through Markdown (which would render raw HTML).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence

from services.screens import CaseDetail, LockInfo, StudyFacts
from vocab import CaseStatus, Role, TaskType, flag_label

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Task-type labels by stored value, for the pages' filters and headings (the vocabulary's own).
TASK_LABELS = {t.value: t.label for t in TaskType}


# Pages of the app: (path, label, roles besides admin that may open it).
PAGES: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("/review/", "Review", frozenset({Role.reviewer})),
    ("/teach/", "Teach", frozenset({Role.educator})),
    ("/dashboards/", "Dashboards", frozenset({Role.researcher})),
    ("/export/", "Export", frozenset({Role.researcher})),
    ("/study/", "Reader study", frozenset({Role.reviewer, Role.researcher})),
    ("/admin/", "Admin", frozenset()),
)


def esc(value: object) -> str:
    """``value`` as HTML text (quotes escaped too, so it is safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def paragraphs(text: str | None) -> str:
    """Plain text as escaped paragraphs (blank lines split paragraphs, newlines become <br>)."""
    if not text or not text.strip():
        return ""
    blocks = [b for b in text.strip().split("\n\n") if b.strip()]
    return "".join("<p>" + esc(b.strip()).replace("\n", "<br>") + "</p>" for b in blocks)


def utc(moment: dt.datetime | None, *, now: dt.datetime | None = None) -> str:
    """'14:32 UTC (in 12 min)' for a future moment, '14:32 UTC' otherwise."""
    if moment is None:
        return ""
    now = now or dt.datetime.now(dt.UTC)
    label = f"{moment:%H:%M} UTC"
    minutes = round((moment - now).total_seconds() / 60)
    if minutes > 0:
        label += f" (in {minutes} min)"
    return label


def chip(label: str, kind: str) -> str:
    """A coloured label; ``kind`` selects the colour (a fixed CSS class, never user input)."""
    return f'<span class="cx-chip cx-{esc(kind)}">{esc(label)}</span>'


def nav(*, username: str, role: Role, active: str) -> str:
    """The top bar: app name, the pages this role may open, the user and a logout button."""
    links = []
    for path, label, roles in PAGES:
        if role is Role.admin or role in roles:
            current = ' aria-current="page" class="cx-active"' if path == active else ""
            links.append(f'<a href="{esc(path)}"{current}>{esc(label)}</a>')
    return (
        '<header class="cx-nav"><span class="cx-brand">ChestX Review</span>'
        f'<nav>{"".join(links)}</nav><span class="cx-user">{esc(username)} · {esc(role.value)}</span>'
        '<form method="post" action="/logout"><button type="submit" class="cx-logout">Log out</button></form>'
        "</header>"
    )


def option_lines(options: Sequence[str], *, mark: Iterable[str] = ()) -> str:
    marked = set(mark)
    items = []
    for letter, text in zip(LETTERS, options, strict=False):
        cls = ' class="cx-marked"' if letter in marked else ""
        items.append(f"<li{cls}><b>{letter})</b> {esc(text)}</li>")
    return f'<ol class="cx-options">{"".join(items)}</ol>' if items else ""


def answer_text(answer: str | None, options: Sequence[str]) -> str:
    """'B) Multiple bilateral nodules' for an answer in normal form; '—' for none."""
    if not answer:
        return "—"
    parts = []
    for letter in answer.split(","):
        idx = LETTERS.find(letter)
        parts.append(f"{letter}) {options[idx]}" if 0 <= idx < len(options) else letter)
    return "; ".join(parts)


def question_block(detail: CaseDetail) -> str:
    return (
        f'<section class="cx-question"><div class="cx-kicker">{esc(TASK_LABELS.get(detail.task_type, ""))}'
        f"</div><h3>{esc(detail.question)}</h3>{option_lines(detail.options)}</section>"
    )


def facts_block(study: StudyFacts | None, *, title: str = "Study") -> str:
    """De-identified study facts as a definition list."""
    if study is None:
        return (
            f'<section class="cx-facts"><h4>{esc(title)}</h4>'
            '<p class="cx-muted">No image for this case.</p></section>'
        )
    rows = [
        ("Modality", study.modality or "—"),
        ("View", study.view or "—"),
        ("Body part", study.body_part or "—"),
        ("Date (shifted)", study.acquisition_date.isoformat() if study.acquisition_date else "—"),
        ("Size", f"{study.width} × {study.height}"),
        ("Bits stored", study.bits_stored or "—"),
        ("Photometric", study.photometric or "—"),
        ("Source", study.source_format),
        ("Patient", study.patient_pseudonym),
    ]
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    warn = "".join(f"<li>{esc(w)}</li>" for w in study.warnings)
    demo = chip("Demo content", "demo") if study.is_demo else ""
    warnings = f'<ul class="cx-warnings">{warn}</ul>' if warn else ""
    return f'<section class="cx-facts"><h4>{esc(title)} {demo}</h4><dl>{items}</dl>{warnings}</section>'


def lock_line(lock: LockInfo | None, *, user_id: int, read_only_reason: str = "") -> str:
    if read_only_reason:
        return chip("Read-only", "readonly") + f' <span class="cx-lockmsg">{esc(read_only_reason)}</span>'
    if lock is not None and lock.holder_id == user_id:
        return (
            chip("Claimed by you", "mine")
            + f' <span class="cx-muted">until {esc(utc(lock.expires_at))}</span>'
        )
    return chip("Not claimed", "muted")


def _status_label(status: str) -> str:
    try:
        return CaseStatus(status).label
    except ValueError:
        return status.capitalize()


def case_header(detail: CaseDetail, *, user_id: int, read_only_reason: str = "") -> str:
    """Case number, task, demo badge, lease state and progress."""
    demo = chip("Demo", "demo") if detail.is_demo else ""
    status = chip(_status_label(detail.status), "status")
    source = esc(detail.model_version or detail.chain_source or "no chain")
    flags = "".join(chip(flag_label(f), "flag") for f in detail.chain_flags)
    return (
        f'<div class="cx-casehead" data-case-id="{detail.id}"><h2>Case {detail.id}</h2>{demo}{status}'
        f'<span class="cx-muted">chain: {source}</span>{flags}'
        '<button type="button" class="cx-keys" data-help title="Keyboard shortcuts">'
        "Keys <kbd>?</kbd></button>"
        f'<div class="cx-lock">{lock_line(detail.lock, user_id=user_id, read_only_reason=read_only_reason)}'
        "</div>"
        "</div>"
    )


def notice(message: str, kind: str = "info") -> str:
    """A message box; ``kind`` is info | ok | error (fixed classes)."""
    if not message:
        return ""
    role = ' role="alert"' if kind == "error" else ' role="status"'
    return f'<div class="cx-notice cx-{esc(kind)}"{role}>{esc(message)}</div>'


def counts_block(counts: dict[str, int]) -> str:
    labels = (
        ("waiting", "Waiting for you"),
        ("mine", "Reviewed by you"),
        ("open", "Open"),
        ("verified", "Verified"),
    )
    items = "".join(
        f'<div class="cx-count"><b>{int(counts.get(k, 0))}</b><span>{esc(label)}</span></div>'
        for k, label in labels
    )
    return f'<div class="cx-counts">{items}</div>'


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, empty: str = "Nothing here yet."
) -> str:
    """A plain escaped table (admin and placeholder pages)."""
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="cx-muted">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return f'<table class="cx-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
