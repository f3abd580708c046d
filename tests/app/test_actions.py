"""The page actions without a browser, on a real database (SQLite and PostgreSQL).

What a button does is a plain function: these tests call them the way the Gradio handlers do
and check the database and the returned HTML.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from chestx.web.auth import LoginResolver, UserInfo
from chestx.web.context import AppContext
from chestx.web.review import actions as review_actions
from chestx.web.review import chain_actions
from chestx.web.review.state import ReviewState
from imaging import RenderCache
from review_db.engine import session_scope
from review_db.models import Case, CaseLock, ChainReview, Step, StepVerdict
from review_db.store.worklist import WorklistFilter
from review_db.types import CaseStatus, Role
from tests import factories


@pytest.fixture
def ctx(db, settings) -> AppContext:  # noqa: ANN001
    return AppContext(
        settings=settings,
        factory=db.factory,
        resolver=LoginResolver(db.factory),
        render_cache=RenderCache(2),
        backend_factory=None,
    )


def _people(ctx: AppContext, *roles: Role) -> list[UserInfo]:
    out = []
    with session_scope(ctx.factory, actor="test") as s:
        for role in roles:
            u = factories.user(s, role=role)
            out.append(UserInfo(u.id, u.username, u.role))
    return out


def _case(ctx: AppContext, steps=("One.", "Two.", "Three.")) -> tuple[int, int, list[int]]:  # noqa: ANN001
    with session_scope(ctx.factory, actor="test") as s:
        case, chain = factories.case(s, steps=steps)
        return case.id, chain.id, [st.id for st in sorted(chain.steps, key=lambda x: x.position)]


def _rid() -> str:
    return uuid.uuid4().hex


def _verdicts(ctx: AppContext, reviewer: int) -> list[tuple[int, str, str | None, str]]:
    with ctx.factory() as s:
        rows = s.execute(
            select(StepVerdict.step_id, StepVerdict.verdict, StepVerdict.corrected_text, StepVerdict.comment)
            .where(StepVerdict.reviewer_id == reviewer)
            .order_by(StepVerdict.id)
        )
        return [(a, b.value, c, d) for a, b, c, d in rows]


def test_open_then_verdicts_with_retries_stored_once(ctx: AppContext) -> None:
    (ann,) = _people(ctx, Role.reviewer)
    case_id, chain_id, steps = _case(ctx)
    screen = review_actions.open_case(ctx, ann, ReviewState(), case_id)
    state = screen.state
    assert not state.read_only and state.chain_id == chain_id and "Claimed by you" in screen.header
    action = {"kind": "verdict", "step_id": steps[0], "verdict": "accept", "request_id": _rid()}
    state, html = chain_actions.chain_action(ctx, ann, state, action)
    assert 'data-ack-ok="1"' in html and "Accepted" in html
    chain_actions.chain_action(ctx, ann, state, action)  # the same request again (a lost answer)
    chain_actions.chain_action(ctx, ann, ReviewState(**{**state.__dict__, "done": ()}), action)  # another tab
    assert _verdicts(ctx, ann.id) == [(steps[0], "accept", None, "")]


def test_a_correction_and_a_comment_keep_history(ctx: AppContext) -> None:
    (ann,) = _people(ctx, Role.reviewer)
    case_id, _chain, steps = _case(ctx)
    state = review_actions.open_case(ctx, ann, ReviewState(), case_id).state
    comment = {"kind": "comment", "step_id": steps[1], "comment": "why?", "request_id": _rid()}
    state, html = chain_actions.chain_action(ctx, ann, state, comment)
    assert 'data-ack-ok="0"' in html and "accept, correct or reject the step first" in html
    fix = {
        "kind": "verdict",
        "step_id": steps[1],
        "verdict": "correct",
        "text": "Two, corrected.",
        "request_id": _rid(),
    }
    state, _ = chain_actions.chain_action(ctx, ann, state, fix)
    state, html = chain_actions.chain_action(ctx, ann, state, {**comment, "request_id": _rid()})
    assert "<ins>" in html and "why?" in html
    assert _verdicts(ctx, ann.id) == [
        (steps[1], "correct", "Two, corrected.", ""),
        (steps[1], "correct", "Two, corrected.", "why?"),
    ]


def test_errors_come_back_as_messages_and_write_nothing(ctx: AppContext) -> None:
    ann, bob = _people(ctx, Role.reviewer, Role.reviewer)
    case_id, _chain, steps = _case(ctx)
    other_case, _other_chain, other_steps = _case(ctx)
    state = review_actions.open_case(ctx, ann, ReviewState(), case_id).state
    # a step of another chain, a correction without text, an unknown kind, no request id
    for bad in (
        {"kind": "verdict", "step_id": other_steps[0], "verdict": "accept", "request_id": _rid()},
        {"kind": "verdict", "step_id": steps[0], "verdict": "correct", "text": "", "request_id": _rid()},
        {"kind": "drop_table", "request_id": _rid()},
        {"kind": "verdict", "step_id": steps[0], "verdict": "accept", "request_id": "x"},
    ):
        _state, html = chain_actions.chain_action(ctx, ann, state, bad)
        assert 'data-ack-ok="0"' in html
    # bob takes the case over once ann's lease has lapsed: ann's next verdict says who has it now
    with session_scope(ctx.factory, actor="test") as s:
        s.get(CaseLock, case_id).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    bob_screen = review_actions.open_case(ctx, bob, ReviewState(), case_id)
    assert not bob_screen.state.read_only
    late = {"kind": "verdict", "step_id": steps[0], "verdict": "reject", "request_id": _rid()}
    _state, html = chain_actions.chain_action(ctx, ann, state, late)
    assert 'data-ack-ok="0"' in html and bob.username in html and "Your text is kept" in html
    assert _verdicts(ctx, ann.id) == []


def test_identifying_free_text_is_refused_with_a_message_and_kept_in_the_editor(ctx: AppContext) -> None:
    (ann,) = _people(ctx, Role.reviewer)
    case_id, _chain, steps = _case(ctx)
    state = review_actions.open_case(ctx, ann, ReviewState(), case_id).state
    typed = {"kind": "verdict", "step_id": steps[0], "verdict": "correct", "text": "As on 03/04/2019."}
    state, html = chain_actions.chain_action(ctx, ann, state, {**typed, "request_id": _rid()})
    assert 'data-ack-ok="0"' in html and "seems to hold a date at character 7" in html
    assert "Your text is kept" in html and "03/04/2019" not in html.split("Not saved")[1].split("</")[0]
    assert _verdicts(ctx, ann.id) == []
    state, html = chain_actions.chain_action(
        ctx, ann, state, {**typed, "text": "As before.", "request_id": _rid()}
    )
    assert 'data-ack-ok="1"' in html and _verdicts(ctx, ann.id)[0][2] == "As before."


def test_a_case_held_by_someone_else_opens_read_only(ctx: AppContext) -> None:
    ann, bob = _people(ctx, Role.reviewer, Role.reviewer)
    case_id, _chain, steps = _case(ctx)
    review_actions.open_case(ctx, ann, ReviewState(), case_id)
    screen = review_actions.open_case(ctx, bob, ReviewState(), case_id)
    assert screen.state.read_only and f"{ann.username} is reviewing this case until" in screen.header
    assert 'data-act="accept"' not in screen.chain
    _state, html = chain_actions.chain_action(
        ctx,
        bob,
        screen.state,
        {"kind": "verdict", "step_id": steps[0], "verdict": "accept", "request_id": _rid()},
    )
    assert 'data-ack-ok="0"' in html and _verdicts(ctx, bob.id) == []


def test_added_steps_can_be_removed_by_their_author(ctx: AppContext) -> None:
    (ann,) = _people(ctx, Role.reviewer)
    case_id, chain_id, _steps = _case(ctx)
    state = review_actions.open_case(ctx, ann, ReviewState(), case_id).state
    state, html = chain_actions.chain_action(
        ctx, ann, state, {"kind": "add_step", "after": 0, "text": "A missing step.", "request_id": _rid()}
    )
    assert "Added by you" in html and "A missing step." in html
    with ctx.factory() as s:
        added = s.scalar(select(Step.id).where(Step.chain_id == chain_id, Step.kind == "added"))
    state, html = chain_actions.chain_action(
        ctx, ann, state, {"kind": "remove_step", "step_id": added, "request_id": _rid()}
    )
    assert "A missing step." not in html
    with ctx.factory() as s:
        assert s.scalar(select(func.count()).select_from(Step).where(Step.chain_id == chain_id)) == 3


def test_submit_needs_every_step_and_a_right_answer(ctx: AppContext) -> None:
    (ann,) = _people(ctx, Role.reviewer)
    case_id, chain_id, steps = _case(ctx)
    state = review_actions.open_case(ctx, ann, ReviewState(), case_id).state
    key = state.form_key
    ok, message = review_actions.submit(ctx, ann, state, "agree", [], "", set_for=key)
    assert not ok and "steps 1, 2, 3 have no verdict" in message
    for step in steps:
        state, _ = chain_actions.chain_action(
            ctx, ann, state, {"kind": "verdict", "step_id": step, "verdict": "accept", "request_id": _rid()}
        )
    assert review_actions.submit(ctx, ann, state, None, [], "", set_for=key)[0] is False
    # A verdict the browser carried over from another case's form is refused, nothing stored.
    for stale in (None, f"{case_id + 1}:{chain_id}", f"{case_id}:{chain_id + 1}"):
        ok, message = review_actions.submit(ctx, ann, state, "agree", [], "", set_for=stale)
        assert not ok and "on this case" in message
    assert (
        "pick the right option" in review_actions.submit(ctx, ann, state, "disagree", [], "", set_for=key)[1]
    )
    assert "exactly one" in review_actions.submit(ctx, ann, state, "disagree", ["B", "C"], "", set_for=key)[1]
    with ctx.factory() as s:
        assert s.scalar(select(ChainReview).where(ChainReview.chain_id == chain_id)) is None
    ok, message = review_actions.submit(
        ctx, ann, state, "disagree", ["C"], "Effusion is visible.", set_for=key
    )
    assert ok and f"case {case_id} submitted" in message
    with ctx.factory() as s:
        review = s.scalar(select(ChainReview).where(ChainReview.chain_id == chain_id))
        assert (review.corrected_answer, review.comment) == ("C", "Effusion is visible.")
        assert s.get(Case, case_id).status is CaseStatus.verified
        assert s.get(CaseLock, case_id) is None  # submitting gives the lease back
    again = review_actions.open_case(ctx, ann, ReviewState(), case_id)
    assert again.state.read_only and again.state.submitted and "You have submitted" in again.header
    # The stale tab (still the old state, not read-only) can change nothing of the submitted review.
    _, chain_html = chain_actions.chain_action(
        ctx, ann, state, {"kind": "verdict", "step_id": steps[0], "verdict": "reject", "request_id": _rid()}
    )
    assert 'data-ack-ok="0"' in chain_html and "Amend my review" in chain_html
    # Amending reopens it (editable again) and it counts again once re-submitted.
    amended = review_actions.amend(ctx, ann, again.state)
    assert amended.opened and not amended.state.read_only and "reopened for amendment" in amended.notice
    with ctx.factory() as s:
        assert s.get(Case, case_id).status is CaseStatus.open
    ok, _ = review_actions.submit(ctx, ann, amended.state, "agree", [], "", set_for=amended.state.form_key)
    assert ok
    with ctx.factory() as s:
        review = s.scalar(select(ChainReview).where(ChainReview.chain_id == chain_id))
        assert (review.answer_verdict.value, review.reopened_at) == ("agree", None)
        assert s.get(Case, case_id).status is CaseStatus.verified


def test_renew_extends_the_lease_and_notices_a_takeover(ctx: AppContext) -> None:
    ann, bob = _people(ctx, Role.reviewer, Role.reviewer)
    case_id, _chain, _steps = _case(ctx)
    state = review_actions.open_case(ctx, ann, ReviewState(), case_id).state
    with session_scope(ctx.factory, actor="test") as s:
        s.get(CaseLock, case_id).expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    state, header = review_actions.renew(ctx, ann, state)
    with ctx.factory() as s:
        assert s.get(CaseLock, case_id).expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=14)
    with session_scope(ctx.factory, actor="test") as s:
        s.get(CaseLock, case_id).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    review_actions.open_case(ctx, bob, ReviewState(), case_id)
    state, header = review_actions.renew(ctx, ann, state)
    assert state.read_only and f"{bob.username} took this case over" in header


def test_worklist_and_next_case(ctx: AppContext) -> None:
    ann, bob = _people(ctx, Role.reviewer, Role.reviewer)
    first, _c1, _s1 = _case(ctx)
    with session_scope(ctx.factory, actor="test") as s:
        s.get(Case, first).question = "<b>bold?</b> Is there <script>x</script>?"
    screen = review_actions.worklist(ctx, ann, WorklistFilter())
    assert "&lt;script&gt;x&lt;/script&gt;" in screen.table and "<script>x" not in screen.table
    opened = review_actions.next_case(ctx, ann, ReviewState(), WorklistFilter())
    assert opened.opened and opened.state.case_id == first
    assert f'data-case="{first}"' in review_actions.worklist(ctx, bob, WorklistFilter()).in_progress
    nothing = review_actions.next_case(ctx, bob, ReviewState(), WorklistFilter())
    assert not nothing.opened and "No case is waiting" in nothing.notice


def test_actions_check_the_role(ctx: AppContext) -> None:
    from review_db.errors import PermissionDenied

    (teacher,) = _people(ctx, Role.educator)
    case_id, _chain, _steps = _case(ctx)
    with pytest.raises(PermissionDenied):
        review_actions.open_case(ctx, teacher, ReviewState(), case_id)
    with pytest.raises(PermissionDenied):
        chain_actions.chain_action(ctx, teacher, ReviewState(), {"request_id": _rid()})
    with pytest.raises(PermissionDenied):
        review_actions.worklist(ctx, None, WorklistFilter())


def test_admin_overview_lists_users_models_and_runs(ctx: AppContext) -> None:
    from chestx.web.admin import training_panel
    from chestx.web.admin.page import users_table
    from review_db.models import ModelVersion, TrainingRun
    from services.overview import admin_overview

    (ann,) = _people(ctx, Role.reviewer)
    with session_scope(ctx.factory, actor="test") as s:
        s.add(ModelVersion(name="<b>qwen-sft-1</b>", base_model="tiny", metrics={"eval": {"accuracy": 0.5}}))
        s.add(TrainingRun(kind="sft", status="failed", error="<script>x</script>"))
    with ctx.factory() as s:
        data = admin_overview(session=s)
    assert [u["username"] for u in data["users"]] == [ann.username]
    users = users_table(data)
    _active, runs, models = training_panel.panel_html(training_panel.overview(ctx))
    assert ann.username in users and "&lt;b&gt;qwen-sft-1" in models and "<b>qwen" not in models
    assert "0.500" in models  # its held-out accuracy
    assert "sft" in runs and "&lt;script&gt;" in runs and "<script>" not in runs
