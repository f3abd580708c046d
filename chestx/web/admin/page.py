"""The admin page (``/admin/``): accounts, imports of images, and training (the active job, runs,
model versions).

Contract: :func:`build_admin_page` returns the page; admins only (path guard and handler check).
The users section is :mod:`chestx.web.admin.users_panel`: the accounts table, "Add user", and for a
picked account "Change role", "Reset password", "Deactivate" and "Reactivate"; each shows its
message (or the reason nothing changed) above the table, which it refreshes. The training section
is :mod:`chestx.web.admin.training_panel` over :func:`services.training.overview`; a ``gr.Timer`` refreshes
it every :data:`TICK_S` seconds while a job is queued or running (and stops when none is).
"Run loop now" starts the loop in a detached worker process; "Cancel job" ends the active job.
The imports section is :mod:`chestx.web.admin.imports_panel` (each import of images, running or
finished, with its counts and what it skipped or rejected); it is refreshed with the training
section, by "Refresh" and by the timer, which also runs while an import moves.
The worklist-order section is :mod:`chestx.web.admin.priority_panel`: the strategy every replica
orders the worklist by (re-ordered at once from the stored PRM scores) and step hints for every
reviewer; each choice shows its message and the section's status.
Every handler is :func:`~chestx.web.common.guarded` and returns exactly its listed outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from chestx.web.admin import imports_panel, priority_panel, training_panel, users_panel
from chestx.web.auth import UserInfo, require
from chestx.web.common import PRIVATE, guarded, nav_html, page
from chestx.web.context import AppContext
from chestx.web.html import notice
from review_db.errors import ChestXError
from review_db.store.users import MIN_PASSWORD

TICK_S = 2.0
_BUTTON: dict[str, Any] = {"size": "sm", "scale": 0, "min_width": 150}
users_table = users_panel.users_html  # the name tests/app/test_actions.py imports


def _training(ctx: AppContext) -> list[Any]:
    """The timed sections' outputs: the training section (active job, runs, versions), the imports,
    and the timer (on while a training job is active or an import moves)."""
    data, imports = training_panel.overview(ctx), imports_panel.overview(ctx)
    ticking = data["active"] is not None or imports_panel.moving(imports)
    return [*training_panel.panel_html(data), imports_panel.imports_html(imports), gr.Timer(active=ticking)]


def _action(ctx: AppContext, action: Callable[[AppContext, Any], str]) -> Callable[..., list[Any]]:
    """A training button's handler: run ``action``, show its message (or error), refresh the section."""

    def handler(request: gr.Request) -> list[Any]:
        user = require(ctx.user(request))  # no roles named: only admins pass
        try:
            shown = notice(action(ctx, user), "ok")
        except ChestXError as exc:
            shown = notice(str(exc), "error")
        return [shown, *_training(ctx)]

    return guarded(handler)


@dataclass
class _Users:
    """The users section's components."""

    table: gr.HTML
    message: gr.HTML
    name: gr.Textbox
    display: gr.Textbox
    role: gr.Dropdown
    password: gr.Textbox
    add: gr.Button
    pick: gr.Dropdown
    new_role: gr.Dropdown
    change_role: gr.Button
    new_password: gr.Textbox
    reset: gr.Button
    deactivate: gr.Button
    reactivate: gr.Button

    @property
    def outputs(self) -> list[Any]:
        """What every users action returns, in this order (see :func:`_users_reply`)."""
        form = [self.name, self.display, self.password, self.new_password]
        return [self.message, self.table, self.pick, *form]


def _users_layout() -> _Users:
    message = gr.HTML(elem_id="cx-users-notice")
    table = gr.HTML(elem_id="cx-admin-users")
    gr.HTML('<h3 class="cx-h">Add a user</h3>')
    with gr.Row(equal_height=True):
        name = gr.Textbox(label="Username", elem_id="cx-new-username", max_length=64)
        display = gr.Textbox(label="Display name (optional)", elem_id="cx-new-display", max_length=200)
        role = gr.Dropdown(users_panel.ROLE_CHOICES, value="reviewer", label="Role", elem_id="cx-new-role")
        password = gr.Textbox(
            label=f"Password (at least {MIN_PASSWORD} characters)", type="password", elem_id="cx-new-password"
        )
        add = gr.Button("Add user", variant="primary", elem_id="cx-add-user", **_BUTTON)
    gr.HTML('<h3 class="cx-h">Change a user</h3>')
    with gr.Row(equal_height=True):
        pick = gr.Dropdown([], label="User", elem_id="cx-user-pick")
        new_role = gr.Dropdown(users_panel.ROLE_CHOICES, value=None, label="New role", elem_id="cx-user-role")
        change_role = gr.Button("Change role", elem_id="cx-change-role", **_BUTTON)
    with gr.Row(equal_height=True):
        new_password = gr.Textbox(
            label=f"New password (at least {MIN_PASSWORD} characters)",
            type="password",
            elem_id="cx-reset-password",
        )
        reset = gr.Button("Reset password", elem_id="cx-reset-pw", **_BUTTON)
        deactivate = gr.Button("Deactivate", variant="stop", elem_id="cx-deactivate", **_BUTTON)
        reactivate = gr.Button("Reactivate", elem_id="cx-reactivate", **_BUTTON)
    return _Users(
        table, message, name, display, role, password, add, pick, new_role, change_role, new_password, reset,
        deactivate, reactivate,
    )  # fmt: skip


