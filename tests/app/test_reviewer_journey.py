"""The radiologist's journey (../shared/JOURNEYS.md), start to finish, in Debian's chromium.

One reviewer logs in, finds cases through the worklist (filters, search, pages, order), judges
every step by mouse and by keyboard, judges the answer, submits; the next case opens blank; goes
back, releases, reopens a submitted case read-only and amends it; reloads mid-review and gets the
draft back; asks the model for a fresh chain (asked first, because it replaces judged work),
stops one; marks an unusable chain; logs out, and Back does not show the app. At the end the
database holds exactly what the reviewer decided: these verdicts, steps, reviews and nothing else.
"""

from __future__ import annotations

import time

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
TOP = 5000  # priority: the journey's cases come first in this reviewer's worklist


def _choose(page, elem_id: str, label: str) -> None:  # noqa: ANN001
    """Pick ``label`` in a Gradio dropdown (a real click, which fires its input event)."""
    page.click(f"#{elem_id} input")
    page.locator("ul[role=listbox] li", has_text=label).first.click()


def _search(page, text: str) -> None:  # noqa: ANN001
    box = page.locator("#cx-f-search textarea, #cx-f-search input").first
    box.fill(text)
    box.press("Enter")


def _rows(page) -> list[int]:  # noqa: ANN001
    return [
        int(r)
        for r in page.eval_on_selector_all("#cx-table tr[data-case]", "rs => rs.map(r => r.dataset.case)")
    ]


