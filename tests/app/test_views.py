"""The HTML builders: every piece of model or reviewer text is escaped, markup never leaks."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from chestx.web.auth import safe_next as safe_next_path
from chestx.web.diff import tokens, word_diff
from chestx.web.html import esc, facts_block, nav, notice, paragraphs, table
from chestx.web.login import login_page
from chestx.web.review.chain_html import Ack, render_chain, render_stream
from chestx.web.teach.view_html import replay_steps, reveal
from chestx.web.viewer import viewer_html
from review_db.types import Role
from services.overview import ReplayDetail, ReplayReview, ReplayStep, ReviewerVerdict
from services.screens import CaseDetail, StepRow, StudyFacts

EVIL = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    "\"'><svg onload=alert(3)>",
    "javascript:alert(4)",
    "&lt;b&gt; already escaped",
]


def _study(**over) -> StudyFacts:
    base = dict(
        id=1, modality="CR", view="PA", body_part="CHEST", acquisition_date=dt.date(2020, 1, 2), width=10,
        height=12, bits_stored=12, photometric="MONOCHROME1", source_format="dicom", patient_pseudonym="P-1",
        window_presets={"file": [100, 200], "lung": [50, 80]}, warnings=(), is_demo=False,
    )  # fmt: skip
    return StudyFacts(**{**base, **over})


def _detail(texts: list[str], **over) -> CaseDetail:
    steps = tuple(
        StepRow(id=i + 10, number=str(i + 1), position=i, kind="model", inserted_after=None, text=t)
        for i, t in enumerate(texts)
    )
    base = dict(
        id=7, task_type="single_choice", question="Q?", options=("Yes", "No"), report=None, status="open",
        review_count=0, required_reviews=1, is_demo=False, study=_study(), prior=None, chain_id=3,
        chain_source="imported", chain_detail="", chain_status="complete", chain_flags=(), model_version=None,
        final_answer="A", steps=steps, lock=None, submitted=False,
    )  # fmt: skip
    return CaseDetail(**{**base, **over})


def _no_markup_from(html: str, text: str) -> None:
    """``text`` must not appear raw: only its escaped form may."""
    if any(c in text for c in "<>\"'&"):
        assert text not in html
    assert esc(text) in html or esc(text).replace("&#x27;", "'") in html


@pytest.mark.parametrize("text", EVIL)
def test_chain_escapes_step_text_corrections_and_comments(text: str) -> None:
    detail = _detail([text, "fine"])
    corrected = StepRow(
        id=99, number="2", position=1, kind="model", inserted_after=None, text="fine",
        verdict="correct", corrected_text=text, comment=text,
    )  # fmt: skip
    detail = _detail([text], steps=(detail.steps[0], corrected))
    html = render_chain(detail, read_only=False, ack=Ack("rid-1234567", False, text))
    _no_markup_from(html, text)
    assert "<script" not in html and "onerror=" not in html.replace("onerror=&quot;", "")


def test_chain_shows_state_as_colour_and_words() -> None:
    steps = (
        StepRow(1, "1", 0, "model", None, "a", verdict="accept"),
        StepRow(2, "2", 1, "model", None, "b", verdict="reject", comment="no"),
        StepRow(3, "2+", None, "added", 1, "c"),
        StepRow(4, "3", 2, "model", None, "d"),
    )
    html = render_chain(_detail([], steps=steps), read_only=False)
    for label, cls in (
        ("Accepted", "cx-st-accept"),
        ("Rejected", "cx-st-reject"),
        ("Added by you", "cx-st-added"),
    ):
        assert label in html and cls in html
    assert "Not judged yet" in html and "2 of 3 steps judged" in html
    assert 'data-act="remove"' in html  # the reviewer's own added step can go
    assert 'data-act="accept"' not in render_chain(_detail([], steps=steps), read_only=True)


def test_stream_render_escapes_partial_text() -> None:
    html = render_stream(["<b>done</b>"], partial="<img src=x onerror=1>", answer="<i>A</i>")
    assert "<b>done" not in html and "<img" not in html and "<i>A" not in html and "Writing" in html


@pytest.mark.parametrize(
    ("before", "after"), [(EVIL[0], EVIL[1]), ("The heart is enlarged.", "The heart is normal.")]
)
def test_word_diff_is_escaped_and_complete(before: str, after: str) -> None:
    html = word_diff(before, after)
    assert "<script" not in html and "<img" not in html
    plain_after = re.sub(r"<del>.*?</del>", "", html)
    assert re.sub(r"<[^>]+>", "", plain_after) == esc(after)  # removing the deletions leaves the new text


def test_tokens_rejoin_to_the_text() -> None:
    for text in ("", "  lead", "a, b;c\n d.", EVIL[2]):
        assert "".join(tokens(text)) == text


def test_other_builders_escape() -> None:
    text = EVIL[1]
    assert "<img" not in paragraphs(text) and "<img" not in notice(text, "error")
    assert "<img" not in table(["h"], [[text]]) and "<img" not in facts_block(_study(patient_pseudonym=text))
    assert "<img" not in nav(username=text, role=Role.reviewer, active="/review/")
    assert "<img" not in login_page(next_path=text, username=text, error=text, demo_hint=text)
    step = ReplayStep(1, "1", "model", text, None, (ReviewerVerdict(text, "correct", text + "!", text),))
    detail = ReplayDetail(
        case_id=1, task_type="binary", question=text, options=(text, "No"), reference_answer="A",
        model_answer="B", report=text, study=None, prior=None, steps=(step,),
        reviews=(ReplayReview(text, "disagree", "A", text, 3.0),),
    )  # fmt: skip
    assert "<img" not in replay_steps(detail, 1) and "<img" not in reveal(detail, ["A"])


def test_nav_offers_only_the_pages_of_the_role() -> None:
    html = nav(username="r", role=Role.reviewer, active="/review/")
    assert "/review/" in html and "/export/" not in html and "/admin/" not in html
    admin = nav(username="a", role=Role.admin, active="/admin/")
    assert all(p in admin for p in ("/review/", "/teach/", "/export/", "/dashboards/", "/admin/"))


def test_viewer_names_the_case_never_a_path() -> None:
    html = viewer_html(5, _study(window_presets={"lung": [1, 2], 'evil"><x': [1, 2]}))
    assert 'src="/img/5?preset=default' in html and "images/" not in html and '"><x' not in html
    assert 'data-preset="lung"' in html and 'data-preset="bone"' not in html  # only presets it has
    assert "No image" in viewer_html(None, None)


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        ("/review/", "/review/"),
        ("//evil.example", None),
        ("https://evil.example", None),
        ("/\\evil", None),
        ("", None),
    ],
)
def test_login_only_returns_to_local_paths(path: str, safe: str | None) -> None:
    assert safe_next_path(path) == safe


def test_chain_flags_are_shown_in_words_not_as_ids() -> None:
    from chestx.web.html import case_header

    header = case_header(
        _detail(["A step."], chain_flags=("chat_template_stripped", "some_new_flag")), user_id=1
    )
    assert "chat template removed from the output" in header and "some new flag" in header
    assert "chat_template_stripped" not in header and "some_new_flag" not in header


def test_answer_panel_names_its_form_and_offers_only_unusable_for_an_unverifiable_chain() -> None:
    from chestx.web.review.answer_html import render_answer

    html = render_answer(
        case_id=7, chain_id=3, user_id=2, options=("Yes", "No"), model_answer=None, read_only=False,
        unverifiable="the chain has no final answer",
    )  # fmt: skip
    assert 'data-key="7:3"' in html and 'data-user="2"' in html and "cannot be verified" in html
    radios = dict(re.findall(r'value="(agree|disagree|unusable)"[^>]*?( disabled)?>', html))
    assert radios == {"agree": " disabled", "disagree": " disabled", "unusable": ""}