def _users_reply(
    ctx: AppContext, request: gr.Request, action: Callable[[UserInfo], str], *, added: str | None = None
) -> list[Any]:
    """Run ``action`` for the logged-in admin; reply with :attr:`_Users.outputs`: the message, the
    table, the picker (on the new account after an add), the add form (cleared after an add), and
    both password boxes always cleared."""
    admin = require(ctx.user(request))  # no roles named: only admins pass
    try:
        shown, ok = notice(action(admin), "ok"), True
    except ChestXError as exc:
        shown, ok = notice(str(exc), "error"), False
    data = users_panel.admin_data(ctx)
    choices, table = users_panel.user_choices(data), users_panel.users_html(data)
    if ok and added:
        return [shown, table, gr.Dropdown(choices=choices, value=added), "", "", "", ""]
    return [shown, table, gr.Dropdown(choices=choices), gr.skip(), gr.skip(), "", ""]


def _wire_users(ctx: AppContext, u: _Users) -> None:
    def on_add(name: str, display: str, role: str, password: str, request: gr.Request) -> list[Any]:
        def act(admin: UserInfo) -> str:
            return users_panel.add_user(
                ctx, admin, username=name, password=password, role=role, display_name=display
            )

        return _users_reply(ctx, request, act, added=(name or "").strip())

    def on_role(pick: str, role: str, request: gr.Request) -> list[Any]:
        return _users_reply(ctx, request, lambda a: users_panel.change_role(ctx, a, username=pick, role=role))

    def on_reset(pick: str, password: str, request: gr.Request) -> list[Any]:
        def act(admin: UserInfo) -> str:
            return users_panel.reset_password(ctx, admin, username=pick, password=password)

        return _users_reply(ctx, request, act)

    def on_active(active: bool) -> Callable[..., list[Any]]:
        def handler(pick: str, request: gr.Request) -> list[Any]:
            return _users_reply(
                ctx, request, lambda a: users_panel.set_active(ctx, a, username=pick, active=active)
            )

        return guarded(handler)

    one = {"concurrency_limit": 1, "concurrency_id": "accounts", **PRIVATE}
    u.add.click(guarded(on_add), [u.name, u.display, u.role, u.password], u.outputs, **one)
    u.change_role.click(guarded(on_role), [u.pick, u.new_role], u.outputs, **one)
    u.reset.click(guarded(on_reset), [u.pick, u.new_password], u.outputs, **one)
    u.deactivate.click(on_active(False), [u.pick], u.outputs, **one)
    u.reactivate.click(on_active(True), [u.pick], u.outputs, **one)


def _training_layout() -> tuple[gr.Button, gr.Button, gr.HTML, list[Any]]:
    """(run, cancel, message, outputs) of the imports and training sections, in page order."""
    gr.HTML(
        '<h2 class="cx-h" id="cx-imports">Imports</h2><p class="cx-muted">Images brought in by '
        "<code>chestx import images</code>, <code>chestx import dicomweb</code> and "
        "<code>chestx receive</code> (docs/OPERATIONS.md, PACS).</p>"
    )
    imports = gr.HTML(elem_id="cx-admin-imports")
    gr.HTML(
        '<h2 class="cx-h" id="cx-training">Training</h2><p class="cx-muted">The feedback loop runs in '
        "its own worker process (docs/TRAINING.md); this page follows it.</p>"
    )
    with gr.Row():
        run_now = gr.Button("Run loop now", variant="primary", size="sm", elem_id="cx-run-loop")
        cancel = gr.Button("Cancel job", variant="stop", size="sm", elem_id="cx-cancel-job")
    message = gr.HTML(elem_id="cx-train-notice")
    active = gr.HTML(elem_id="cx-admin-active")
    gr.HTML('<h3 class="cx-h">Recent runs</h3>')
    runs = gr.HTML(elem_id="cx-admin-runs")
    gr.HTML('<h3 class="cx-h">Model versions</h3>')
    models = gr.HTML(elem_id="cx-admin-models")
    return run_now, cancel, message, [active, runs, models, imports, gr.Timer(TICK_S, active=False)]


