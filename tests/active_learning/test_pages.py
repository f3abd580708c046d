"""What the pages draw from active learning, without a browser: the worklist's "Why here" column,
the step hint's quiet marker, the admin section's status (all escaped)."""

from __future__ import annotations

import datetime as dt

from chestx.web.admin.priority_panel import STRATEGY_CHOICES, status_html
from chestx.web.review.case_html import case_table
from chestx.web.review.chain_html import risk_marker
from services.screens import CaseRow, StepRow
from vocab.priority import PriorityStrategy


def _row(case_id: int, reason: str = "") -> CaseRow:
    return CaseRow(case_id, "single_choice", "Which?", "open", "0/1", "m", False, reason=reason)


def test_the_worklist_says_why_a_case_is_where_it_is_once_there_are_reasons() -> None:
    plain = case_table([_row(1), _row(2)], empty="none")
    assert "Why here" not in plain  # before any prioritization the table is as it was
    html = case_table([_row(1, "weakest step 2: 0.12 (PRM run <3>)"), _row(2)], empty="none")
    assert "<th>Why here</th>" in html
    assert '<span class="cx-muted cx-why">weakest step 2: 0.12 (PRM run &lt;3&gt;)</span>' in html
    assert html.count("<td>") == 12  # six cells a row, the reasonless row's cell empty


def test_a_step_hint_is_a_quiet_bar_with_its_figure_in_the_title_only() -> None:
    step = StepRow(1, "1", 0, "model", None, "text")
    assert risk_marker(step) == ""  # hints off (no risk read): nothing drawn
    marker = risk_marker(StepRow(1, "1", 0, "model", None, "text", risk=0.876, risk_by='PRM "x"'))
    assert 'style="--cx-risk:0.88"' in marker and "<b>" not in marker
    assert 'title="Step hint: PRM &quot;x&quot; puts the risk that this step is wrong at 0.88"' in marker
    assert ">0.88<" not in marker  # no number in the text itself


def test_the_admin_section_names_the_strategy_and_the_last_ordering() -> None:
    assert [v for _, v in STRATEGY_CHOICES] == [s.value for s in PriorityStrategy]
    at = dt.datetime(2026, 12, 15, 9, 30, tzinfo=dt.UTC)
    data = {
        "strategy": PriorityStrategy.lowest,
        "hints_for_everyone": False,
        "cases": 3,
        "by": [{"strategy": "lowest", "prm": "PRM run 4", "cases": 3, "at": at}],
        "scored_steps": 12,
        "at": at,
    }
    html = status_html(data)
    assert "<b>Weakest step first</b>" in html and "2026-12-15 09:30 UTC" in html
    assert "3 open case(s) (3 by lowest with PRM run 4); 12 step(s) carry a PRM score" in html
    assert "each reviewer&#x27;s own choice (off by default)" in html
    empty = status_html({**data, "cases": 0, "by": [], "at": None, "hints_for_everyone": True})
    assert "No case ordered by a strategy yet" in empty and "on for every reviewer" in empty
