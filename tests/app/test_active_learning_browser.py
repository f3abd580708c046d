"""Active learning in a real browser (issue 17): an admin chooses the worklist's strategy and step
hints for everyone; a reviewer reads why a case is where it is, and turns step hints on and off
for themselves (off by default; the choice survives a reload)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.app.conftest import login
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

ADMIN, REVIEWER = "al-admin", "al-reviewer"
STEPS = ("The lungs are clear.", "There is a large effusion.", "No pneumothorax is seen.")


class EffusionSceptic:
    """A PRM stand-in: P(correct) 0.1 for a step naming an effusion, else 0.9."""

    def score(self, context: str, steps: Sequence[str]) -> list[float]:
        return [0.1 if "effusion" in s else 0.9 for s in steps]


def _choose(page, elem_id: str, label: str) -> None:  # noqa: ANN001
    page.click(f"#{elem_id} input")
    page.locator("ul[role=listbox] li", has_text=label).first.click()


def _says(page, selector: str, text: str) -> None:  # noqa: ANN001
    page.wait_for_function(
        "([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)", arg=[selector, text]
    )


def _markers(page) -> int:  # noqa: ANN001
    return page.locator("#cx-chain .cx-risk").count()


def _open(page, case_id: int) -> None:  # noqa: ANN001
    box = page.locator("#cx-f-search textarea, #cx-f-search input").first
    box.fill(f"#{case_id}")
    box.press("Enter")
    row = page.locator(f"#cx-table tr[data-case='{case_id}']")
    row.wait_for()
    _says(page, f"#cx-table tr[data-case='{case_id}']", "weakest step 2: 0.10 (PRM browser)")
    row.click()
    page.locator("#cx-chain .cx-step").first.wait_for()


def test_admin_chooses_the_order_and_a_reviewer_reads_why_and_turns_hints_on(live, new_page) -> None:  # noqa: ANN001
    from services import prioritize
    from training.active_learning.scoring import prioritize_open_cases

    live.user(ADMIN, "admin")
    live.user(REVIEWER)
    case_id, _chain, _steps = live.case(STEPS)
    prioritize_open_cases(factory=live.factory, scorer=EffusionSceptic(), prm="PRM browser", actor="test")
    try:
        admin = new_page()
        login(admin, live, ADMIN, path="/admin/")
        _says(admin, "#cx-admin-priority", "First in, first out")
        _choose(admin, "cx-priority-strategy", "Weakest step first")
        _says(admin, "#cx-priority-notice", "Worklist ordered by weakest step first")
        _says(admin, "#cx-admin-priority", "by lowest with PRM browser")
        admin.click("#cx-priority-hints input[type=checkbox]")
        _says(admin, "#cx-priority-notice", "Step hints are on for every reviewer")
        admin.click("#cx-priority-hints input[type=checkbox]")
        _says(admin, "#cx-priority-notice", "each reviewer's own choice again")

        page = new_page()
        login(page, live, REVIEWER)
        _open(page, case_id)
        assert _markers(page) == 0  # off by default: nothing anchors the reader
        page.click("#cx-hints input[type=checkbox]")
        _says(page, "#cx-notice", "Step hints on")
        page.locator("#cx-chain .cx-risk").first.wait_for()
        assert _markers(page) == 3
        title = page.get_attribute("#cx-chain .cx-step:nth-child(2) .cx-risk", "title")
        assert title == "Step hint: PRM browser puts the risk that this step is wrong at 0.90"
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#cx-chain").screenshot(path=str(ARTIFACTS / "review-step-hints.png"))

        page.reload()  # the choice is the reviewer's, stored: it survives a reload (the case reopens)
        page.locator("#cx-hints input[type=checkbox]:checked").wait_for(state="attached")
        page.locator("#cx-chain .cx-risk").first.wait_for()
        assert _markers(page) == 3
        page.click("#cx-hints input[type=checkbox]")
        _says(page, "#cx-notice", "Step hints off")
        page.wait_for_function("document.querySelectorAll('#cx-chain .cx-risk').length === 0")
        assert page.locator("#cx-chain .cx-step").count() == 3
    finally:  # the other browser tests expect the worklist by priority and age, and no hints
        prioritize.set_strategy(factory=live.factory, strategy="fifo", actor="test")
