"""Ask the configured reasoner for a fresh chain and stream it into the page.

Contract: :func:`stream_fresh_chain` is a generator of ``(state, chain_html, notice_html)``: it
maps the backend's typed events (:mod:`reasoner.events`) to renders as they come, and at the end
stores the chain whole through :func:`services.generation.store_chain` (flagged incomplete when
generation stopped early) and yields it ready for review. What to ask and how to store it is
:mod:`services.generation`'s, shared with ``chestx reason``; here is only the page's side.
Closing the generator (the reviewer pressed Stop, or left) cancels generation. The UI never
parses model text itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from chestx.web.auth import UserInfo, require
from chestx.web.context import AppContext
from chestx.web.html import notice
from chestx.web.review.chain_actions import open_chain_view
from chestx.web.review.chain_html import render_chain, render_stream
from chestx.web.review.state import ReviewState
from imaging.storage import load_payload
from reasoner.events import Answer, Error, Finished, StepDone, TextDelta
from review_db import store
from review_db.models import Study
from review_db.types import Role
from services import generation

_FRAME_S = 0.08  # at most ~12 renders a second: smooth enough, and cheap for the queue


def _request(ctx: AppContext, case_id: int) -> Any:
    """The request for the case, its images rendered through the app's cache."""

    def render(study: Study) -> Any:
        data = lambda: load_payload(root=ctx.settings.image_dir, relative_path=study.stored_path)  # noqa: E731
        rendered = ctx.render_cache.render(sha256=study.image_sha256, data=data, max_side=1024)
        return rendered.to_pil().convert("RGB")

    with ctx.read() as session:
        return generation.case_request(
            session, case_id=case_id, render=render, system_prompt=ctx.settings.system_prompt
        )


def judged_steps(ctx: AppContext, user: UserInfo | None, state: ReviewState) -> int:
    """How many steps of the open chain this reviewer has judged (work a fresh chain would replace)."""
    user = require(user, Role.reviewer)
    if state.chain_id is None or state.read_only:
        return 0
    with ctx.read() as session:
        return len(store.effective_verdicts(session=session, chain_id=state.chain_id, reviewer_id=user.id))


def stream_fresh_chain(
    ctx: AppContext, user: UserInfo | None, state: ReviewState
) -> Iterator[tuple[ReviewState, str, str]]:
    """Stream a new chain for the open case, store it, and yield it ready for review."""
    user = require(user, Role.reviewer)
    if state.case_id is None or state.read_only:
        yield state, "", notice("Open a case you have claimed first.", "error")
        return
    backend = ctx.backend()
    if backend is None:
        msg = (
            "No model is configured: set CHESTX_REASONER_BACKEND with CHESTX_MODEL_PATH or "
            "CHESTX_OPENAI_BASE_URL."
        )
        yield state, "", notice(msg, "error")
        return
    info = backend.describe()
    request = _request(ctx, state.case_id)
    steps: list[str] = []
    partial, answer, errors, last = "", None, [], 0.0
    finished = None
    cancel = threading.Event()
    note = f"{info.model_id} is reasoning…"
    try:
        for event in backend.stream(request, cancel=cancel):
            if isinstance(event, TextDelta):
                partial += event.text
            elif isinstance(event, StepDone):
                steps.append(event.text)
                partial = ""
            elif isinstance(event, Answer):
                answer = event.answer or event.text
            elif isinstance(event, Error):
                errors.append(event.message)
            elif isinstance(event, Finished):
                finished = event
            if time.monotonic() - last >= _FRAME_S or isinstance(event, StepDone | Answer):
                last = time.monotonic()
                yield state, render_stream(steps, partial=partial, answer=answer, note=note), ""
    finally:
        cancel.set()  # the reviewer pressed Stop or left: the model stops too
    if finished is None:
        return
    with ctx.write(user) as session:
        chain = generation.store_chain(session, case_id=state.case_id, finished=finished, info=info)
        # A model's chain becomes the one under review; one mined from the report is the
        # case's reference (store.current_chain decides), and the review stays where it was.
        reviewable = store.current_chain(session=session, case_id=state.case_id).id == chain.id
        if reviewable:
            state = replace(state, chain_id=chain.id)
        view = open_chain_view(session, state, reviewer_id=user.id)
    if reviewable:
        message = f"A fresh chain from {info.model_id} is ready for review ({finished.elapsed_s:.1f} s)."
    else:
        message = (
            f"{info.model_id} stored a reference chain for this case; your review stays on the model's chain."
        )
    if errors:
        message += " The model reported: " + "; ".join(errors)
    yield (
        state,
        render_chain(view, read_only=False, user_id=user.id),
        notice(message, "error" if errors else "ok"),
    )
