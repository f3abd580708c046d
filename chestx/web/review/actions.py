"""The review page's actions apart from the chain: worklist, open, next, renew, release, submit, amend.

Contract: plain functions of (context, user, state, inputs) that run one unit of work each and
return plain results (:class:`CaseScreen`, :class:`WorklistScreen`) rendered by the templates of
:mod:`chestx.web.review.case_html`; no Gradio here, so tests drive them against a real database
without a browser. Expected failures come back as notices.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from chestx.web.auth import UserInfo, require
from chestx.web.context import AppContext
from chestx.web.html import (
    LETTERS,
    case_header,
    counts_block,
    notice,
    utc,
)
from chestx.web.review.case_html import PAGE_SIZE, CaseScreen, case_table, pager, render_case
from chestx.web.review.chain_actions import open_chain_view
from chestx.web.review.chain_html import WAITING, render_chain
from chestx.web.review.state import ReviewState
from review_db import store
from review_db.errors import CaseLocked, ChestXError, NotFound, PermissionDenied
from review_db.models import User
from review_db.store.worklist import WorklistFilter, WorklistOrder
from review_db.types import AnswerVerdict, CaseStatus, Role, TaskType
from services import prioritize, screens
from services.screens import CaseDetail

NEXT_CASE_ATTEMPTS = 40
NEEDS_CHAIN = "needs_chain"  # the status filter's value for open cases waiting for a chain
MINE = "mine"  # the status filter's value for the cases this reviewer has reviewed


@dataclass(frozen=True)
class WorklistScreen:
    counts: str
    table: str
    in_progress: str
    model_choices: tuple[str, ...] = field(default_factory=tuple)
    page: int = 0  # the page shown (0-based, clamped to the pages there are)
    pages: int = 1


def parse_filter(
    task_type: str | None,
    status: str | None,
    model: str | None,
    demo: str | None,
    search: str | None = "",
    order: str | None = "",
) -> WorklistFilter:
    """The worklist filter from the page's controls (unknown values are refused, not guessed)."""
    try:
        return WorklistFilter(
            task_type=TaskType(task_type) if task_type else None,
            status=CaseStatus(status) if status and status not in (NEEDS_CHAIN, MINE) else CaseStatus.open,
            model=str(model) if model else None,
            demo={"demo": True, "real": False}.get(demo or ""),
            search=str(search or "")[:200],
            needs_chain=status == NEEDS_CHAIN,
            mine=status == MINE,
            order=WorklistOrder(order) if order else WorklistOrder.priority,
        )
    except ValueError as exc:
        raise PermissionDenied(f"unknown filter value: {exc}") from None


