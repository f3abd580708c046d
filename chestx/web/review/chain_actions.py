"""What the chain's buttons and keys do: verdicts, comments, added steps, removals.

Contract: :func:`chain_action` takes the action the browser sent (a small dict: ``kind``,
``request_id``, ids and text) and the session's :class:`~chestx.web.review.state.ReviewState`, does it
in one unit of work and returns the new state and the re-rendered chain. Ids from the browser
are checked against the chain the session has open. The write is its own short unit of work
(on SQLite it holds the single writer slot), and the render reads after it has committed. An
expected failure (the case was taken over, a correction without text...) is not raised: it
comes back as an :class:`Ack` that is not ok, with the message, so the page keeps the
reviewer's draft and shows why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from chestx.web.auth import UserInfo, require
from chestx.web.context import AppContext
from chestx.web.review.chain_html import Ack, render_chain
from chestx.web.review.state import ReviewState
from review_db import store
from review_db.errors import ChestXError, ValidationError
from review_db.store.reviews import MAX_TEXT
from review_db.types import Role
from services import screens
from vocab import Verdict

_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key) or ""
    if not isinstance(value, str):
        raise ValidationError(f"{key} must be text")
    if len(value) > MAX_TEXT:
        raise ValidationError(f"the text is longer than {MAX_TEXT} characters")
    return value


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ValidationError(f"{key} must be a whole number")
    return int(value)


def _needs_text(verdict: object) -> bool:
    """Whether the verdict the browser sent carries the step's corrected text (vocab says which)."""
    return verdict in {v.value for v in Verdict if v.facts.needs_text}


def _verdict_names() -> str:
    names = [v.facts.label.lower() for v in Verdict]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _step_of_chain(session: Session, state: ReviewState, step_id: int) -> int:
    if not screens.step_in_chain(session=session, step_id=step_id, chain_id=state.chain_id):
        raise ValidationError("that step is not part of the chain you have open; reload the case")
    return step_id


def _apply(
    ctx: AppContext, session: Session, user: UserInfo, state: ReviewState, data: Mapping[str, Any]
) -> None:
    kind, rid = data.get("kind"), str(data["request_id"])
    if kind == "verdict":
        verdict = data.get("verdict")
        store.record_verdict(
            session=session,
            step_id=_step_of_chain(session, state, _int(data, "step_id")),
            reviewer_id=user.id,
            verdict=verdict if isinstance(verdict, str) else "",
            corrected_text=_text(data, "text") if _needs_text(verdict) else None,
            comment=_text(data, "comment"),
            request_id=rid,
            lease=ctx.lease,
        )
    elif kind == "comment":
        step_id = _step_of_chain(session, state, _int(data, "step_id"))
        current = store.effective_verdicts(session=session, chain_id=state.chain_id, reviewer_id=user.id)
        previous = current.get((step_id, user.id))
        if previous is None:
            raise ValidationError(f"{_verdict_names()} the step first, then comment on it")
        store.record_verdict(
            session=session,
            step_id=step_id,
            reviewer_id=user.id,
            verdict=previous.verdict,
            corrected_text=previous.corrected_text,
            comment=_text(data, "comment"),
            request_id=rid,
            lease=ctx.lease,
        )
    elif kind == "add_step":
        store.add_step(
            session=session,
            chain_id=state.chain_id,
            reviewer_id=user.id,
            after_position=_int(data, "after"),
            text=_text(data, "text"),
            lease=ctx.lease,
        )
    elif kind == "remove_step":
        step_id = _step_of_chain(session, state, _int(data, "step_id"))
        store.remove_added_step(session=session, step_id=step_id, reviewer_id=user.id, lease=ctx.lease)
    else:
        raise ValidationError(f"unknown action {kind!r}")


def chain_action(
    ctx: AppContext, user: UserInfo | None, state: ReviewState, data: Mapping[str, Any] | None
) -> tuple[ReviewState, str]:
    """Carry out one action from the chain and return (new state, the chain re-rendered)."""
    user = require(user, Role.reviewer)
    data = dict(data or {})
    rid = str(data.get("request_id") or "")
    if not _REQUEST_ID.match(rid):
        return state, render_chain(
            None, read_only=True, ack=Ack("", False, "the action carried no valid request id")
        )
    if state.case_id is None or state.chain_id is None or state.user_id != user.id:
        return state, render_chain(None, read_only=True, ack=Ack(rid, False, "open a case first"))
    ack = Ack(rid)
    if state.read_only:
        ack = Ack(rid, False, state.read_only_reason or "this case is read-only for you")
    elif rid not in state.done:  # a retry of an action already carried out changes nothing
        try:
            # The write alone holds the (SQLite) writer slot; the render reads afterwards.
            with ctx.write(user) as session:
                _apply(ctx, session, user, state, data)
            state = state.remember(rid)
        except ChestXError as exc:  # the unit of work rolled back: nothing of it was written
            ack = Ack(rid, False, f"Not saved: {exc}. Your text is kept; try again.")
    with ctx.read() as session:
        view = open_chain_view(session, state, reviewer_id=user.id)
    return state, render_chain(view, read_only=state.read_only, ack=ack, user_id=user.id)


def open_chain_view(session: Session, state: ReviewState, *, reviewer_id: int) -> screens.ChainView:
    """The tab's open chain as this reviewer sees it (their verdicts, the case's options, the step
    hints where the tab shows them)."""
    return screens.chain_view(
        session=session,
        chain_id=state.chain_id,
        reviewer_id=reviewer_id,
        options=state.options,
        hints=state.hints,
    )
