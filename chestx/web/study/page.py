"""The reader-study page (``/study/``): readers read, admins set studies up, researchers analyse.

Contract: :func:`build_study_page` returns the page. Page load shows the section of the user's
role and fills only that one (a reviewer's page carries no study list, a researcher's no read);
every handler checks the role again (:mod:`chestx.web.study.actions`):

- **reviewers** (readers): their next read, as its arm shows it (:mod:`.reader_panel`);
- **admins**: the studies and a new study (:mod:`.setup_panel`), and the analysis;
- **researchers**: a study's analysis, figures and export (:mod:`.analysis_panel`).

What an arm hides is never sent (see :mod:`services.reader_study.reading`).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from chestx.web.auth import require
from chestx.web.common import PRIVATE, guarded, nav_html, page
from chestx.web.context import AppContext
from chestx.web.study import actions
from chestx.web.study.analysis_panel import analysis_layout, wire_analysis
from chestx.web.study.reader_panel import reader_layout, reader_values, wire_reader
from chestx.web.study.setup_panel import setup_layout, setup_values, wire_setup
from vocab import Role

ROLES = frozenset({Role.reviewer, Role.researcher})  # and admins


def build_study_page(ctx: AppContext) -> gr.Blocks:
    """The reader-study page (see the module docstring)."""
    with page("Reader study") as demo:
        nav = gr.HTML()
        reader, setup, analysis = reader_layout(), setup_layout(), analysis_layout()

        def on_load(request: gr.Request) -> list[Any]:
            user = require(ctx.user(request), *ROLES)
            reads, sets_up = user.role is Role.reviewer, user.role is Role.admin
            analyses = user.role in (Role.researcher, Role.admin)
            out: list[Any] = [
                nav_html(ctx, user, "/study/"),
                *(gr.update(visible=v) for v in (reads, sets_up, analyses)),
            ]
            out += reader_values(*actions.serve(ctx, user)) if reads else [gr.skip()] * len(reader.outputs)
            out += setup_values(ctx, user) if sets_up else [gr.skip()] * len(setup.outputs)
            out.append(gr.update(choices=actions.study_choices(ctx, user)) if analyses else gr.skip())
            return out

        columns = [reader.column, setup.column, analysis.column]
        outputs = [nav, *columns, *reader.outputs, *setup.outputs, analysis.study]
        demo.load(guarded(on_load), None, outputs, queue=False, **PRIVATE)
        wire_reader(ctx, reader)
        wire_setup(ctx, setup, analysis.study)
        wire_analysis(ctx, analysis)
    demo.queue(default_concurrency_limit=4)
    return demo