def worklist(ctx: AppContext, user: UserInfo | None, flt: WorklistFilter, page: int = 0) -> WorklistScreen:
    """One page of the cases waiting for ``user`` (or waiting for a chain), with the counts."""
    user = require(user, Role.reviewer)
    with ctx.read() as session:
        rows, total = screens.worklist_rows(
            session=session, reviewer_id=user.id, flt=flt, limit=PAGE_SIZE, offset=max(0, page) * PAGE_SIZE
        )
        pages = max(1, -(-total // PAGE_SIZE))
        if page >= pages and total:  # the list shrank under the reviewer: show its last page
            page = pages - 1
            rows, total = screens.worklist_rows(
                session=session, reviewer_id=user.id, flt=flt, limit=PAGE_SIZE, offset=page * PAGE_SIZE
            )
        counts = store.status_counts(session=session, reviewer_id=user.id)
        others = screens.cases_in_progress(session=session, exclude_reviewer_id=user.id)
        models = tuple(screens.model_choices(session=session))
    if flt.needs_chain:
        empty = "No open case is waiting for a chain."
    elif flt.mine:
        empty = "You have not submitted a review with these filters yet."
    else:
        empty = "No case is waiting for you with these filters."
    table = case_table(rows, empty=empty, waiting_chain=flt.needs_chain)
    table += pager(max(0, page), pages, len(rows), total)
    progress = case_table(others, empty="Nobody else is reviewing a case right now.", show_holder=True)
    return WorklistScreen(counts_block(counts), table, progress, models, max(0, page), pages)


def hints_of(ctx: AppContext, user: UserInfo | None) -> prioritize.Hints:
    """Whether ``user`` sees step hints: their own choice, or an admin's for everyone."""
    if user is None:
        return prioritize.Hints(False, False)
    with ctx.read() as session:
        return prioritize.hints(session=session, user_id=user.id)


def set_hints(
    ctx: AppContext, user: UserInfo | None, state: ReviewState, on: bool
) -> tuple[ReviewState, str, str]:
    """Store ``user``'s step-hints choice; (the new state, the open chain drawn again or "", a notice)."""
    user = require(user, Role.reviewer)
    with ctx.write(user) as session:
        prioritize.set_my_hints(session=session, user_id=user.id, on=on)
        shown = prioritize.hints(session=session, user_id=user.id).shown
    state = replace(state, hints=shown)
    chain = ""
    if state.chain_id is not None:
        with ctx.read() as session:
            view = open_chain_view(session, state, reviewer_id=user.id)
        chain = render_chain(view, read_only=state.read_only, user_id=user.id)
    if shown:
        said = (
            "Step hints on: a bar beside each step shows the PRM's risk that it is wrong (the figure "
            "in its tooltip). A hint, not a verdict."
        )
    else:
        said = "Step hints off."
    return state, chain, notice(said, "info")


def _locked_reason(holder: str, until: dt.datetime) -> str:
    return (
        f"{holder} is reviewing this case until {utc(until)}. You can read it; "
        "it opens for you when they finish or their claim lapses."
    )


SUBMITTED = (
    "You have submitted your review of this case: it is final and shown for reading. "
    "To change it, choose 'Amend my review'."
)


def _claim(
    ctx: AppContext, user: UserInfo, detail: CaseDetail, *, claim: bool
) -> tuple[str, screens.LockInfo | None]:
    """(why the case is read-only for ``user`` or "", the lease now), claiming it if asked.

    The claim is its own short unit of work: on SQLite the writer slot is held for the claim
    alone, not for the reads around it.
    """
    if detail.submitted:
        return SUBMITTED, detail.lock
    if detail.status != CaseStatus.open.value and not detail.amending:
        return f"This case is {detail.status}: it is shown for reading only.", detail.lock
    if not claim:
        lock = detail.lock
        if lock is not None and lock.holder_id != user.id:
            return _locked_reason(lock.holder, lock.expires_at), lock
        return "", lock
    try:
        with ctx.write(user) as session:
            held = store.claim_case(session=session, case_id=detail.id, reviewer_id=user.id, lease=ctx.lease)
            until = held.expires_at
    except CaseLocked as exc:
        return _locked_reason(exc.holder, exc.expires_at), screens.LockInfo(exc.holder, -1, exc.expires_at)
    except ChestXError as exc:  # e.g. submitted from another tab a moment ago
        return f"{str(exc)[:1].upper()}{str(exc)[1:]}.", detail.lock
    return "", screens.LockInfo(user.username, user.id, until)


def open_case(
    ctx: AppContext,
    user: UserInfo | None,
    state: ReviewState,
    case_id: int | None,
    *,
    claim: bool = True,
    message: str = "",
    kind: str = "info",
) -> CaseScreen:
    """Open a case: claim it (or explain who holds it) and render the whole case view."""
    user = require(user, Role.reviewer)
    if not case_id:
        return CaseScreen(state, notice=notice("Choose a case first.", "error"), opened=False)
    with ctx.read() as session:
        orm_user = session.get(User, user.id)
        detail = None
        if screens.may_view_case(session=session, user=orm_user, case_id=int(case_id)):
            detail = screens.case_detail(
                session=session, case_id=int(case_id), reviewer_id=user.id, hints=state.hints
            )
    if detail is None:
        missing = notice(f"Case {case_id} does not exist or is not yours to see.", "error")
        return CaseScreen(state, notice=missing, opened=False)
    reason, lock = _claim(ctx, user, detail, claim=claim)
    if not reason and detail.chain_id is not None and detail.unusable:
        reason = "This chain was judged unusable: the case waits for a fresh chain."
    new_state = state.opened(
        user_id=user.id,
        case_id=detail.id,
        chain_id=detail.chain_id,
        read_only=bool(reason),
        read_only_reason=reason,
        options=detail.options,
        task_type=detail.task_type,
        model_answer=detail.final_answer,
        submitted=detail.submitted,
        unverifiable=detail.unverifiable,
    )
    return render_case(
        new_state, replace(detail, lock=lock), user, message, kind, waiting=_waiting_text(ctx, detail)
    )


def _waiting_text(ctx: AppContext, detail: CaseDetail) -> str:
    if ctx.can_generate:
        return WAITING + " Ask the model for one below."
    hint = " (or `--backend report`: it has a report)" if detail.report else ""
    return (
        f"{WAITING} No model is configured for this app: an admin sets CHESTX_MODEL_PATH or "
        f"CHESTX_OPENAI_BASE_URL, or runs `chestx reason {detail.id} --backend hf|openai`{hint}."
    )


def next_case(ctx: AppContext, user: UserInfo | None, state: ReviewState, flt: WorklistFilter) -> CaseScreen:
    """Claim the next waiting case (by the worklist's order) and open it."""
    user = require(user, Role.reviewer)
    with ctx.write(user) as session:
        # Many reviewers pressing "Next case" at once all reach for the same first cases; let
        # each try a few more candidates than the service's default before saying "none left".
        case = store.next_case(
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
                store.renew_lock(session=session, case_id=state.case_id, reviewer_id=user.id, lease=ctx.lease)
        except CaseLocked as exc:
            reason = f"{exc.holder} took this case over (your claim had lapsed) until {utc(exc.expires_at)}."
            state = replace(state, read_only=True, read_only_reason=reason)
        except ChestXError:  # submitted from another tab: this one is read-only now
            state = replace(state, read_only=True, read_only_reason=SUBMITTED, submitted=True)
    with ctx.read() as session:
        detail = screens.case_detail(session=session, case_id=state.case_id, reviewer_id=user.id)
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
            store.release_case(session=session, case_id=state.case_id, reviewer_id=user.id)
    return state.closed()


def amend(ctx: AppContext, user: UserInfo | None, state: ReviewState) -> CaseScreen:
    """Reopen this reviewer's submitted review of the open chain for amendment (audited)."""
    user = require(user, Role.reviewer)
    if state.case_id is None or state.chain_id is None or not state.submitted:
        return CaseScreen(state, notice=notice("Open a case you have reviewed first.", "error"))
    try:
        with ctx.write(user) as session:
            store.reopen_review(
                session=session, chain_id=state.chain_id, reviewer_id=user.id, lease=ctx.lease
            )
    except ChestXError as exc:
        return CaseScreen(state, notice=notice(f"Not reopened: {exc}.", "error"))
    message = (
        "Your review is reopened for amendment: it does not count until you submit it again. "
        "Your earlier verdicts are kept; change what needs changing and submit."
    )
    return open_case(ctx, user, state, state.case_id, claim=False, message=message, kind="ok")


def _check_answer(state: ReviewState, verdict: str | None, letters: list[str], comment: str) -> str | None:
    """Why the answer cannot be submitted as given (the service checks it again), or None."""
    if verdict not in {v.value for v in AnswerVerdict}:
        return "Say whether you agree with the model's answer before submitting (keys y / n / u)."
    if state.unverifiable and verdict != AnswerVerdict.unusable.value:
        return f"This chain cannot be verified ({state.unverifiable}): mark it unusable and say why."
    if verdict == AnswerVerdict.unusable.value and not comment.strip():
        return "Say in the note why the chain is unusable."
    if verdict == AnswerVerdict.disagree.value:
        if not letters:
            return "You disagree with the model's answer: pick the right option first."
        if state.task_type != TaskType.multiple_choice.value and len(letters) != 1:
            return "This question has one right option: pick exactly one."
    return None


def submit(
    ctx: AppContext,
    user: UserInfo | None,
    state: ReviewState,
    answer_verdict: str | None,
    chosen: list[str] | None,
    comment: str | None,
    *,
    set_for: str | None = None,
) -> tuple[bool, str]:
    """Submit the review; (True, message) on success, (False, why not) otherwise.

    ``set_for`` is the form key (case and chain) the verdict was chosen for in the browser: a
    verdict chosen for another case (a form the browser carried over) is refused, not stored.
    """
    user = require(user, Role.reviewer)
    if state.case_id is None or state.chain_id is None:
        return False, "Open a case first."
    if state.read_only:
        return False, state.read_only_reason or "This case is read-only for you."
    if answer_verdict is not None and set_for != state.form_key:
        return False, "Say whether you agree with the model's answer on this case before submitting."
    letters = sorted({c for c in (chosen or []) if c in LETTERS[: len(state.options)]})
    comment = comment or ""
    refused = _check_answer(state, answer_verdict, letters, comment)
    if refused:
        return False, refused
    spent = state.time_spent_s
    try:
        with ctx.write(user) as session:
            store.submit_review(
                session=session,
                chain_id=state.chain_id,
                reviewer_id=user.id,
                answer_verdict=answer_verdict,
                corrected_answer=",".join(letters)
                if answer_verdict == AnswerVerdict.disagree.value
                else None,
                comment=comment,
                time_spent_s=spent,
                lease=ctx.lease,
            )
    except (ChestXError, NotFound, PermissionDenied) as exc:
        return False, f"Not submitted: {exc}. Everything you entered is kept."
    minutes, seconds = divmod(int(spent), 60)
    outcome = " (chain marked unusable)" if answer_verdict == AnswerVerdict.unusable.value else ""
    return True, f"Review of case {state.case_id} submitted{outcome} ({minutes} min {seconds:02d} s)."
