"""The review page's actions apart from the chain: worklist, open, next, renew, release, submit.

Contract: plain functions of (context, user, state, inputs) that run one unit of work each and
return plain results (:class:`CaseScreen`, :class:`WorklistScreen`); no Gradio here, so tests
drive them against a real database without a browser. Expected failures come back as notices.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from chestx.web.answer_html import render_answer
from chestx.web.auth import UserInfo, require
from chestx.web.chain_html import render_chain
from chestx.web.context import AppContext
from chestx.web.html import (
    LETTERS,
    TASK_LABELS,
    case_header,
    chip,
    counts_block,
    esc,
    facts_block,
    notice,
    paragraphs,
    question_block,
    utc,
)
from chestx.web.state import ReviewState
from chestx.web.viewer import viewer_html
from review_db import services
from review_db.errors import CaseLocked, ChestXError, NotFound, PermissionDenied
from review_db.models import User
from review_db.services import app_queries
from review_db.services.app_queries import CaseDetail, CaseRow
from review_db.services.worklist import WorklistFilter
from review_db.types import CaseStatus, Role, TaskType

NEXT_CASE_ATTEMPTS = 40


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


@dataclass(frozen=True)
class WorklistScreen:
    counts: str
    table: str
    in_progress: str
    model_choices: tuple[tuple[str, int], ...] = field(default_factory=tuple)


def parse_filter(
    task_type: str | None, status: str | None, model_id: int | None, demo: str | None
) -> WorklistFilter:
    return WorklistFilter(
        task_type=TaskType(task_type) if task_type else None,
        status=CaseStatus(status) if status else CaseStatus.open,
        model_version_id=int(model_id) if model_id else None,
        demo={"demo": True, "real": False}.get(demo or ""),
    )


def case_table(rows: list[CaseRow], *, empty: str, show_holder: bool = False) -> str:
    """Clickable case rows (``static/table.js`` turns a click or Enter into "open this case")."""
    if not rows:
        return f'<p class="cx-muted cx-empty">{esc(empty)}</p>'
    head = ["Case", "Task", "Question", "Reviews", "Model"] + (["Being reviewed by"] if show_holder else [])
    body = []
    for r in rows:
        cells = [
            f"#{r.id}" + (" " + chip("Demo", "demo") if r.is_demo else ""),
            esc(TASK_LABELS.get(r.task_type, r.task_type)),
            f'<span class="cx-q">{esc(r.question)}</span>',
            esc(r.reviews),
            esc(r.model_version or "—"),
        ]
        if show_holder:
            cells.append(f"{esc(r.holder)} <span class='cx-muted'>until {esc(utc(r.until))}</span>")
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


def worklist(ctx: AppContext, user: UserInfo | None, flt: WorklistFilter) -> WorklistScreen:
    user = require(user, Role.reviewer)
    with ctx.read() as session:
        rows, total = app_queries.worklist_rows(session=session, reviewer_id=user.id, flt=flt)
        counts = services.status_counts(session=session, reviewer_id=user.id)
        others = app_queries.cases_in_progress(session=session, exclude_reviewer_id=user.id)
        models = tuple(app_queries.model_version_choices(session=session))
    table = case_table(rows, empty="No case is waiting for you with these filters.")
    if total > len(rows):
        table += f'<p class="cx-muted">Showing {len(rows)} of {total}.</p>'
    progress = case_table(others, empty="Nobody else is reviewing a case right now.", show_holder=True)
    return WorklistScreen(counts_block(counts), table, progress, models)


def _locked_reason(holder: str, until: dt.datetime) -> str:
    return (
        f"{holder} is reviewing this case until {utc(until)}. You can read it; "
        "it opens for you when they finish or their claim lapses."
    )


def _claim(
    ctx: AppContext, user: UserInfo, detail: CaseDetail, *, claim: bool
) -> tuple[str, app_queries.LockInfo | None]:
    """(why the case is read-only for ``user`` or "", the lease now), claiming it if asked.

    The claim is its own short unit of work: on SQLite the writer slot is held for the claim
    alone, not for the reads around it.
    """
    if detail.submitted:
        return "You have submitted your review of this case.", detail.lock
    if detail.status != CaseStatus.open.value:
        return f"This case is {detail.status}: it is shown for reading only.", detail.lock
    if not claim:
        lock = detail.lock
        if lock is not None and lock.holder_id != user.id:
            return _locked_reason(lock.holder, lock.expires_at), lock
        return "", lock
    try:
        with ctx.write(user) as session:
            held = services.claim_case(
                session=session, case_id=detail.id, reviewer_id=user.id, lease=ctx.lease
            )
            until = held.expires_at
    except CaseLocked as exc:
        return _locked_reason(exc.holder, exc.expires_at), app_queries.LockInfo(
            exc.holder, -1, exc.expires_at
        )
    return "", app_queries.LockInfo(user.username, user.id, until)


def open_case(
    ctx: AppContext, user: UserInfo | None, state: ReviewState, case_id: int | None, *, claim: bool = True
) -> CaseScreen:
    """Open a case: claim it (or explain who holds it) and render the whole case view."""
    user = require(user, Role.reviewer)
    if not case_id:
        return CaseScreen(state, notice=notice("Choose a case first.", "error"), opened=False)
    with ctx.read() as session:
        orm_user = session.get(User, user.id)
        detail = None
        if app_queries.may_view_case(session=session, user=orm_user, case_id=int(case_id)):
            detail = app_queries.case_detail(session=session, case_id=int(case_id), reviewer_id=user.id)
    if detail is None:
        missing = notice(f"Case {case_id} does not exist or is not yours to see.", "error")
        return CaseScreen(state, notice=missing, opened=False)
    reason, lock = _claim(ctx, user, detail, claim=claim)
    new_state = state.opened(
        user_id=user.id,
        case_id=detail.id,
        chain_id=detail.chain_id,
        read_only=bool(reason),
        read_only_reason=reason,
        options=detail.options,
        task_type=detail.task_type,
        model_answer=detail.final_answer,
    )
    return render_case(new_state, replace(detail, lock=lock), user)


def render_case(
    state: ReviewState, detail: CaseDetail, user: UserInfo, message: str = "", kind: str = "info"
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
        chain=render_chain(detail, read_only=state.read_only),
        answer=answer_panel(state, verdict=detail.my_answer_verdict, chosen=chosen),
        notice=notice(message, kind) if message else "",
    )


def answer_panel(
    state: ReviewState,
    *,
    verdict: str | None = None,
    chosen=(),
    comment: str = "",
    message: str = "",  # noqa: ANN001
) -> str:
    """The answer panel of the open case, pre-filled (after a refused submit, with what was chosen)."""
    return render_answer(
        case_id=state.case_id,
        options=state.options,
        model_answer=state.model_answer,
        read_only=state.read_only,
        verdict=verdict,
        chosen=tuple(chosen or ()),
        comment=comment,
        message=message,
        multiple=state.task_type == TaskType.multiple_choice.value,
    )


def next_case(ctx: AppContext, user: UserInfo | None, state: ReviewState, flt: WorklistFilter) -> CaseScreen:
    """Claim the next waiting case (by priority and age) and open it."""
    user = require(user, Role.reviewer)
    with ctx.write(user) as session:
        # Many reviewers pressing "Next case" at once all reach for the same first cases; let
        # each try a few more candidates than the service's default before saying "none left".
        case = services.next_case(
            session=session, reviewer_id=user.id, lease=ctx.lease, flt=flt, attempts=NEXT_CASE_ATTEMPTS
        )
        case_id = case.id if case else None
    if case_id is None:
        return CaseScreen(state, notice=notice("No case is waiting for you. Well done.", "ok"), opened=False)
    return open_case(ctx, user, state, case_id, claim=False)  # claimed just now


def renew(ctx: AppContext, user: UserInfo | None, state: ReviewState) -> tuple[ReviewState, str]:
    """Keep the lease while the case is open; say so if it was lost, or if a held case came free."""
    user = require(user, Role.reviewer)
    if state.case_id is None:
        return state, ""
    if not state.read_only:
        try:
            with ctx.write(user) as session:
                services.renew_lock(
                    session=session, case_id=state.case_id, reviewer_id=user.id, lease=ctx.lease
                )
        except CaseLocked as exc:
            reason = f"{exc.holder} took this case over (your claim had lapsed) until {utc(exc.expires_at)}."
            state = replace(state, read_only=True, read_only_reason=reason)
    with ctx.read() as session:
        detail = app_queries.case_detail(session=session, case_id=state.case_id, reviewer_id=user.id)
    if detail is None:
        return state.closed(), ""
    reason = state.read_only_reason
    if (
        state.read_only
        and detail.lock is None
        and detail.status == CaseStatus.open.value
        and not detail.submitted
    ):
        reason += " The case is free now: open it again to claim it."
    return state, case_header(detail, user_id=user.id, read_only_reason=reason)


def release(ctx: AppContext, user: UserInfo | None, state: ReviewState) -> ReviewState:
    """Give the case back (the reviewer leaves it for someone else)."""
    user = require(user, Role.reviewer)
    if state.case_id is not None and not state.read_only:
        with ctx.write(user) as session:
            services.release_case(session=session, case_id=state.case_id, reviewer_id=user.id)
    return state.closed()


def submit(
    ctx: AppContext,
    user: UserInfo | None,
    state: ReviewState,
    answer_verdict: str | None,
    chosen: list[str] | None,
    comment: str | None,
) -> tuple[bool, str]:
    """Submit the review; (True, message) on success, (False, why not) otherwise."""
    user = require(user, Role.reviewer)
    if state.case_id is None or state.chain_id is None:
        return False, "Open a case first."
    if state.read_only:
        return False, state.read_only_reason or "This case is read-only for you."
    if answer_verdict not in ("agree", "disagree"):
        return False, "Say whether you agree with the model's answer before submitting."
    letters = sorted({c for c in (chosen or []) if c in LETTERS[: len(state.options)]})
    if answer_verdict == "disagree":
        if not letters:
            return False, "You disagree with the answer: pick the right option(s) first."
        if state.task_type != TaskType.multiple_choice.value and len(letters) != 1:
            return False, "This question has one right option: pick exactly one."
    spent = state.time_spent_s
    try:
        with ctx.write(user) as session:
            services.submit_review(
                session=session,
                chain_id=state.chain_id,
                reviewer_id=user.id,
                answer_verdict=answer_verdict,
                corrected_answer=",".join(letters) if answer_verdict == "disagree" else None,
                comment=comment or "",
                time_spent_s=spent,
                lease=ctx.lease,
            )
    except (ChestXError, NotFound, PermissionDenied) as exc:
        return False, f"Not submitted: {exc}. Everything you entered is kept."
    minutes, seconds = divmod(int(spent), 60)
    return True, f"Review of case {state.case_id} submitted ({minutes} min {seconds:02d} s)."
