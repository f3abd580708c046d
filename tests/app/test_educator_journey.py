"""The educator's journey (../shared/JOURNEYS.md), start to finish in a real browser.

The demo's educator logs in, filters the library of verified cases, replays a chain with the
keys a keyboard or a presenter clicker sends (→ Space PageDown, ← PageUp) and with the buttons,
switches presenter mode (large text), answers the quiz (one radio for a single-choice question,
checkboxes for multiple choice) and reveals: right or wrong, the verified answer, the reviewers'
verdicts and corrections, scrolled into view. Nothing is written to the database and the server
log holds no traceback. The verified cases are made through the real review store.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.app.conftest import login
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser
LEASE = dt.timedelta(minutes=15)
SINGLE = (
    "Where are the nodules on this teaching radiograph?",
    ["Right lung only", "Left lung only", "Both lungs"],
)
MULTI = (
    "Which findings does this teaching radiograph show?",
    ["Nodules", "Pleural effusion", "Cardiomegaly"],
)


def _verify(live, case_id: int, reviewer: str, verdicts, *, answer: str, note: str) -> None:  # noqa: ANN001
    """``reviewer`` judges every step (verdict, correction, comment) and submits a disagreement."""
    from review_db import store
    from review_db.engine import session_scope
    from review_db.models import Chain, User

    with session_scope(live.factory, actor="test") as s:
        user = s.scalar(select(User).where(User.username == reviewer))
        chain = s.scalar(select(Chain).where(Chain.case_id == case_id))
        store.claim_case(session=s, case_id=case_id, reviewer_id=user.id, lease=LEASE)
        for step, (verdict, text, comment) in zip(
            sorted(chain.steps, key=lambda x: x.position), verdicts, strict=True
        ):
            store.record_verdict(
                session=s, step_id=step.id, reviewer_id=user.id, verdict=verdict,
                corrected_text=text, comment=comment, lease=LEASE,
            )  # fmt: skip
        store.submit_review(
            session=s, chain_id=chain.id, reviewer_id=user.id, answer_verdict="disagree",
            corrected_answer=answer, comment=note, time_spent_s=30.0, lease=LEASE,
        )  # fmt: skip


def _teaching_cases(live) -> tuple[int, int]:  # noqa: ANN001
    """A verified single-choice case (a correction, a rejection with its reason) and a verified
    multiple-choice one; the model answered B on both, the reviewer disagreed."""
    live.user("teach-rev")
    single, _chain, _steps = live.case(
        (
            "This is a PA chest radiograph.",
            "Rounded opacities are seen in the right lung.",
            "The left lung is clear.",
            "So the nodules are on one side.",
        ),
        question=SINGLE[0], options=SINGLE[1], reference_answer="C",
    )  # fmt: skip
    _verify(
        live, single, "teach-rev",
        [
            ("accept", None, None),
            ("correct", "Rounded opacities are seen in both lungs.", None),
            ("reject", None, "The left lung has nodules too."),
            ("reject", None, "They are bilateral."),
        ],
        answer="C", note="Both lungs carry nodules.",
    )  # fmt: skip
    multi, _chain, _steps = live.case(
        ("Rounded opacities are seen in both lungs.", "The costophrenic angles are sharp."),
        task_type="multiple_choice", question=MULTI[0], options=MULTI[1], reference_answer="A,C",
    )  # fmt: skip
    _verify(
        live, multi, "teach-rev",
        [("accept", None, None), ("accept", None, None)],
        answer="A,C", note="The heart is enlarged as well.",
    )  # fmt: skip
    return single, multi


def _snapshot(live) -> dict[str, list]:  # noqa: ANN001
    """Every row of every table but the login sessions (logging in writes one)."""
    from review_db.models import Base

    with live.factory() as s:
        return {
            t.name: sorted(map(repr, s.execute(select(t)).all()))
            for t in Base.metadata.sorted_tables
            if t.name != "login_sessions"
        }


def _shown(page) -> int:  # noqa: ANN001
    return page.locator("#cx-replay .cx-st-replay").count()


def _wait_shown(page, n: int) -> None:  # noqa: ANN001
    page.wait_for_function(f"document.querySelectorAll('#cx-replay .cx-st-replay').length === {n}")


def _pick_task(page, label: str) -> None:  # noqa: ANN001
    page.click("#cx-teach-task input")
    page.locator("ul[role=listbox] li", has_text=label).first.click()


def _in_view(page, selector: str) -> bool:  # noqa: ANN001
    return page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return r.top >= 0 && r.top < innerHeight && r.bottom > 0; }",
        selector,
    )


def test_educator_journey(live, new_page, capfd) -> None:  # noqa: ANN001, PLR0915
    from review_db.models import Case
    from services.demo import DEMO_EDUCATOR, DEMO_PASSWORD

    single, multi = _teaching_cases(live)
    with live.factory() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(Case)
                .where(Case.id.in_([single, multi]), Case.status == "verified")
            )
            == 2
        )
    page = new_page(viewport={"width": 1280, "height": 720})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # 1. Log in; the library of verified cases; filter by task type.
    login(page, live, DEMO_EDUCATOR, DEMO_PASSWORD, path="/teach/")
    page.wait_for_selector(f"#cx-library tr[data-case='{single}']")
    assert page.locator(f"#cx-library tr[data-case='{multi}']").count() == 1
    before = _snapshot(live)
    _pick_task(page, "Multiple choice")
    page.wait_for_selector(f"#cx-library tr[data-case='{single}']", state="detached")
    assert page.locator(f"#cx-library tr[data-case='{multi}']").count() == 1
    assert set(page.locator("#cx-library tbody tr td:nth-child(2)").all_inner_texts()) == {"Multiple choice"}
    _pick_task(page, "Single choice")
    page.wait_for_selector(f"#cx-library tr[data-case='{single}']")
    assert page.locator(f"#cx-library tr[data-case='{multi}']").count() == 0

    # 2. Replay one step at a time: keys of a keyboard and of a presenter clicker, and clicks.
    page.focus(f"#cx-library tr[data-case='{single}']")
    page.keyboard.press("Enter")  # a row opens from the keyboard too
    page.wait_for_selector("#cx-replay .cx-st-hidden")
    assert _shown(page) == 0 and "0 of 4 steps shown" in page.inner_text("#cx-replay")
    hint = page.inner_text("#cx-teach-keys")
    assert all(k in hint for k in ("→", "Space", "PageDown", "←", "PageUp", "Presenter mode"))
    page.locator("#cx-teach-question").click()  # focus on the page, not on a control
    for key, n in (("ArrowRight", 1), ("Space", 2), ("PageDown", 3), ("ArrowLeft", 2), ("PageUp", 1)):
        page.keyboard.press(key)
        _wait_shown(page, n)
    page.click("#cx-next-step")
    _wait_shown(page, 2)
    page.click("#cx-prev-step")
    _wait_shown(page, 1)
    page.click("#cx-show-all")
    _wait_shown(page, 4)
    page.click("#cx-prev-step")
    _wait_shown(page, 3)
    second = page.inner_html("#cx-replay .cx-st-replay:nth-child(2)")  # the correction as a diff
    assert "<del>" in second and "<ins>" in second and "Corrected" in second
    assert "The left lung has nodules too." in page.inner_text("#cx-replay .cx-st-replay:nth-child(3)")
    assert _in_view(page, "#cx-replay .cx-st-replay:nth-child(3)")

    # 3. Presenter mode: text readable from the back of a room; P and the button switch it, Esc leaves.
    small = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('#cx-replay .cx-text')).fontSize)"
    )
    page.keyboard.press("p")
    page.wait_for_function("document.body.classList.contains('cx-presenter')")
    size = "parseFloat(getComputedStyle(document.querySelector('{}')).fontSize)"
    assert page.evaluate(size.format("#cx-replay .cx-text")) >= 28 > small
    assert page.evaluate(size.format("#cx-teach-question h3")) >= 32
    # The quiz's labels grow through Gradio's own CSS transition: wait for the end of it.
    page.wait_for_function(size.format("#cx-quiz label") + " >= 26", timeout=5000)
    assert page.get_attribute("#cx-teach-keys [data-cx-presenter]", "aria-pressed") == "true"
    assert not page.locator(".cx-nav").is_visible()  # the whole screen for the case
    page.keyboard.press("Escape")
    page.wait_for_function("!document.body.classList.contains('cx-presenter')")
    page.click("#cx-teach-keys [data-cx-presenter]")
    page.wait_for_function("document.body.classList.contains('cx-presenter')")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "teach-presenter.png"))

    # 4. The quiz: one radio for a single-choice question; the reveal asks for a pick first.
    assert page.locator("#cx-quiz input[type=radio]").count() == 3
    assert not page.locator("#cx-quiz-many").is_visible()
    page.keyboard.press("PageDown")  # the 4th step
    _wait_shown(page, 4)
    page.keyboard.press("PageDown")  # after the last step: reveal, which wants the quiz answered
    page.wait_for_selector("#cx-answer-reveal .cx-notice.cx-error")
    assert "Pick your answer first" in page.inner_text("#cx-answer-reveal")
    page.locator("#cx-quiz label", has_text="A) Right lung only").click()
    page.locator("#cx-quiz label", has_text="C) Both lungs").click()
    assert page.locator("#cx-quiz input:checked").count() == 1  # picking C unpicks A
    page.keyboard.press("ArrowRight")  # a clicker's → on the focused radio reveals in presenter mode
    page.wait_for_selector("#cx-answer-reveal .cx-reveal")
    answer = page.inner_text("#cx-answer-reveal")
    assert "You were right" in answer and "Verified answer: C) Both lungs" in answer
    assert "The model answered: B) Left lung only" in answer
    assert (
        "teach-rev disagreed: the answer is C) Both lungs" in answer and "Both lungs carry nodules." in answer
    )
    assert page.locator("#cx-quiz input:checked").get_attribute("value") == "C"
    assert _in_view(page, "#cx-answer-reveal .cx-reveal")  # the reveal is on screen
    assert page.locator("#cx-quiz input[disabled]").count() == 3  # the quiz is closed

    # 5. Back to the library; a multiple-choice case: checkboxes, several picks, a wrong answer.
    page.keyboard.press("p")
    page.click("#cx-back-library")
    page.wait_for_selector("#cx-library", state="visible")
    _pick_task(page, "Multiple choice")
    page.wait_for_selector(f"#cx-library tr[data-case='{single}']", state="detached")
    page.click(f"#cx-library tr[data-case='{multi}']")
    page.wait_for_selector("#cx-quiz-many input[type=checkbox]")
    assert not page.locator("#cx-quiz").is_visible() and _shown(page) == 0
    assert page.inner_text("#cx-answer-reveal").strip() == ""  # the previous reveal is gone
    page.locator("#cx-quiz-many label", has_text="A) Nodules").click()
    page.locator("#cx-quiz-many label", has_text="B) Pleural effusion").click()
    assert page.locator("#cx-quiz-many input:checked").count() == 2
    page.click("#cx-reveal")
    page.wait_for_selector("#cx-answer-reveal .cx-reveal")
    answer = page.inner_text("#cx-answer-reveal")
    assert "Not quite" in answer and "Your answer: A) Nodules; B) Pleural effusion" in answer
    assert "Verified answer: A) Nodules; C) Cardiomegaly" in answer
    assert _shown(page) == 2 and page.locator("#cx-replay .cx-chip.cx-accept").count() == 2  # the whole chain

    assert _snapshot(live) == before  # an educator's visit writes nothing
    assert errors == []
    assert "Traceback" not in capfd.readouterr().err
