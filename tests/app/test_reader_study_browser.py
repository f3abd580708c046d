"""Reader studies in a real browser: the admin sets one up, a reader reads, a researcher analyses.

The admin picks the demo's two verified cases (one by the task-type filter, one by hand), a
reader and the three standard arms, with no washout; a bad form is refused first. The reader
reads all six reads (two cases, three periods): each read shows exactly what its arm shows, and
while a `no AI` read is shown no payload the browser received holds the model's answer or a step
(blinding in the API, not only the page); a read without an answer is refused, one read is done
from the keyboard alone, step marks are given in the reasoning arm. The database then holds the
six reads, timed by the server and audited as the reader. The researcher analyses the study and
downloads its export zip once. A second test asks the page's own endpoints (``/config``, the
load event) for a `no AI` read over plain HTTP: nothing of the chain comes back.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.app.conftest import login
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser
ADMIN, READER, RESEARCHER = "study-admin", "study-reader", "study-researcher"
NAME = "Browser pilot"
UNAIDED = "Read this case on your own"
MODEL_SAID = "The model answered"
LEASE = dt.timedelta(minutes=5)


def _type(page, selector: str, text: str) -> None:  # noqa: ANN001
    page.fill(f"{selector} textarea, {selector} input", text)


def _says(page, where: str, kind: str, text: str) -> None:  # noqa: ANN001
    page.wait_for_function(
        "([sel, kind, text]) => { const n = document.querySelector(sel + ' .cx-notice');"
        " return n && n.classList.contains('cx-' + kind) && n.innerText.includes(text); }",
        arg=[where, kind, text],
    )


def _demo_cases(live) -> dict[str, tuple[int, list[str]]]:  # noqa: ANN001
    """The demo's verified cases: question -> (case id, the model's step texts; not the step a
    reviewer added, which is not the model's reasoning and never shown to readers)."""
    from review_db.models import Case, Chain
    from vocab import CaseStatus, StepKind

    with live.factory() as s:
        out = {}
        for case in s.scalars(select(Case).where(Case.status == CaseStatus.verified, Case.is_demo.is_(True))):
            chain = s.scalars(select(Chain).where(Chain.case_id == case.id).order_by(Chain.id.desc())).first()
            model = sorted((st for st in chain.steps if st.kind is StepKind.model), key=lambda x: x.position)
            out[case.question] = (case.id, [st.text for st in model])
        return out


def _admin_creates_the_study(page, live, cases: dict) -> int:  # noqa: ANN001
    from review_db.models import ReaderStudy

    login(page, live, ADMIN, path="/study/")
    page.wait_for_selector("#cx-study-setup #cx-study-list")
    assert not page.locator("#cx-study-reader").is_visible()
    page.click("#cx-study-create")  # nothing filled in: refused, nothing written
    _says(page, "#cx-study-setup-notice", "error", "needs a name")
    _type(page, "#cx-study-name", NAME)
    page.click("#cx-study-task input")
    page.locator("ul[role=listbox] li", has_text="Yes / no").first.click()
    _type(page, "#cx-study-limit", "1")
    page.click("#cx-study-pick")  # the filter ticks the one binary verified demo case
    binary = next(cid for q, (cid, _) in cases.items() if q.startswith("Is this synthetic phantom"))
    page.wait_for_selector(f"#cx-study-cases label:has-text('#{binary} ·') input:checked")
    single = next(cid for q, (cid, _) in cases.items() if q.startswith("Where are the pulmonary"))
    page.locator("#cx-study-cases label", has_text=f"#{single} ·").click()
    page.locator("#cx-study-readers label", has_text=READER).click()
    assert page.locator("#cx-study-arms input:checked").count() == 3
    _type(page, "#cx-study-washout", "0")
    _type(page, "#cx-study-seed", "5")
    page.click("#cx-study-create")
    _says(page, "#cx-study-setup-notice", "ok", f'"{NAME}": 1 readers, 2 cases, 3 periods')
    assert "0 / 6" in page.inner_text("#cx-study-list")
    with live.factory() as s:
        study = s.scalar(select(ReaderStudy).where(ReaderStudy.name == NAME))
        assert sorted(c["case_id"] for c in study.design["cases"]) == sorted([binary, single])
        return study.id


def _plan(live, study_id: int) -> list[tuple[int, int, str]]:  # noqa: ANN001
    """(assignment id, case id, arm) in the order the reader gets them."""
    from review_db.models import ReaderAssignment

    with live.factory() as s:
        rows = s.execute(
            select(ReaderAssignment.id, ReaderAssignment.case_id, ReaderAssignment.arm)
            .where(ReaderAssignment.study_id == study_id)
            .order_by(ReaderAssignment.period, ReaderAssignment.sequence)
        ).all()
    return [tuple(r) for r in rows]


def _payloads(responses: list) -> str:  # noqa: ANN001
    """Every body the study page's server sent since the list was last cleared: the page, its
    config and its events' answers (reads and page load are unqueued: one POST each; the
    heartbeat, an endless stream, carries no data)."""
    texts = []
    for r in responses:
        path = r.url.split("?", 1)[0]
        if (
            "/study/" in path
            and path.endswith(("/study/", "/config", "/run/predict"))
            and not 300 <= r.status < 400
        ):
            texts.append(r.text())
    responses.clear()
    return "\n".join(texts)


