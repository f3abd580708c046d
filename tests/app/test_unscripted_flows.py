"""Flows no journey scripts, as a hurried or hesitant person does them, in Debian's chromium.

Keys typed into a text box are text, not shortcuts; a reviewer who changes their mind leaves the
last verdict current (every one audited); keys pressed faster than the server answers all land,
once each; a double submit stores one review; a submit with steps left stores nothing; a blank
correction is not sent. The answer's keys work from an answer option too (a reviewer who pressed
``n`` and changes their mind presses ``y``). The browser's Back and Forward move between the
worklist and a case (the library and a replay) and never show a stale login page. After each, the
database holds exactly what the reviewer decided.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.app.conftest import login, open_case, step

pytestmark = pytest.mark.browser

STEPS = (
    "The lungs show multiple rounded opacities.",
    "The opacities are confined to the right lung.",
    "The heart is enlarged.",
    "Multiple nodules suggest metastatic disease.",
)
TOP = 3000  # below the journeys' and regressions' cases, whose "next case" must stay theirs


def _reviews(live, chain_id: int) -> list[tuple]:  # noqa: ANN001
    from review_db.models import ChainReview

    with live.factory() as s:
        rows = s.scalars(select(ChainReview).where(ChainReview.chain_id == chain_id)).all()
        return [(r.reviewer_id, r.answer_verdict.value, r.corrected_answer, r.comment) for r in rows]


def _start(live, new_page, name: str, priority: int):  # noqa: ANN001, ANN202
    reviewer = live.user(name)
    case_id, chain_id, step_ids = live.case(STEPS, priority=priority, question=f"{name}: which finding?")
    page = new_page()
    login(page, live, name)
    open_case(page, case_id)
    return reviewer, case_id, chain_id, step_ids, page


def test_shortcut_letters_typed_into_text_boxes_are_text(live, new_page) -> None:  # noqa: ANN001
    reviewer, _, chain_id, ids, page = _start(live, new_page, "typing-rev", TOP + 9)
    page.click(f"{step(1)} button[data-act=accept]")
    page.wait_for_selector(f"{step(1)}[data-verdict=accept]")
    page.click(f"{step(1)} .cx-text")
    page.keyboard.press("m")  # a comment, typed with the letters the shortcuts use
    page.keyboard.type("a j k c r y n u i ?")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{step(1)} .cx-comment:has-text('a j k c r y n u i ?')")
    page.click(f"{step(2)} button[data-act=reject]")
    page.keyboard.type("y n a")  # the reason
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{step(2)}[data-verdict=reject] .cx-comment:has-text('y n a')")
    page.click("#cx-comment")
    page.keyboard.type("yes, not unusable")  # the review's note
    assert not page.is_checked("#cx-answer-verdict input[value=agree]")
    assert not page.is_checked("#cx-answer-verdict input[value=disagree]")
    assert not page.locator("#cx-help").is_visible()
    assert page.get_attribute(step(3), "data-verdict") == ""  # nothing typed judged a step
    assert live.verdicts(reviewer) == [
        (ids[0], "accept", None, ""),
        (ids[0], "accept", None, "a j k c r y n u i ?"),
        (ids[1], "reject", None, ""),
        (ids[1], "reject", None, "y n a"),
    ]
    assert _reviews(live, chain_id) == []


def test_a_changed_mind_leaves_the_last_verdict_current(live, new_page) -> None:  # noqa: ANN001
    from review_db.models import AuditLog, StepVerdict

    reviewer, case_id, chain_id, ids, page = _start(live, new_page, "mind-rev", TOP + 8)
    page.click(f"{step(1)} .cx-text")
    page.keyboard.press("a")
    page.wait_for_selector(f"{step(1)}[data-verdict=accept]")
    page.click(f"{step(1)} .cx-text")
    page.keyboard.press("r")  # no, reject it after all
    page.keyboard.press("Escape")  # no reason
    page.wait_for_selector(f"{step(1)}[data-verdict=reject]")
    for n in (2, 3, 4):
        page.click(f"{step(n)} button[data-act=accept]")
        page.wait_for_selector(f"{step(n)}[data-verdict=accept]")
    page.keyboard.press("y")
    page.keyboard.press("n")  # disagree after all: the first option takes the focus
    assert page.evaluate("document.activeElement.name") == "cx-option"
    page.keyboard.press("y")  # and agree again, from the option
    assert page.is_checked("#cx-answer-verdict input[value=agree]")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(f'#cx-notice .cx-ok:has-text("Review of case {case_id} submitted")')
    assert live.verdicts(reviewer) == [
        (ids[0], "accept", None, ""),
        (ids[0], "reject", None, ""),
        (ids[1], "accept", None, ""),
        (ids[2], "accept", None, ""),
        (ids[3], "accept", None, ""),
    ]
    assert _reviews(live, chain_id) == [(reviewer, "agree", None, "")]
    with live.factory() as s:
        verdict_ids = s.scalars(select(StepVerdict.id).where(StepVerdict.reviewer_id == reviewer)).all()
        audited = s.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.entity == "step_verdicts", AuditLog.entity_id.in_([str(i) for i in verdict_ids]))
        )
    assert audited == len(verdict_ids) == 5  # every verdict, the changed one too, is in the audit


def test_keys_faster_than_the_server_all_land_once(live, new_page) -> None:  # noqa: ANN001
    reviewer, case_id, chain_id, ids, page = _start(live, new_page, "fast-rev", TOP + 7)
    page.click(f"{step(1)} .cx-text")
    for _ in STEPS:
        page.keyboard.press("a")  # no wait between keys: each accepts and moves on
    page.wait_for_selector(f"{step(4)}[data-verdict=accept]")
    page.keyboard.press("y")
    page.keyboard.press("Control+Enter")
    page.keyboard.press("Control+Enter")  # a second submit before the first is answered
    page.wait_for_selector(f'#cx-notice .cx-ok:has-text("Review of case {case_id} submitted")')
    page.wait_for_timeout(1000)  # give a second submit time to land, if it were to
    assert live.verdicts(reviewer) == [(i, "accept", None, "") for i in ids]
    assert _reviews(live, chain_id) == [(reviewer, "agree", None, "")]


def test_a_submit_with_steps_left_or_an_empty_correction_stores_nothing(live, new_page) -> None:  # noqa: ANN001
    reviewer, _, chain_id, ids, page = _start(live, new_page, "early-rev", TOP + 6)
    page.click(f"{step(1)} button[data-act=accept]")
    page.wait_for_selector(f"{step(1)}[data-verdict=accept]")
    page.click(f"{step(2)} button[data-act=correct]")
    page.fill(f"{step(2)} textarea", "   ")
    page.keyboard.press("Enter")  # a blank correction is not sent: the editor stays open
    page.wait_for_timeout(500)
    assert page.locator(f"{step(2)} textarea").is_visible()
    assert page.get_attribute(step(2), "data-verdict") == ""
    page.keyboard.press("Escape")
    page.check("#cx-answer-verdict input[value=agree]")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector('#cx-notice .cx-error:has-text("step")')
    assert live.verdicts(reviewer) == [(ids[0], "accept", None, "")]
    assert _reviews(live, chain_id) == []


def test_the_browsers_back_and_forward_move_between_worklist_and_case(live, new_page) -> None:  # noqa: ANN001
    reviewer, case_id, _, ids, page = _start(live, new_page, "history-rev", TOP + 5)
    page.click(f"{step(1)} button[data-act=accept]")
    page.wait_for_selector(f"{step(1)}[data-verdict=accept]")
    page.go_back()  # from the case: the worklist, still logged in
    page.wait_for_function("document.body.dataset.cxView === 'worklist'")
    assert "case=" not in page.url
    page.go_forward()  # and the case again, as it was left
    page.wait_for_selector(f"#cx-header [data-case-id='{case_id}']")
    page.wait_for_selector(f"{step(1)}[data-verdict=accept]")
    page.go_back()
    page.wait_for_function("document.body.dataset.cxView === 'worklist'")
    page.go_back()  # onto the login page the session began on: a reviewer still logged in goes on
    page.wait_for_url("**/review/")
    page.wait_for_selector("#cx-table tr[data-case]")
    # The page's own way back, a reload, the case again: Back still returns to the worklist.
    open_case(page, case_id)
    page.click("#cx-back")
    page.wait_for_function("document.body.dataset.cxView === 'worklist'")
    page.reload()
    open_case(page, case_id)
    page.go_back()
    page.wait_for_function("document.body.dataset.cxView === 'worklist'")
    assert "case=" not in page.url
    assert live.verdicts(reviewer) == [(ids[0], "accept", None, "")]  # moving about judged nothing


def test_the_browsers_back_leaves_a_replay_for_the_library(live, new_page) -> None:  # noqa: ANN001
    from services.demo import DEMO_EDUCATOR, DEMO_PASSWORD

    page = new_page()
    login(page, live, DEMO_EDUCATOR, DEMO_PASSWORD, path="/teach/")
    page.click("#cx-library tr[data-case]")
    page.wait_for_function("document.body.dataset.cxView === 'replay'")
    page.go_back()
    page.wait_for_function("document.body.dataset.cxView === 'library'")
    assert "/teach/" in page.url and page.locator("#cx-library tr[data-case]").count() > 0
