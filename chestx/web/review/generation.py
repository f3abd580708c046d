"""Ask the configured reasoner for a fresh chain and stream it into the page.

Contract: :func:`stream_fresh_chain` is a generator of ``(state, chain_html, notice_html)``: it
maps the backend's typed events (:mod:`reasoner.events`) to renders as they come, and at the end
stores the chain whole through :func:`review_db.store.add_chain` (flagged incomplete when
generation stopped early) and yields it ready for review. Closing the generator (the reviewer
pressed Stop, or left) cancels generation. The UI never parses model text itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from chestx.settings import Settings
from chestx.web.auth import UserInfo, require
from chestx.web.context import AppContext
from chestx.web.html import notice
from chestx.web.review.chain_html import render_chain, render_stream
from chestx.web.review.state import ReviewState
from review_db import store
from review_db.models import Case
from review_db.types import ChainSource, Role
from services import screens

SOURCES = {"hf": ChainSource.model, "openai": ChainSource.endpoint, "report": ChainSource.report}
_FRAME_S = 0.08  # at most ~12 renders a second: smooth enough, and cheap for the queue


def default_backend_configured(settings: Settings) -> bool:
    """Whether the settings name a model to ask (without loading it)."""
    if settings.reasoner_backend == "openai":
        return bool(settings.openai_base_url and settings.openai_model)
    return settings.reasoner_backend == "hf" and bool(settings.model_path)


def default_backend_factory(settings: Settings) -> Any:
    """The backend the settings name, or None when none is configured (the button says so)."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    if settings.reasoner_backend == "openai" and settings.openai_base_url and settings.openai_model:
        from reasoner.backends.openai import OpenAIBackend

        return OpenAIBackend(settings.openai_base_url, model=settings.openai_model, api_key=key)
    if settings.reasoner_backend == "hf" and settings.model_path:
        from reasoner.backends.hf import HFBackend

        return HFBackend(settings.model_path)
    return None


def _images(ctx: AppContext, case_id: int) -> tuple[Any, ...]:
    """The case's images as PIL (prior first for comparisons), rendered with their default window."""
    from imaging import load_payload

    out = []
    with ctx.read() as session:
        studies = [
            screens.study_of_case(session=session, case_id=case_id, prior=True),
            screens.study_of_case(session=session, case_id=case_id),
        ]
        keys = [(s.image_sha256, s.stored_path) for s in studies if s is not None]
    for sha, rel in keys:
        try:
            rendered = ctx.render_cache.render(
                sha256=sha,
                data=lambda rel=rel: load_payload(root=ctx.settings.image_dir, relative_path=rel),
                max_side=1024,
            )
        except FileNotFoundError:  # the backend reports the missing image (or needs none)
            continue
        out.append(rendered.to_pil().convert("RGB"))
    return tuple(out)


def _request(ctx: AppContext, case_id: int) -> Any:
    from reasoner.backends.base import ReasonRequest
    from reasoner.prompts import make_task

    with ctx.read() as session:
        case = session.get(Case, case_id)
        task = make_task(case.task_type.value, case.question, case.options or None)
        report, reference = case.report, case.reference_answer
    return ReasonRequest(
        task=task,
        images=_images(ctx, case_id),
        system_prompt=ctx.settings.system_prompt,
        report=report,
        reference_answer=reference,
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
    from reasoner.events import Answer, Error, Finished, StepDone, TextDelta

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
        chain = store.add_chain(
            session=session,
            case_id=state.case_id,
            steps=list(finished.chain.steps),
            final_answer=finished.chain.answer,
            source=SOURCES.get(info.name, ChainSource.model),
            source_detail=info.model_id,
            raw_output=finished.raw,
            status=finished.status,
            flags=sorted(finished.flags),
            generation_params={**info.params, **finished.params},
        )
        # A model's chain becomes the one under review; one mined from the report is the
        # case's reference (store.current_chain decides), and the review stays where it was.
        reviewable = store.current_chain(session=session, case_id=state.case_id).id == chain.id
        if reviewable:
            state = replace(state, chain_id=chain.id)
        view = screens.chain_view(
            session=session, chain_id=state.chain_id, reviewer_id=user.id, options=state.options
        )
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
