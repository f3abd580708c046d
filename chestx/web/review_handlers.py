"""The review page's Gradio handlers: resolve the user, call an action, map it to updates.

Contract: one :class:`ReviewHandlers` per page build; each method is an event handler (Gradio
injects ``gr.Request`` and ``gr.EventData`` by annotation). The work itself is in
:mod:`chestx.web.review_actions`, :mod:`chestx.web.chain_actions` and
:mod:`chestx.web.generation`; here are only the updates of components. Updates are plain
values (HTML strings, the view word): Gradio builds, on the event loop, and keeps, per browser
tab, a new component object for every ``gr.update``, so a layout update per case would cost
time and memory with every case.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import gradio as gr

from chestx.web import chain_actions, generation, review_actions
from chestx.web.common import nav_html
from chestx.web.context import AppContext
from chestx.web.html import notice
from chestx.web.review_actions import CaseScreen, WorklistScreen
from chestx.web.state import ReviewState

if TYPE_CHECKING:
    from chestx.web.review_page import ReviewUI


def worklist_updates(ui: ReviewUI, screen: WorklistScreen, model_value: object = None) -> dict:
    """The worklist; with ``model_value`` (page load only) also the model filter's choices."""
    out = {ui.counts: screen.counts, ui.table: screen.table, ui.in_progress: screen.in_progress}
    if model_value is not None:
        choices = [("All models", 0)] + [(name, ident) for name, ident in screen.model_choices]
        out[ui.model_filter] = gr.update(choices=choices, value=model_value or 0)
    return out


def case_updates(ctx: AppContext, ui: ReviewUI, screen: CaseScreen) -> dict:
    """Outputs for an opened case (or, if none opened, the worklist's notice): plain values only."""
    if not screen.opened:
        return {ui.state: screen.state, ui.wl_notice: screen.notice}
    out = {
        ui.state: screen.state,
        ui.view: "case",
        ui.wl_notice: "",
        ui.header: screen.header,
        ui.notice: screen.notice,
        ui.viewer: screen.viewer,
        ui.facts: screen.facts,
        ui.question: screen.question,
        ui.report: screen.report or '<p class="cx-muted">This case has no report.</p>',
        ui.chain: screen.chain,
        ui.answer: screen.answer,
    }
    if ctx.can_generate:
        out[ui.generate] = gr.update(visible=not screen.state.read_only)
    return out


def to_worklist(ui: ReviewUI) -> dict:
    return {ui.view: "worklist"}


def _event_data(evt: gr.EventData) -> dict:
    data = getattr(evt, "_data", None)
    return data if isinstance(data, dict) else {}