def _wait_rows(page, expected, within: float = 20) -> list[int]:  # noqa: ANN001
    """Wait until the worklist's rows are ``expected`` (a list, or a test of the list)."""
    ok = expected if callable(expected) else (lambda rows: rows == expected)
    deadline = time.monotonic() + within
    while not ok(rows := _rows(page)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ok(rows), rows
    return rows


def _notice(page, kind: str, text: str, where: str = "#cx-notice") -> None:  # noqa: ANN001
    page.wait_for_selector(f'{where} .cx-{kind}:has-text("{text}")')


def test_reviewer_journey(live, new_page) -> None:  # noqa: ANN001, PLR0915 - one journey, start to finish
    from review_db.models import CaseLock, ChainReview, Step

    rev = live.user("journey-rev")
    first, chain1, s1 = live.case(STEPS, priority=TOP + 3, question="Journey: which finding is present?")
    second, chain2, s2 = live.case(STEPS[:2], priority=TOP + 2, question="Journey: a second case?")
    multi, _, _ = live.case(
        ("Two findings.",),
        priority=TOP + 1,
        task_type="multiple_choice",
        question="Journey: which findings are present?",
        answer="A,B",
        model="journey-model-v1",
    )
    page = new_page()
    login(page, live, "journey-rev")
    page.wait_for_selector("#cx-table tr[data-case]")
    assert "Waiting for you" in page.inner_text("#cx-worklist .cx-counts")

    # 1. Find cases: filter by task type and model, search by id and text, order, page through.
    _choose(page, "cx-f-task", "Multiple choice")
    _wait_rows(page, lambda rows: multi in rows and first not in rows and second not in rows)
    assert "Single choice" not in page.inner_text("#cx-table")
    _choose(page, "cx-f-task", "All task types")
    _choose(page, "cx-f-model", "journey-model-v1")
    _wait_rows(page, [multi])
    assert "journey-model-v1" in page.inner_text("#cx-table")  # the Model column names it
    _choose(page, "cx-f-model", "All models")
    _search(page, f"#{second}")
    _wait_rows(page, [second])
    _search(page, "Journey:")
    _wait_rows(page, [first, second, multi])
    _choose(page, "cx-f-order", "Newest first")
    _wait_rows(page, [multi, second, first])
    _choose(page, "cx-f-order", "Priority, then oldest")
    _search(page, "")
    _choose(page, "cx-f-demo", "Demo cases only")
    _wait_rows(page, lambda rows: rows and first not in rows)
    _choose(page, "cx-f-demo", "All cases")
    _choose(page, "cx-f-status", "Verified")
    _wait_rows(page, lambda rows: first not in rows)
    _choose(page, "cx-f-status", "Open")
    _wait_rows(page, lambda rows: first in rows)
    # Pages of 25: the live server holds more open cases than one page once the suite has run
    # a while; the pager buttons keep within the pages there are.
    page.click("#cx-page-next")
    page.click("#cx-page-prev")
    page.wait_for_function("document.querySelector('#cx-pager').innerText.startsWith('1 /')")

    # 2-4. Open the first case: judge every step by mouse and keyboard, the answer, a note, submit.
    open_case(page, first)
    assert f"case={first}" in page.url
    page.click(f"{step(1)} button[data-act=accept]")
    page.wait_for_selector(f"{step(1)}[data-verdict=accept]")
    page.click(f"{step(2)} button[data-act=correct]")
    page.fill(f"{step(2)} textarea", "The opacities are in both lungs.")
    assert page.inner_text(f"{step(2)} .cx-counter") == "32 / 4000"  # the length counter
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{step(2)}[data-verdict=correct]")
    page.click(f"{step(3)} .cx-text")
    page.keyboard.press("r")  # reject from the keyboard, then the reason
    page.fill(f"{step(3)} input.cx-field", "Heart size is normal.")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{step(3)}[data-verdict=reject] .cx-comment")
    page.keyboard.press("m")  # comment on the same step
    page.fill(f"{step(3)} input.cx-field", "Cardiothoracic ratio under 0.5.")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{step(3)} .cx-comment:has-text('Cardiothoracic')")
    page.keyboard.press("j")
    page.keyboard.press("a")
    page.wait_for_selector(f"{step(4)}[data-verdict=accept]")
    page.keyboard.press("i")  # add a missing step after step 4, then remove it again
    page.fill(f"{step(4)} textarea", "A step to remove.")
    page.keyboard.press("Enter")
    page.wait_for_selector("#cx-chain .cx-step[data-kind=added]")
    page.click("#cx-chain .cx-step[data-kind=added] button[data-act=remove]")
    page.wait_for_function("!document.querySelector('#cx-chain .cx-step[data-kind=added]')")
    page.click("#cx-chain button[data-act=insert-first]")
    page.fill("#cx-chain .cx-editor textarea", "Compare both lungs zone by zone.")
    page.keyboard.press("Enter")
    page.wait_for_selector("#cx-chain .cx-step[data-kind=added]")
    page.keyboard.press("n")  # disagree without an option: told to pick one
    page.keyboard.press("Control+Enter")
    _notice(page, "error", "pick the right option")
    page.check("#cx-options input[value=C]")
    page.fill("#cx-comment", "Effusion would be option C.")
    page.keyboard.press("Control+Enter")
    _notice(page, "ok", f"Review of case {first} submitted")
    # 5. The next case opens blank, with the confirmation in view.
    page.wait_for_selector(f"#cx-header [data-case-id='{second}']")
    assert page.evaluate("window.scrollY") == 0 and page.locator("#cx-notice .cx-ok").is_visible()
    assert not page.is_checked("#cx-answer-verdict input[value=disagree]")
    assert not page.is_checked("#cx-options input[value=C]") and page.input_value("#cx-comment") == ""
    page.keyboard.press("Control+Enter")  # nothing chosen on this case: nothing is stored
    _notice(page, "error", "Say whether you agree")

    # 7. A draft survives a reload: the correction being typed and the answer chosen.
    page.click(f"{step(1)} button[data-act=correct]")
    page.fill(f"{step(1)} textarea", "Draft: rounded opacities in both lungs.")
    page.locator("#cx-comment").fill("A note in progress.")
    page.reload()
    page.wait_for_selector(f"#cx-header [data-case-id='{second}']")
    page.wait_for_selector(f"{step(1)} textarea")
    assert page.input_value(f"{step(1)} textarea") == "Draft: rounded opacities in both lungs."
    assert page.input_value("#cx-comment") == "A note in progress."
    page.focus(f"{step(1)} textarea")
    page.keyboard.press("Escape")  # the draft is dropped on purpose

    # 5. Release the case: the lease goes, and back in the worklist.
    page.click("#cx-release")
    page.wait_for_function("document.body.dataset.cxView === 'worklist'")
    _notice(page, "ok", "released", where="#cx-worklist")
    with live.factory() as s:
        assert s.get(CaseLock, second) is None
    # Reopen the submitted case: read-only, then amend it deliberately.
    _choose(page, "cx-f-status", "Reviewed by you")
    open_case(page, first)
    assert "You have submitted your review" in page.inner_text("#cx-header")
    assert (
        page.locator("#cx-chain button[data-act=accept]").count() == 0
        and page.locator("#cx-submit").is_disabled()
    )
    page.click("#cx-amend")
    _notice(page, "ok", "reopened for amendment")
    step1 = f"#cx-chain .cx-step[data-step-id='{s1[0]}']"  # the added step now comes first
    page.click(f"{step1} button[data-act=reject]")
    page.keyboard.press("Escape")  # no reason
    page.wait_for_selector(f"{step1}[data-verdict=reject]")
    assert page.is_checked("#cx-options input[value=C]")  # the earlier answer is shown to amend
    page.click("#cx-submit")  # nothing else in "Reviewed by you" to amend: back to that list
    _notice(page, "ok", f"Review of case {first} submitted", where="#cx-worklist")
    # ← Worklist from a case (the lease is left to lapse), then log out: Back shows the login.
    _choose(page, "cx-f-status", "Open")
    open_case(page, multi)
    page.click("#cx-back")
    page.wait_for_function("document.body.dataset.cxView === 'worklist'")
    assert "case=" not in page.url
    page.click("button.cx-logout")
    page.wait_for_url("**/login**")
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('cx-draft'))") == []
    page.go_back()
    page.wait_for_url("**/login?next=**")
    assert page.locator("#username").is_visible()

    # The database holds exactly what the reviewer decided.
    assert live.verdicts(rev) == [
        (s1[0], "accept", None, ""),
        (s1[1], "correct", "The opacities are in both lungs.", ""),
        (s1[2], "reject", None, ""),
        (s1[2], "reject", None, "Heart size is normal."),
        (s1[2], "reject", None, "Cardiothoracic ratio under 0.5."),
        (s1[3], "accept", None, ""),
        (s1[0], "reject", None, ""),  # the amendment
    ]
    with live.factory() as s:
        reviews = s.scalars(select(ChainReview).where(ChainReview.reviewer_id == rev)).all()
        assert [
            (r.chain_id, r.answer_verdict.value, r.corrected_answer, r.comment, r.reopened_at)
            for r in reviews
        ] == [(chain1, "disagree", "C", "Effusion would be option C.", None)]
        added = s.scalars(select(Step).where(Step.author_id == rev)).all()
        assert [(a.chain_id, a.text, a.inserted_after) for a in added] == [
            (chain1, "Compare both lungs zone by zone.", -1)
        ]
        assert (
            s.scalar(select(func.count()).select_from(ChainReview).where(ChainReview.chain_id == chain2)) == 0
        )
    assert s2  # the second case's steps were never judged