def _priority_layout() -> tuple[gr.Dropdown, gr.Checkbox, gr.HTML, gr.HTML]:
    """(strategy chooser, hints for everyone, message, status) of the worklist-order section."""
    gr.HTML(
        '<h2 class="cx-h" id="cx-priority">Worklist order</h2><p class="cx-muted">Which open case '
        "reviewers see first, from the PRM's scores of its steps (docs/ACTIVE_LEARNING.md). A loop run "
        "that trains a PRM scores the open chains again; so does <code>chestx prioritize</code>.</p>"
    )
    with gr.Row(equal_height=True):
        strategy = gr.Dropdown(
            priority_panel.STRATEGY_CHOICES, value=None, label="Strategy", elem_id="cx-priority-strategy"
        )
        hints = gr.Checkbox(label="Step hints for every reviewer", value=False, elem_id="cx-priority-hints")
    message = gr.HTML(elem_id="cx-priority-notice")
    status = gr.HTML(elem_id="cx-admin-priority")
    return strategy, hints, message, status


def _priority(ctx: AppContext) -> list[Any]:
    """The worklist-order section's values: the strategy, hints for everyone, the status."""
    data = priority_panel.status(ctx)
    return [data["strategy"].value, bool(data["hints_for_everyone"]), priority_panel.status_html(data)]


def _wire_priority(
    ctx: AppContext, strategy: gr.Dropdown, hints: gr.Checkbox, message: gr.HTML, status: gr.HTML
) -> None:
    def reply(request: gr.Request, act: Callable[[UserInfo], str]) -> list[Any]:
        admin = require(ctx.user(request))  # no roles named: only admins pass
        try:
            shown = notice(act(admin), "ok")
        except ChestXError as exc:
            shown = notice(str(exc), "error")
        return [shown, priority_panel.status_html(priority_panel.status(ctx))]

    def on_strategy(value: str, request: gr.Request) -> list[Any]:
        return reply(request, lambda admin: priority_panel.set_strategy(ctx, admin, value))

    def on_hints(on: bool, request: gr.Request) -> list[Any]:
        return reply(request, lambda admin: priority_panel.set_hints(ctx, admin, on))

    one = {"concurrency_limit": 1, "concurrency_id": "priority", **PRIVATE}
    strategy.input(guarded(on_strategy), [strategy], [message, status], **one)
    hints.input(guarded(on_hints), [hints], [message, status], **one)


def build_admin_page(ctx: AppContext) -> gr.Blocks:
    """Who can log in; which training job runs, which ran, which models exist."""
    with page("Admin") as demo:
        nav = gr.HTML()
        with gr.Row(equal_height=True):
            gr.HTML('<h2 class="cx-h" id="cx-users">Users</h2>')
            refresh = gr.Button("Refresh", elem_id="cx-admin-refresh", **_BUTTON)
        users = _users_layout()
        run_now, cancel, message, training = _training_layout()
        timer = training[-1]
        strategy, hints, priority_message, priority_status = _priority_layout()

        def render(request: gr.Request) -> list[Any]:
            user = require(ctx.user(request))  # no roles named: only admins pass
            data = users_panel.admin_data(ctx)
            return [
                nav_html(ctx, user, "/admin/"),
                users_panel.users_html(data),
                gr.Dropdown(choices=users_panel.user_choices(data)),
                *_training(ctx),
                *_priority(ctx),
            ]

        def tick(request: gr.Request) -> list[Any]:
            require(ctx.user(request))
            return _training(ctx)

        shown = [nav, users.table, users.pick, *training, strategy, hints, priority_status]
        demo.load(guarded(render), None, shown, **PRIVATE)
        refresh.click(guarded(render), None, shown, **PRIVATE)
        timer.tick(guarded(tick), None, training, show_progress="hidden", **PRIVATE)
        _wire_users(ctx, users)
        _wire_priority(ctx, strategy, hints, priority_message, priority_status)
        # One button press at a time (the job table serialises starts anyway).
        once = {"concurrency_limit": 1, "concurrency_id": "training", **PRIVATE}
        run_now.click(_action(ctx, training_panel.run_loop), None, [message, *training], **once)
        cancel.click(_action(ctx, training_panel.cancel_job), None, [message, *training], **once)
    demo.queue(default_concurrency_limit=4)
    return demo