def _check_shown(page, steps: list[str], arm: str, received: str) -> None:  # noqa: ANN001
    """The read shows what ``arm`` shows, and the server sent nothing more."""
    html = page.inner_html("#cx-study-reader")
    if arm == "no_ai":
        assert UNAIDED in html and MODEL_SAID not in html
        for text in (html, received):
            assert MODEL_SAID not in text and not [s for s in steps if s in text]
    elif arm == "answer_only":
        assert MODEL_SAID in html and not [s for s in steps if s in html + received]
    else:
        assert MODEL_SAID in html and all(s in html for s in steps)
        assert page.locator("#cx-study-helpful input").count() == len(steps)
    assert page.locator("#cx-study-helpful").is_visible() == (arm == "answer_reasoning")


def _answer(page, i: int, arm: str) -> None:  # noqa: ANN001
    """Read ``i``: pick A (first read: refused without an answer first; second: keyboard only)."""
    if i == 0:
        page.locator("#cx-study-confidence label", has_text="3").click()
        page.click("#cx-study-submit")
        _says(page, "#cx-study-message", "error", "pick your answer first")
    if i == 1:
        page.focus("#cx-study-answer input[value='A']")
        page.keyboard.press("Space")
        page.focus("#cx-study-confidence input[value='4']")
        page.keyboard.press("Space")
        page.keyboard.press("Control+Enter")
        return
    page.locator("#cx-study-answer label", has_text="A)").click()
    if arm == "answer_reasoning":
        page.locator("#cx-study-helpful label", has_text="Step 1").click()
        page.locator("#cx-study-wrong label", has_text="Step 2").click()
    page.locator("#cx-study-confidence label", has_text="5" if arm != "no_ai" else "2").click()
    page.click("#cx-study-submit")


def _reader_reads(page, live, study_id: int, cases: dict) -> None:  # noqa: ANN001
    steps_of = {cid: steps for cid, steps in cases.values()}
    plan = _plan(live, study_id)
    responses: list = []
    page.on("response", lambda response: responses.append(response))
    login(page, live, READER, path="/study/")
    for i, (_assignment, case_id, arm) in enumerate(plan):
        page.wait_for_selector(f"#cx-study-progress:has-text('Read {i + 1} of 6')")
        page.wait_for_selector(f"#cx-viewer [data-case='{case_id}']")
        _check_shown(page, steps_of[case_id], arm, _payloads(responses))
        if arm == "answer_reasoning":
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "reader-study-read.png"), full_page=True)
        _answer(page, i, arm)
        if i:
            _says(page, "#cx-study-message", "ok", "Read saved")
    page.wait_for_selector("#cx-study-done")
    assert not page.locator("#cx-study-answer").is_visible()


def _database_holds_the_reads(live, study_id: int) -> None:  # noqa: ANN001
    from review_db.models import AuditLog, ReaderAssignment, ReaderRead, User

    with live.factory() as s:
        reader = s.scalar(select(User.id).where(User.username == READER))
        reads = s.execute(
            select(ReaderRead, ReaderAssignment.arm)
            .join(ReaderAssignment, ReaderAssignment.id == ReaderRead.assignment_id)
            .where(ReaderAssignment.study_id == study_id)
            .order_by(ReaderRead.id)
        ).all()
        audited = s.scalar(
            select(func.count()).where(
                AuditLog.entity == "reader_study_reads", AuditLog.actor == f"user:{reader}"
            )
        )
        assert len(reads) == 6 and audited == 6  # the refused submit wrote nothing
        assert all(r.answer == "A" and r.time_s > 0 for r, _arm in reads)
        expected = [2 if arm == "no_ai" else 5 for _r, arm in reads]
        expected[1] = 4  # the read done from the keyboard
        assert [r.confidence for r, _arm in reads] == expected
        for r, arm in reads:
            assert (len(r.step_marks) == 2) == (arm == "answer_reasoning")
            if arm == "answer_reasoning":
                assert sorted(r.step_marks.values()) == ["helpful", "wrong"]


def _researcher_analyses(page, live, tmp: Path) -> None:  # noqa: ANN001
    login(page, live, RESEARCHER, path="/study/")
    page.wait_for_selector("#cx-study-analysis")
    assert (
        not page.locator("#cx-study-setup").is_visible() and not page.locator("#cx-study-reader").is_visible()
    )
    page.click("#cx-study-pick-analysis input")
    page.locator("ul[role=listbox] li", has_text=NAME).first.click()
    page.click("#cx-study-analyse")
    page.wait_for_selector("#cx-study-download", timeout=120_000)
    assert "Accuracy per arm" in page.inner_text("#cx-study-results")
    page.wait_for_selector("#cx-study-plot-accuracy .js-plotly-plot")
    assert page.locator("[id^=cx-study-plot-] .js-plotly-plot").count() == 5
    page.screenshot(path=str(ARTIFACTS / "reader-study-analysis.png"), full_page=True)
    href = page.get_attribute("#cx-study-download", "href")
    with page.expect_download() as download:
        page.click("#cx-study-download")
    data = Path(download.value.path()).read_bytes()
    assert page.request.get(live.url + href).status == 404  # once
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = {n.split("/", 1)[1] for n in z.namelist()}
        design = json.loads(z.read(next(n for n in z.namelist() if n.endswith("design.json"))))
        reads = z.read(next(n for n in z.namelist() if n.endswith("/reads.csv"))).decode()
    assert {"design.json", "assignments.csv", "reads.csv", "results.csv", "figures.html"} <= names
    assert design["readers"] == ["R1"] and READER not in reads and len(reads.strip().splitlines()) == 7


