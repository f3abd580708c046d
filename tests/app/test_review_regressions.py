"""The review page's failures found by trying it as a new user would (issue 13), in chromium.

Each test failed before its fix: a verdict carried over from the previous case's form, a stale
tab changing a submitted review, a fresh chain silently replacing judged work (and the answer
panel keeping the old answer), an unusable chain that could be agreed with, cases without a chain
that could not be reached, and a closed tab that kept its claim.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.app.conftest import SCRIPTED, login, open_case
from tests.app.test_reviewer_journey import _choose, _notice, _search, _wait_rows

pytestmark = pytest.mark.browser

TOP = 4000


def _count(live, model, **where) -> int:  # noqa: ANN001
    with live.factory() as s:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return s.scalar(query)


def test_a_verdict_carried_over_from_another_case_is_refused(live, new_page) -> None:  # noqa: ANN001
    """The browser keeps ticked inputs when Gradio redraws the panel; the server must not trust them."""
    from review_db.models import ChainReview

    live.user("carry-rev")
    case_id, chain_id, _ = live.case(("Only step.",), priority=TOP + 9, question="Carry: one?")
    page = new_page()
    login(page, live, "carry-rev")
    _search(page, "Carry:")
    open_case(page, case_id)
    page.click("#cx-chain button[data-act=accept]")
    page.wait_for_selector("#cx-chain .cx-step[data-verdict=accept]")
    # What a carried-over tick looks like to the page: checked, but chosen for no form of this case.
    page.evaluate("document.querySelector('#cx-answer-verdict input[value=agree]').checked = true")
    page.keyboard.press("Control+Enter")
    _notice(page, "error", "on this case")
    assert _count(live, ChainReview, chain_id=chain_id) == 0
    page.keyboard.press("y")  # chosen here: accepted
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#cx-notice .cx-ok, #cx-worklist .cx-ok")
    assert _count(live, ChainReview, chain_id=chain_id) == 1


def test_a_stale_tab_cannot_change_a_submitted_review(live, new_page) -> None:  # noqa: ANN001
    from review_db.models import Step, StepVerdict

    rev = live.user("stale-rev")
    case_id, chain_id, steps = live.case(("Step one.", "Step two."), priority=TOP + 8, question="Stale: two?")
    a, b = new_page(), new_page()
    for tab in (a, b):
        login(tab, live, "stale-rev")
        _search(tab, "Stale:")
        open_case(tab, case_id)
    for n in (1, 2):
        a.click(f"#cx-chain .cx-step[data-step-id='{steps[n - 1]}'] button[data-act=accept]")
        a.wait_for_selector(f"#cx-chain .cx-step[data-step-id='{steps[n - 1]}'][data-verdict=accept]")
    a.keyboard.press("y")
    a.keyboard.press("Control+Enter")
    a.wait_for_selector("#cx-notice .cx-ok, #cx-worklist .cx-ok")
    before = _count(live, StepVerdict, reviewer_id=rev)
    b.click(f"#cx-chain .cx-step[data-step-id='{steps[0]}'] button[data-act=reject]")
    b.wait_for_selector("#cx-chain .cx-notice.cx-error:has-text('Amend my review')")
    b.keyboard.press("Escape")
    b.click("#cx-chain button[data-act=insert-first]")
    b.fill("#cx-chain .cx-editor textarea", "A step from a stale tab.")
    b.keyboard.press("Enter")
    b.wait_for_selector("#cx-chain[data-readonly] .cx-notice.cx-error, #cx-chain .cx-notice.cx-error")
    assert _count(live, StepVerdict, reviewer_id=rev) == before
    assert _count(live, Step, chain_id=chain_id, author_id=rev) == 0
    # The stale tab's next case: a fresh claim on the submitted case is refused too.
    b.click("#cx-next2")
    b.wait_for_function(f"!document.querySelector('#cx-header [data-case-id=\"{case_id}\"]')")


def test_a_fresh_chain_asks_before_replacing_judged_work_and_refreshes_every_panel(live, new_page) -> None:  # noqa: ANN001
    from review_db.models import Chain, StepVerdict

    rev = live.user("fresh-rev")
    case_id, old_chain, steps = live.case(
        ("An old step.", "Another old step."), priority=TOP + 7, question="Fresh: which?", answer="C"
    )
    page = new_page()
    login(page, live, "fresh-rev")
    _search(page, "Fresh:")
    open_case(page, case_id)
    assert "C) Effusion" in page.inner_text("#cx-answer .cx-answerlabel")
    page.click("#cx-chain button[data-act=accept]")
    page.wait_for_selector("#cx-chain .cx-step[data-verdict=accept]")
    page.click("#cx-generate")
    _notice(page, "info", "Replace it?")
    assert _count(live, Chain, case_id=case_id) == 1  # nothing replaced yet
    page.click("#cx-confirm")
    _notice(page, "ok", "fresh chain")
    assert page.locator("#cx-chain .cx-step[data-kind=model]").count() == 3  # the scripted model's steps
    assert "A) No acute findings" in page.inner_text("#cx-answer .cx-answerlabel")  # the new answer
    with live.factory() as s:
        newest = s.scalar(select(Chain).where(Chain.case_id == case_id).order_by(Chain.id.desc()))
        assert newest.id != old_chain and [st.text for st in newest.steps][0] == "The lungs are clear."
        kept = s.scalars(select(StepVerdict).where(StepVerdict.reviewer_id == rev)).all()
        assert [(v.step_id, v.verdict.value) for v in kept] == [(steps[0], "accept")]  # old verdicts kept
    assert page.get_attribute("#cx-answer form", "data-chain") == str(newest.id)
    assert SCRIPTED.startswith("<think>")


def test_stop_ends_a_fresh_chain_and_stores_nothing(live, new_page) -> None:  # noqa: ANN001
    from review_db.models import Chain

    live.user("stop-rev")
    case_id, _chain, _ = live.case(None, priority=TOP + 6, question="Stop: no chain yet?")
    page = new_page()
    login(page, live, "stop-rev")
    _choose(page, "cx-f-status", "Waiting for a chain")
    _wait_rows(page, lambda rows: case_id in rows)
    assert "Waiting for a chain" in page.inner_text("#cx-table")
    open_case(page, case_id, steps=False)  # no chain yet
    assert "Waiting for a chain" in page.inner_text("#cx-chain")
    live.slow_model(0.5)  # slow enough to press Stop mid-way
    try:
        page.click("#cx-generate")
        page.wait_for_selector("#cx-chain .cx-streaming")
        page.click("#cx-stop")
        page.wait_for_selector("#cx-generate", state="visible")
    finally:
        live.slow_model(0.0)
    time.sleep(1)
    assert _count(live, Chain, case_id=case_id) == 0
    page.click("#cx-generate")  # and without Stop the chain arrives and can be reviewed
    _notice(page, "ok", "fresh chain")
    assert _count(live, Chain, case_id=case_id) == 1
    assert page.locator("#cx-chain button[data-act=accept]").count() == 3


def test_an_empty_chain_is_judged_unusable_and_the_case_waits_for_a_chain(live, new_page) -> None:  # noqa: ANN001
    from review_db.models import Case, ChainReview

    rev = live.user("unusable-rev")
    case_id, chain_id, _ = live.case((), priority=TOP + 5, question="Unusable: empty?")
    page = new_page()
    login(page, live, "unusable-rev")
    _search(page, "Unusable:")
    open_case(page, case_id, steps=False)  # an empty chain
    assert "cannot be verified" in page.inner_text("#cx-answer")
    assert page.is_disabled("#cx-answer-verdict input[value=agree]")
    page.keyboard.press("y")  # refused by the page: agreeing is not offered
    assert not page.is_checked("#cx-answer-verdict input[value=agree]")
    page.keyboard.press("u")
    page.keyboard.press("Control+Enter")  # no reason yet
    _notice(page, "error", "why the chain is unusable")
    page.fill("#cx-comment", "The model gave no reasoning at all.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#cx-notice .cx-ok, #cx-worklist .cx-ok")
    with live.factory() as s:
        review = s.scalar(select(ChainReview).where(ChainReview.chain_id == chain_id))
        assert (review.reviewer_id, review.answer_verdict.value) == (rev, "unusable")
        assert review.comment == "The model gave no reasoning at all."
        case = s.get(Case, case_id)
        assert (case.status.value, case.review_count) == ("open", 0)


def test_closing_the_tab_gives_the_case_back(live, new_page) -> None:  # noqa: ANN001
    from review_db.models import CaseLock

    live.user("close-rev")
    case_id, _chain, _ = live.case(("A step.",), priority=TOP + 4, question="Close: a step?")
    page = new_page()
    login(page, live, "close-rev")
    _search(page, "Close:")
    open_case(page, case_id)
    with live.factory() as s:
        assert s.get(CaseLock, case_id) is not None
    time.sleep(11)  # the lease-renewal timer ticks (every 10 s here) while the case is open
    assert "Claimed by you" in page.inner_text("#cx-header")
    page.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with live.factory() as s:
            if s.get(CaseLock, case_id) is None:
                break
        time.sleep(0.5)
    with live.factory() as s:
        assert s.get(CaseLock, case_id) is None
