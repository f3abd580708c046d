"""The review page's templates: case tables, the whole case view, the answer panel, the pager.

Contract: pure functions of read models and the tab's :class:`~chestx.web.review.state.ReviewState`
to HTML strings (every text escaped by :mod:`chestx.web.html`); no database, no Gradio. The
actions in :mod:`chestx.web.review.actions` call them to fill a :class:`CaseScreen`.
"""

from __future__ import annotations

from dataclasses import dataclass

from chestx.web.auth import UserInfo
from chestx.web.html import (
    TASK_LABELS,
    case_header,
    chip,
    esc,
    facts_block,
    notice,
    paragraphs,
    question_block,
    utc,
)
from chestx.web.review.answer_html import render_answer
from chestx.web.review.chain_html import WAITING, render_chain
from chestx.web.review.state import ReviewState
from chestx.web.viewer import viewer_html
from review_db.types import TaskType
from services.screens import CaseDetail, CaseRow

PAGE_SIZE = 25


@dataclass(frozen=True)
class CaseScreen:
    """Everything the case view shows after opening (or re-rendering) a case."""

    state: ReviewState
    header: str = ""
    viewer: str = ""
    facts: str = ""
    question: str = ""
    report: str = ""
    chain: str = ""
    answer: str = ""
    notice: str = ""
    opened: bool = True  # False: stay on (or go back to) the worklist


def case_table(
    rows: list[CaseRow], *, empty: str, show_holder: bool = False, waiting_chain: bool = False
) -> str:
    """Clickable case rows (``static/table.js`` turns a click or Enter into "open this case").

    A "Why here" column says why each case sits where it is, once a prioritization gave reasons.
    """
    if not rows:
        return f'<p class="cx-muted cx-empty">{esc(empty)}</p>'
    why = any(r.reason for r in rows)
    head = ["Case", "Task", "Question", "Reviews", "Model"] + (["Being reviewed by"] if show_holder else [])
    head += ["Why here"] if why else []
    body = []
    for r in rows:
        cells = [
            f"#{r.id}" + (" " + chip("Demo", "demo") if r.is_demo else ""),
            esc(TASK_LABELS.get(r.task_type, r.task_type)),
            f'<span class="cx-q">{esc(r.question)}</span>',
            chip("Waiting for a chain", "muted") if waiting_chain else esc(r.reviews),
            esc(r.model_version or "—"),
        ]
        if show_holder:
            cells.append(f"{esc(r.holder)} <span class='cx-muted'>until {esc(utc(r.until))}</span>")
        if why:
            cells.append(f'<span class="cx-muted cx-why">{esc(r.reason)}</span>')
        body.append(
            f'<tr data-case="{r.id}" tabindex="0" role="button" aria-label="Open case {r.id}">'
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr>"
        )
    header = "".join(f"<th>{esc(h)}</th>" for h in head)
    return (
        f'<table class="cx-table cx-cases"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def pager(page: int, pages: int, shown: int, total: int) -> str:
    if total <= shown and page == 0:
        return ""
    first = page * PAGE_SIZE + 1
    return (
        f'<p class="cx-muted cx-pageinfo">Cases {first}–{first + shown - 1} of {total} '
        f"(page {page + 1} of {pages}).</p>"
    )


def render_case(
    state: ReviewState,
    detail: CaseDetail,
    user: UserInfo,
    message: str = "",
    kind: str = "info",
    *,
    waiting: str = WAITING,
) -> CaseScreen:
    facts = facts_block(detail.study) + (
        facts_block(detail.prior, title="Prior study") if detail.prior else ""
    )
    chosen = tuple((detail.my_corrected_answer or "").split(",")) if detail.my_corrected_answer else ()
    return CaseScreen(
        state=state,
        header=case_header(detail, user_id=user.id, read_only_reason=state.read_only_reason),
        viewer=viewer_html(detail.id if detail.study else None, detail.study, detail.prior),
        facts=facts,
        question=question_block(detail),
        report=paragraphs(detail.report),
        chain=render_chain(detail, read_only=state.read_only, user_id=user.id, waiting=waiting),
        answer=answer_panel(
            state, verdict=detail.my_answer_verdict, chosen=chosen, comment=detail.my_comment
        ),
        notice=notice(message, kind) if message else "",
    )


def answer_panel(
    state: ReviewState,
    *,
    verdict: str | None = None,
    chosen=(),  # noqa: ANN001
    comment: str = "",
    message: str = "",
) -> str:
    """The answer panel of the open case, pre-filled (after a refused submit, with what was chosen)."""
    return render_answer(
        case_id=state.case_id,
        chain_id=state.chain_id,
        user_id=state.user_id,
        options=state.options,
        model_answer=state.model_answer,
        read_only=state.read_only,
        unverifiable=state.unverifiable,
        verdict=verdict,
        chosen=tuple(chosen or ()),
        comment=comment,
        message=message,
        multiple=state.task_type == TaskType.multiple_choice.value,
    )