def test_a_reader_study_from_setup_to_analysis(live, new_page, tmp_path: Path) -> None:  # noqa: ANN001
    for name, role in ((ADMIN, "admin"), (READER, "reviewer"), (RESEARCHER, "researcher")):
        live.user(name, role)
    cases = _demo_cases(live)
    study_id = _admin_creates_the_study(new_page(), live, cases)
    _reader_reads(new_page(), live, study_id, cases)
    _database_holds_the_reads(live, study_id)
    _researcher_analyses(new_page(), live, tmp_path)
    assert [m for m in live.listeners.missing() if m.startswith("/study#")] == []  # every listener fired
    assert live.log.tracebacks() == []


def _event(config: dict, trigger: str, elem_id: str | None = None) -> int:
    """The fn_index of the page's event ``trigger`` (on the component ``elem_id``, or the page's)."""
    ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    for index, dep in enumerate(config["dependencies"]):
        if any(t[1] == trigger and (elem_id is None or ids.get(t[0]) == elem_id) for t in dep["targets"]):
            return dep.get("id", index)
    raise AssertionError(f"no {trigger} event on {elem_id or 'the page'}")


def test_the_api_sends_nothing_a_no_ai_read_hides(live) -> None:  # noqa: ANN001
    """A reader with a `no AI` read asks the page's endpoints directly: no step, no model answer."""
    from review_db import store
    from review_db.engine import session_scope
    from services.reader_study import studies
    from services.reader_study.design import STANDARD_ARMS

    steps = ("A hidden step about the left hemidiaphragm zebra.", "Another hidden step, quokka.")
    reader, verifier = live.user("api-reader"), live.user("api-verifier")
    case_id, chain_id, _ = live.case(
        steps, answer="C", question="Which API blinding finding?", reference_answer="C"
    )
    with session_scope(live.factory, actor="test") as s:
        store.claim_case(session=s, case_id=case_id, reviewer_id=verifier, lease=LEASE)
        store.submit_review(
            session=s, chain_id=chain_id, reviewer_id=verifier, answer_verdict="agree",
            require_all_steps=False, lease=LEASE,
        )  # fmt: skip
        # One reader, one case: the first read is the first arm's (no AI), then the reasoning arm's.
        studies.create_study(
            session=s, name="API blinding", case_ids=[case_id], reader_ids=[reader],
            arms=(STANDARD_ARMS[0], STANDARD_ARMS[2]), washout_days=0, seed=1, created_by=None,
        )  # fmt: skip
    jar = {"chestx_session": live.login_cookie("api-reader")}
    # The reader sees the radiograph of the case the study assigns them, and no other case's.
    assert httpx.get(f"{live.url}/img/{case_id}", cookies=jar).status_code == 200
    other, _chain, _ = live.case(("A step of a case outside the study.",), question="Not in the study?")
    with session_scope(live.factory, actor="test") as s:
        store.claim_case(session=s, case_id=other, reviewer_id=verifier, lease=LEASE)
        store.submit_review(
            session=s, chain_id=_chain, reviewer_id=verifier, answer_verdict="agree",
            require_all_steps=False, lease=LEASE,
        )  # fmt: skip
    assert httpx.get(f"{live.url}/img/{other}", cookies=jar).status_code == 403
    page = httpx.get(live.url + "/study/", cookies=jar)
    config = httpx.get(live.url + "/study/config", cookies=jar)
    assert page.status_code == config.status_code == 200
    load = httpx.post(
        live.url + "/study/gradio_api/run/predict",
        json={"fn_index": _event(config.json(), "load"), "data": [], "session_hash": "blind01"},
        cookies=jar,
    )
    assert load.status_code == 200, load.text
    for body in (page.text, config.text, load.text):
        assert not [s for s in steps if s in body] and MODEL_SAID not in body
    assert "Which API blinding finding?" in load.text and UNAIDED in load.text  # the read itself came
    submit = httpx.post(
        live.url + "/study/gradio_api/run/predict",
        json={"fn_index": _event(config.json(), "click", "cx-study-submit"),
              "data": [None, "B", [], [], [], 3], "session_hash": "blind01"},
        cookies=jar,
    )  # fmt: skip
    assert submit.status_code == 200, submit.text
    assert (
        all(s in submit.text for s in steps) and MODEL_SAID in submit.text
    )  # the reasoning arm's read shows them