class ReviewHandlers:
    """Event handlers of one review page."""

    def __init__(self, ctx: AppContext, ui: ReviewUI) -> None:
        self.ctx, self.ui = ctx, ui

    def _remember(self, request: gr.Request, screen: CaseScreen) -> None:
        """Which case this tab has open, so that closing the tab gives its claim back."""
        if screen.opened and screen.state.case_id is not None and request.session_hash:
            self.ctx.open_cases[request.session_hash] = (screen.state.user_id, screen.state.case_id)

    def worklist(self, request: gr.Request, task, status, model, demo_filter) -> dict:  # noqa: ANN001
        flt = review_actions.parse_filter(task, status, model, demo_filter)
        return worklist_updates(
            self.ui, review_actions.worklist(self.ctx, self.ctx.user(request), flt), model
        )

    def on_load(self, request: gr.Request, task, status, model, demo_filter) -> dict:  # noqa: ANN001
        user = self.ctx.user(request)
        flt = review_actions.parse_filter(task, status, model, demo_filter)
        screen = review_actions.worklist(self.ctx, user, flt)
        out = worklist_updates(self.ui, screen, model or 0)
        state = ReviewState(user_id=user.id if user else None)
        return out | {self.ui.nav: nav_html(self.ctx, user, "/review/"), self.ui.state: state}

    def open_selected(self, state: ReviewState, request: gr.Request, evt: gr.EventData) -> dict:
        case_id = _event_data(evt).get("case_id")
        case_id = case_id if isinstance(case_id, int) else None
        screen = review_actions.open_case(self.ctx, self.ctx.user(request), state, case_id)
        self._remember(request, screen)
        return case_updates(self.ctx, self.ui, screen)

    def next_case(self, state: ReviewState, request: gr.Request, *filters) -> dict:  # noqa: ANN002
        flt = review_actions.parse_filter(*filters)
        screen = review_actions.next_case(self.ctx, self.ctx.user(request), state.closed(), flt)
        self._remember(request, screen)
        return case_updates(self.ctx, self.ui, screen) | ({} if screen.opened else to_worklist(self.ui))

    def on_chain(self, state: ReviewState, request: gr.Request, evt: gr.EventData) -> tuple[ReviewState, str]:
        return chain_actions.chain_action(self.ctx, self.ctx.user(request), state, _event_data(evt))

    def on_submit(self, state: ReviewState, request: gr.Request, evt: gr.EventData, *filters) -> dict:  # noqa: ANN002
        """Submit, then open the next case (or go back to the worklist when none is waiting)."""
        ui, user, data = self.ui, self.ctx.user(request), _event_data(evt)
        verdict = data.get("verdict") if isinstance(data.get("verdict"), str) else None
        chosen = [c for c in data.get("chosen") or [] if isinstance(c, str)]
        comment = data.get("comment") if isinstance(data.get("comment"), str) else ""
        if data.get("case_id") != state.case_id:  # a panel of another case (a stale tab)
            return {ui.notice: notice("This page shows another case now: reload it.", "error")}
        ok, message = review_actions.submit(self.ctx, user, state, verdict, chosen, comment)
        if not ok:  # the panel comes back with what the reviewer chose and why it was refused
            panel = review_actions.answer_panel(
                state, verdict=verdict, chosen=chosen, comment=comment, message=message
            )
            return {ui.answer: panel, ui.notice: notice(message, "error")}
        self.ctx.open_cases.pop(request.session_hash or "", None)
        flt = review_actions.parse_filter(*filters)
        screen = review_actions.next_case(self.ctx, user, state.closed(), flt)
        self._remember(request, screen)
        if screen.opened:  # the worklist stays hidden; it is refreshed when the reviewer goes back
            note = notice(f"{message} Here is the next case.", "ok")
            return case_updates(self.ctx, ui, replace(screen, notice=note))
        done = notice(f"{message} No more cases are waiting for you.", "ok")
        lists = self.worklist(request, *filters)
        return to_worklist(ui) | {ui.state: screen.state, ui.wl_notice: done} | lists

    def go_back(self, state: ReviewState, request: gr.Request, *filters) -> dict:  # noqa: ANN002
        """Back to the worklist: the claim is no longer renewed and lapses unless reopened."""
        self.ctx.open_cases.pop(request.session_hash or "", None)
        return {self.ui.state: state.closed()} | to_worklist(self.ui) | self.worklist(request, *filters)

    def release(self, state: ReviewState, request: gr.Request, *filters) -> dict:  # noqa: ANN002
        new = review_actions.release(self.ctx, self.ctx.user(request), state)
        self.ctx.open_cases.pop(request.session_hash or "", None)
        return {self.ui.state: new} | to_worklist(self.ui) | self.worklist(request, *filters)

    def on_tick(self, state: ReviewState, request: gr.Request) -> tuple[ReviewState, str]:
        return review_actions.renew(self.ctx, self.ctx.user(request), state)

    def on_generate(self, state: ReviewState, request: gr.Request):  # noqa: ANN201 - a generator
        yield state, gr.update(), "", gr.update(visible=False), gr.update(visible=True)
        for new, chain_html, note in generation.stream_fresh_chain(self.ctx, self.ctx.user(request), state):
            yield new, chain_html or gr.update(), note, gr.update(), gr.update()
        yield gr.update(), gr.update(), gr.update(), gr.update(visible=True), gr.update(visible=False)

    def on_unload(self, request: gr.Request) -> None:
        held = self.ctx.open_cases.pop(request.session_hash or "", None)
        if held is not None:
            from review_db import services
            from review_db.engine import session_scope

            user_id, case_id = held
            with session_scope(self.ctx.factory, actor=f"user:{user_id}") as session:
                services.release_case(session=session, case_id=case_id, reviewer_id=user_id)
