"""The review page's Gradio handlers: resolve the user, call an action, map it to updates.

Contract: one :class:`ReviewHandlers` per page build; each method is an event handler (Gradio
injects ``gr.Request`` and ``gr.EventData`` by annotation) and returns updates only for the
components its event lists as outputs (``ReviewUI.*_outputs``). The work itself is in
:mod:`~chestx.web.review.actions`, :mod:`~chestx.web.review.chain_actions` and
:mod:`~chestx.web.review.generation`.
Updates are plain values (HTML strings, the view word): Gradio builds, on the event loop, and
keeps, per browser tab, a new component object for every ``gr.update``, so a layout update per
case would cost time and memory with every case. The page's filters arrive as ``*filters`` in
the order of :meth:`ReviewUI.filter_inputs`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import gradio as gr

from chestx.web.common import nav_html
from chestx.web.context import AppContext
from chestx.web.html import notice
from chestx.web.review import actions as review_actions
from chestx.web.review import chain_actions, generation
from chestx.web.review.actions import WorklistScreen
from chestx.web.review.case_html import CaseScreen, answer_panel
from chestx.web.review.state import ReviewState
from review_db import store

if TYPE_CHECKING:
    from chestx.web.review.page import ReviewUI


def _event_data(evt: gr.EventData) -> dict:
    data = getattr(evt, "_data", None)
    return data if isinstance(data, dict) else {}


def _text(data: dict, key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


class ReviewHandlers:
    """Event handlers of one review page."""

    def __init__(self, ctx: AppContext, ui: ReviewUI) -> None:
        self.ctx, self.ui = ctx, ui

    # ---- updates ----
    def worklist_updates(self, screen: WorklistScreen) -> dict:
        ui = self.ui
        return {
            ui.counts: screen.counts,
            ui.table: screen.table,
            ui.in_progress: screen.in_progress,
            ui.page: screen.page,
            ui.pager: f"{screen.page + 1} / {screen.pages}",
        }

    def case_updates(self, screen: CaseScreen) -> dict:
        """Outputs for an opened case (or, if none opened, the worklist's notice): plain values only."""
        ui = self.ui
        if not screen.opened:
            return {ui.state: screen.state, ui.wl_notice: screen.notice}
        state = screen.state
        out = {
            ui.state: state,
            ui.view: f"case:{state.case_id}",
            ui.wl_notice: "",
            ui.header: screen.header,
            ui.notice: screen.notice,
            ui.viewer: screen.viewer,
            ui.facts: screen.facts,
            ui.question: screen.question,
            ui.report: screen.report or '<p class="cx-muted">This case has no report.</p>',
            ui.chain: screen.chain,
            ui.answer: screen.answer,
            # Button visibility goes with the case: the layout update is worth it here.
            ui.amend: gr.update(visible=state.submitted),
            ui.release: gr.update(visible=not state.read_only),
        }
        out[ui.generate] = gr.update(visible=self.ctx.can_generate and not state.read_only)
        out[ui.confirm] = gr.update(visible=False)
        return out

    def to_worklist(
        self, request: gr.Request, state: ReviewState, page: int, *filters, message: str = ""
    ) -> dict:  # noqa: ANN002
        self.ctx.open_cases.pop(request.session_hash or "", None)
        return {
            self.ui.state: state.closed(),
            self.ui.view: "worklist",
            self.ui.wl_notice: message,
        } | self.worklist(request, page, *filters)

    def _remember(self, request: gr.Request, screen: CaseScreen) -> None:
        """Which case this tab has open, so that closing the tab gives its claim back."""
        if screen.opened and screen.state.case_id is not None and request.session_hash:
            self.ctx.open_cases[request.session_hash] = (screen.state.user_id, screen.state.case_id)

    def _open(self, request: gr.Request, screen: CaseScreen) -> dict:
        self._remember(request, screen)
        return self.case_updates(screen)

    # ---- the worklist ----
    def worklist(self, request: gr.Request, page, *filters) -> dict:  # noqa: ANN001, ANN002
        flt = review_actions.parse_filter(*filters)
        screen = review_actions.worklist(self.ctx, self.ctx.user(request), flt, int(page or 0))
        return self.worklist_updates(screen)

    def filter_changed(self, request: gr.Request, *filters) -> dict:  # noqa: ANN002
        return self.worklist(request, 0, *filters)

    def page_back(self, request: gr.Request, page, *filters) -> dict:  # noqa: ANN001, ANN002
        return self.worklist(request, max(0, int(page or 0) - 1), *filters)

    def page_on(self, request: gr.Request, page, *filters) -> dict:  # noqa: ANN001, ANN002
        return self.worklist(request, int(page or 0) + 1, *filters)

    def on_load(self, request: gr.Request, *filters) -> dict:  # noqa: ANN002
        """The page opens: the worklist, the model filter's choices and, for ``?case=N`` (a reload
        mid-review), that case again."""
        user = self.ctx.user(request)
        flt = review_actions.parse_filter(*filters)
        screen = review_actions.worklist(self.ctx, user, flt)
        hints = review_actions.hints_of(self.ctx, user)
        start = ReviewState(user_id=user.id if user else None, hints=hints.shown)
        choices = [("All models", "")] + [(name, name) for name in screen.model_choices]
        out = self.worklist_updates(screen) | {
            self.ui.model_filter: gr.update(choices=choices),
            self.ui.nav: nav_html(self.ctx, user, "/review/"),
            self.ui.state: start,
            self.ui.view: "worklist:",  # not the default word: view.js then tidies the address
            # An admin's "on for everyone" is not the reviewer's to turn off: shown, not editable.
            self.ui.hints: gr.update(value=True, interactive=False, label="Step hints (on for everyone)")
            if hints.everyone
            else hints.mine,
        }
        wanted = (request.query_params or {}).get("case", "")
        if wanted.isdigit():
            opened = review_actions.open_case(self.ctx, user, start, int(wanted))
            out |= self._open(request, opened)
        return out

    # ---- opening cases ----
    def open_selected(self, state: ReviewState, request: gr.Request, evt: gr.EventData) -> dict:
        case_id = _event_data(evt).get("case_id")
        case_id = case_id if isinstance(case_id, int) else None
        return self._open(request, review_actions.open_case(self.ctx, self.ctx.user(request), state, case_id))

    def next_case(self, state: ReviewState, page, request: gr.Request, *filters) -> dict:  # noqa: ANN001, ANN002
        flt = review_actions.parse_filter(*filters)
        screen = review_actions.next_case(self.ctx, self.ctx.user(request), state.closed(), flt)
        if screen.opened:
            return self._open(request, screen)
        return self.to_worklist(request, state, page, *filters, message=screen.notice)

    # ---- working on a case ----
    def on_chain(self, state: ReviewState, request: gr.Request, evt: gr.EventData) -> tuple[ReviewState, str]:
        return chain_actions.chain_action(self.ctx, self.ctx.user(request), state, _event_data(evt))

    def on_submit(self, state: ReviewState, page, request: gr.Request, evt: gr.EventData, *filters) -> dict:  # noqa: ANN001, ANN002
        """Submit, then open the next case (or go back to the worklist when none is waiting)."""
        ui, user, data = self.ui, self.ctx.user(request), _event_data(evt)
        verdict = _text(data, "verdict") or None
        chosen = [c for c in data.get("chosen") or [] if isinstance(c, str)]
        comment = _text(data, "comment")
        if data.get("case_id") != state.case_id or data.get("chain_id") != state.chain_id:
            stale = "This panel was drawn for another case or chain: nothing was stored. Reload the page."
            return {ui.notice: notice(stale, "error")}
        ok, message = review_actions.submit(
            self.ctx, user, state, verdict, chosen, comment, set_for=_text(data, "verdict_set_for") or None
        )
        if not ok:  # the panel comes back with what the reviewer chose and why it was refused
            panel = answer_panel(state, verdict=verdict, chosen=chosen, comment=comment, message=message)
            return {ui.answer: panel, ui.notice: notice(message, "error")}
        self.ctx.open_cases.pop(request.session_hash or "", None)
        flt = review_actions.parse_filter(*filters)
        screen = review_actions.next_case(self.ctx, user, state.closed(), flt)
        if screen.opened:  # the worklist stays hidden; it is refreshed when the reviewer goes back
            note = notice(f"{message} Here is the next case.", "ok")
            return self._open(request, replace(screen, notice=note))
        done = notice(f"{message} No more cases are waiting for you.", "ok")
        return self.to_worklist(request, state, page, *filters, message=done)

    def go_back(self, state: ReviewState, page, request: gr.Request, *filters) -> dict:  # noqa: ANN001, ANN002
        """Back to the worklist: the claim is no longer renewed and lapses unless reopened."""
        return self.to_worklist(request, state, page, *filters)

    def release(self, state: ReviewState, page, request: gr.Request, *filters) -> dict:  # noqa: ANN001, ANN002
        review_actions.release(self.ctx, self.ctx.user(request), state)
        message = (
            notice(f"Case {state.case_id} released: it is free for others.", "ok") if state.case_id else ""
        )
        return self.to_worklist(request, state, page, *filters, message=message)

    def amend(self, state: ReviewState, request: gr.Request) -> dict:
        screen = review_actions.amend(self.ctx, self.ctx.user(request), state)
        if not screen.opened or screen.state is state:
            return {self.ui.notice: screen.notice}
        return self._open(request, screen)

    def toggle_hints(self, state: ReviewState, on: bool, request: gr.Request) -> dict:
        """The reviewer turns step hints on or off for themselves; an open chain is drawn again."""
        new, chain, message = review_actions.set_hints(self.ctx, self.ctx.user(request), state, bool(on))
        out = {self.ui.state: new, self.ui.notice: message}
        return out | ({self.ui.chain: chain} if chain else {})

    def on_tick(self, state: ReviewState, request: gr.Request) -> tuple[ReviewState, str]:
        return review_actions.renew(self.ctx, self.ctx.user(request), state)

    # ---- a fresh chain ----
    def on_generate(self, state: ReviewState, request: gr.Request):  # noqa: ANN201 - a generator
        """Ask for a fresh chain; if it would replace a chain this reviewer has judged, ask first."""
        user = self.ctx.user(request)
        judged = generation.judged_steps(self.ctx, user, state)
        if judged:
            ask = (
                f"You have judged {judged} step(s) of this chain. A fresh chain replaces it for your "
                "review (your verdicts stay stored with the old chain). Replace it?"
            )
            yield {self.ui.notice: notice(ask, "info"), self.ui.confirm: gr.update(visible=True)}
            return
        yield from self._stream(state, request)

    def on_confirm(self, state: ReviewState, request: gr.Request):  # noqa: ANN201 - a generator
        yield from self._stream(state, request)

    def _stream(self, state: ReviewState, request: gr.Request):  # noqa: ANN202 - a generator
        ui, user = self.ui, self.ctx.user(request)
        hidden = gr.update(visible=False)
        yield {ui.generate: hidden, ui.confirm: hidden, ui.stop: gr.update(visible=True), ui.notice: ""}
        stored = None
        for new, chain_html, note in generation.stream_fresh_chain(self.ctx, user, state):
            if new.chain_id != state.chain_id:
                stored = (new, note)
                break
            yield {ui.chain: chain_html or gr.update(), ui.notice: note}
        if stored is not None:  # every panel follows the new chain: header, chain, answer, state
            new, note = stored
            screen = review_actions.open_case(self.ctx, user, new, new.case_id, claim=False)
            yield self.case_updates(replace(screen, notice=note)) | {ui.stop: hidden}
            return
        yield {ui.generate: gr.update(visible=True), ui.stop: hidden}

    def stopped(self) -> dict:
        return {self.ui.generate: gr.update(visible=True), self.ui.stop: gr.update(visible=False)}

    def on_unload(self, request: gr.Request) -> None:
        held = self.ctx.open_cases.pop(request.session_hash or "", None)
        if held is not None:
            user_id, case_id = held
            with self.ctx.write_as(user_id) as session:
                store.release_case(session=session, case_id=case_id, reviewer_id=user_id)
