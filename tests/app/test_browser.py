"""The review app in a real browser (Debian's chromium through Playwright).

A reviewer logs in, opens a case, accepts step 1, corrects step 2, rejects step 3, adds a step
and submits: the database then holds exactly those verdicts. A second reviewer sees the case
locked. Step text with markup renders as text. Page load is timed.
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


def test_review_flow_stores_exactly_the_verdicts_given(live, new_page) -> None:  # noqa: ANN001
    from review_db.models import ChainReview, Step, StepVerdict

    reviewer = live.user("flow-rev")
    case_id, chain_id, step_ids = live.case(STEPS)
    page = new_page()
    login(page, live, "flow-rev")
    open_case(page, case_id)

    page.keyboard.press("?")  # the help overlay lists the keys
    assert page.locator("#cx-help").is_visible() and "Ctrl+Enter" in page.inner_text("#cx-help")
    page.keyboard.press("Escape")
    assert not page.locator("#cx-help").is_visible()

    page.click(f"{step(1)} button[data-act=accept]")
    page.wait_for_selector(f"{step(1)}[data-verdict=accept]")

    page.click(f"{step(2)} button[data-act=correct]")
    page.fill(f"{step(2)} textarea", "The opacities are in both lungs.")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{step(2)}[data-verdict=correct]")

    page.click(f"{step(3)} button[data-act=reject]")
    page.fill(f"{step(3)} input.cx-field", "Heart size is normal.")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{step(3)}[data-verdict=reject] .cx-comment")

    # step 4 from the keyboard: focus it with j, accept with a
    page.click(f"{step(3)} .cx-text")
    page.keyboard.press("j")
    page.keyboard.press("a")
    page.wait_for_selector(f"{step(4)}[data-verdict=accept]")

    page.click(f"{step(4)} button[data-act=insert]")
    page.fill(f"{step(4)} textarea", "Compare both lungs zone by zone.")
    page.keyboard.press("Enter")
    page.wait_for_selector("#cx-chain .cx-step[data-kind=added]")
    assert "4 of 4 steps judged" in page.inner_text("#cx-chain")

    page.check("#cx-answer-verdict input[value=agree]")
    page.keyboard.press("Control+Enter")  # the documented shortcut for Submit
    page.wait_for_selector("#cx-notice .cx-ok, #cx-worklist .cx-ok")

    with live.factory() as s:
        rows = s.execute(
            select(StepVerdict.step_id, StepVerdict.verdict, StepVerdict.corrected_text, StepVerdict.comment)
            .where(StepVerdict.reviewer_id == reviewer)
            .order_by(StepVerdict.step_id, StepVerdict.id)
        ).all()
        added = s.scalars(select(Step).where(Step.chain_id == chain_id, Step.kind == "added")).all()
        review = s.scalar(select(ChainReview).where(ChainReview.chain_id == chain_id))
    assert [(r[0], r[1].value, r[2], r[3]) for r in rows] == [
        (step_ids[0], "accept", None, ""),
        (step_ids[1], "correct", "The opacities are in both lungs.", ""),
        (step_ids[2], "reject", None, ""),  # the reject itself, then the reason as a second row
        (step_ids[2], "reject", None, "Heart size is normal."),
        (step_ids[3], "accept", None, ""),
    ]
    assert [(a.text, a.inserted_after, a.author_id) for a in added] == [
        ("Compare both lungs zone by zone.", 3, reviewer)
    ]
    assert review is not None and review.answer_verdict.value == "agree" and review.time_spent_s > 0


def test_second_reviewer_sees_the_case_locked(live, new_page) -> None:  # noqa: ANN001
    live.user("lock-a")
    live.user("lock-b")
    case_id, _chain, _steps = live.case(("One step.", "Two steps."))
    first, second = new_page(), new_page()
    login(first, live, "lock-a")
    open_case(first, case_id)
    assert "Claimed by you" in first.inner_text("#cx-header")

    login(second, live, "lock-b")
    second.wait_for_selector(f"#cx-inprogress tr[data-case='{case_id}']")
    assert "lock-a" in second.inner_text("#cx-inprogress")
    second.click(f"#cx-inprogress tr[data-case='{case_id}']")
    second.wait_for_selector("#cx-header .cx-readonly")
    header = second.inner_text("#cx-header")
    assert "lock-a is reviewing this case until" in header and "UTC" in header
    assert second.locator("#cx-chain button[data-act=accept]").count() == 0  # read-only: no actions
    assert second.locator("#cx-submit").is_disabled()


def test_step_markup_renders_as_text(live, new_page) -> None:  # noqa: ANN001
    live.user("xss-rev")
    evil = "<script>alert(1)</script> and <img src=x onerror=alert(2)>"
    case_id, _chain, _steps = live.case((evil, "A plain second step."))
    page = new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, live, "xss-rev")
    open_case(page, case_id)
    assert page.inner_text(f"{step(1)} .cx-text") == evil
    assert page.locator("#cx-chain script").count() == 0 and page.locator("#cx-chain img").count() == 0
    page.click(f"{step(1)} button[data-act=correct]")  # the editor shows it as text too
    assert page.input_value(f"{step(1)} textarea") == evil
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert dialogs == []


def test_reviewer_cannot_open_the_export_page(live, new_page) -> None:  # noqa: ANN001
    live.user("nosy-rev")
    page = new_page()
    login(page, live, "nosy-rev")
    page.wait_for_selector("#cx-table")
    response = page.goto(live.url + "/export/")
    assert response.status == 403
    assert "may not open this page" in page.inner_text("body")
    assert page.locator("a[href='/export/']").count() == 0


def test_page_load_to_interactive_within_two_seconds(live, new_page) -> None:  # noqa: ANN001
    live.user("speedy")
    page = new_page()
    login(page, live, "speedy")
    page.wait_for_selector("#cx-table tr[data-case]")  # warm: assets cached, as on a working day
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        page.goto(live.url + "/review/")
        page.wait_for_selector("#cx-table tr[data-case]")
        timings.append(time.perf_counter() - start)
    assert min(timings) <= 2.0, timings


def test_no_request_leaves_the_machine(live, new_page) -> None:  # noqa: ANN001
    live.user("offline")
    page = new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live.url) else None)
    login(page, live, "offline")
    page.wait_for_selector("#cx-table tr[data-case]")
    page.click("#cx-next")
    page.wait_for_selector("#cx-viewer img.cx-img")
    # the viewer: a preset asks the authorised route for that window; zoom is a transform
    page.click("#cx-viewer button[data-preset=lung]")
    page.wait_for_function("document.querySelector('#cx-viewer img.cx-img').src.includes('preset=lung')")
    assert page.get_attribute("#cx-viewer button[data-preset=lung]", "aria-pressed") == "true"
    page.click("#cx-viewer .cx-stage")
    page.keyboard.press("+")
    assert "scale(1.25)" in page.get_attribute("#cx-viewer img.cx-img", "style")
    page.wait_for_timeout(500)
    assert [u for u in outside if not u.startswith(("data:", "blob:"))] == []


def test_educator_replays_a_verified_case(live, new_page) -> None:  # noqa: ANN001
    from review_db.models import Case
    from services.demo import DEMO_EDUCATOR, DEMO_PASSWORD

    with live.factory() as s:
        verified = s.scalar(select(func.min(Case.id)).where(Case.external_id == "demo:rg1-verified"))
    page = new_page()
    login(page, live, DEMO_EDUCATOR, DEMO_PASSWORD, path="/teach/")
    page.wait_for_selector(f"#cx-library tr[data-case='{verified}']")
    page.click(f"#cx-library tr[data-case='{verified}']")
    page.wait_for_selector("#cx-replay .cx-st-hidden")
    assert page.locator("#cx-replay .cx-st-replay").count() == 0
    page.click("#cx-next-step")
    page.wait_for_selector("#cx-replay .cx-st-replay:nth-child(1)")  # a click while one is pending is dropped
    page.click("#cx-next-step")
    page.wait_for_selector("#cx-replay .cx-st-replay:nth-child(2)")
    diff = page.inner_html("#cx-replay .cx-st-replay:nth-child(2) .cx-diff")  # the correction as a diff
    assert "<del>" in diff and "<ins>" in diff
    page.click("#cx-reveal")
    page.wait_for_selector("#cx-answer-reveal .cx-notice")  # the quiz comes first
    page.locator("#cx-quiz label", has_text="C) Both lungs").click()
    page.click("#cx-reveal")
    page.wait_for_selector("#cx-answer-reveal .cx-reveal")
    assert "You were right" in page.inner_text("#cx-answer-reveal")


def test_fresh_chain_streams_into_the_page(live, new_page) -> None:  # noqa: ANN001
    from review_db.models import Chain

    live.user("gen-rev")
    case_id, old_chain, _steps = live.case(("An old step.",))
    page = new_page()
    login(page, live, "gen-rev")
    open_case(page, case_id)
    page.click("text=Ask the model for a fresh chain")
    page.wait_for_selector("#cx-notice .cx-ok")  # stored and ready
    assert page.locator(f"{step(3)}[data-step-id]").count() == 1  # the scripted model's three steps
    assert "The heart size is normal." in page.inner_text("#cx-chain")
    with live.factory() as s:
        newest = s.scalar(select(Chain).where(Chain.case_id == case_id).order_by(Chain.id.desc()))
        assert newest.id != old_chain and newest.source_detail == "scripted-test-model"
        assert len(newest.steps) == 3
