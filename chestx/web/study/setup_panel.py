"""The admin's part of the study page: the studies with their progress, and a new study.

Contract: :func:`setup_layout` creates the components; :func:`setup_values` fills them on page load
(admins only); :func:`wire_setup` connects **Pick by filter** (verified cases of a task type, at
most N, ticked in the case list) and **Create study** (:func:`chestx.web.study.actions.create`;
the message says what was created, or why nothing was).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from chestx.web.auth import UserInfo
from chestx.web.common import PRIVATE, guarded
from chestx.web.context import AppContext
from chestx.web.html import TASK_LABELS, notice
from chestx.web.study import actions
from chestx.web.study.results_html import studies_html
from review_db.errors import ChestXError
from services.reader_study.design import STANDARD_ARMS

_BUTTON: dict[str, Any] = {"size": "sm", "scale": 0, "min_width": 150}


@dataclass
class SetupUI:
    column: gr.Column
    message: gr.HTML
    studies: gr.HTML
    name: gr.Textbox
    cases: gr.CheckboxGroup
    task: gr.Dropdown
    limit: gr.Number
    pick: gr.Button
    readers: gr.CheckboxGroup
    arms: gr.CheckboxGroup
    washout: gr.Number
    seed: gr.Number
    create: gr.Button

    @property
    def outputs(self) -> list[Any]:
        """What page load fills (and Create study refreshes)."""
        return [self.message, self.studies, self.cases, self.readers]


def setup_layout() -> SetupUI:
    with gr.Column(visible=False, elem_id="cx-study-setup") as column:
        gr.HTML('<h2 class="cx-h">Reader studies</h2>')
        studies = gr.HTML(elem_id="cx-study-list")
        gr.HTML(
            '<h3 class="cx-h">New study</h3><p class="cx-muted">Every reader reads every case once per arm, '
            "one arm per period, in a randomized, balanced order (docs/READER_STUDIES.md). Readers must not "
            "have reviewed the cases.</p>"
        )
        message = gr.HTML(elem_id="cx-study-setup-notice")
        name = gr.Textbox(label="Study name", max_length=128, elem_id="cx-study-name")
        with gr.Row(equal_height=True):
            task = gr.Dropdown(
                [("All task types", "")] + [(v, k) for k, v in TASK_LABELS.items()], value="",
                label="Cases by filter: task type", elem_id="cx-study-task",
            )  # fmt: skip
            limit = gr.Number(0, label="At most (0: all)", precision=0, minimum=0, elem_id="cx-study-limit")
            pick = gr.Button("Pick by filter", elem_id="cx-study-pick", **_BUTTON)
        cases = gr.CheckboxGroup([], label="Cases (verified, with options)", elem_id="cx-study-cases")
        readers = gr.CheckboxGroup([], label="Readers (active reviewers)", elem_id="cx-study-readers")
        arms = gr.CheckboxGroup(
            [(a.label, a.key) for a in STANDARD_ARMS], value=[a.key for a in STANDARD_ARMS],
            label="Arms", elem_id="cx-study-arms",
        )  # fmt: skip
        with gr.Row(equal_height=True):
            washout = gr.Number(
                14, label="Washout (days)", precision=0, minimum=0, elem_id="cx-study-washout"
            )
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="cx-study-seed")
            create = gr.Button("Create study", variant="primary", elem_id="cx-study-create", **_BUTTON)
    return SetupUI(
        column, message, studies, name, cases, task, limit, pick, readers, arms, washout, seed, create
    )


def setup_values(ctx: AppContext, user: UserInfo | None, message: str = "") -> list[Any]:
    """:attr:`SetupUI.outputs`: the message, the studies, the cases and readers to choose from."""
    data = actions.setup_data(ctx, user)
    return [
        message,
        studies_html(data.studies),
        gr.update(choices=data.cases),
        gr.update(choices=data.readers),
    ]


def wire_setup(ctx: AppContext, ui: SetupUI, study_pick: gr.Dropdown) -> None:
    """Connect the setup's buttons; ``study_pick`` (the analysis's study list) follows new studies."""

    def on_pick(task: str, limit: float | None, request: gr.Request) -> list[int]:
        return actions.cases_by_filter(ctx, ctx.user(request), task_type=task, limit=int(limit or 0))

    def on_create(
        name: str,
        cases: list[int],
        readers: list[int],
        arms: list[str],
        washout: float | None,
        seed: float | None,
        request: gr.Request,
    ) -> list[Any]:
        user = ctx.user(request)
        try:
            shown = notice(
                actions.create(ctx, user, name=name, case_ids=cases, reader_ids=readers, arm_keys=arms,
                               washout_days=washout, seed=seed),
                "ok",
            )  # fmt: skip
        except ChestXError as exc:
            shown = notice(str(exc), "error")
        return [*setup_values(ctx, user, shown), gr.update(choices=actions.study_choices(ctx, user))]

    ui.pick.click(guarded(on_pick), [ui.task, ui.limit], [ui.cases], **PRIVATE)
    one = {"concurrency_limit": 1, "concurrency_id": "reader-studies", **PRIVATE}
    inputs = [ui.name, ui.cases, ui.readers, ui.arms, ui.washout, ui.seed]
    ui.create.click(guarded(on_create), inputs, [*ui.outputs, study_pick], **one)
