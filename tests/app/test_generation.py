"""Ask for a fresh chain: streamed into the page, then stored whole (offline report miner)."""

from __future__ import annotations

from sqlalchemy import select

from chestx.web.auth import LoginResolver, UserInfo
from chestx.web.context import AppContext
from chestx.web.review import actions as review_actions
from chestx.web.review import generation
from chestx.web.review.state import ReviewState
from imaging import RenderCache
from review_db.engine import session_scope
from review_db.models import Chain
from review_db.types import Role
from tests import factories

REPORT = "Findings: The lungs are clear. No pleural effusion. Heart size is normal. Impression: Normal chest."


def test_a_mined_chain_streams_then_is_stored_as_the_reference(sqlite_db, settings) -> None:  # noqa: ANN001
    from reasoner.backends.report import ReportBackend

    ctx = AppContext(settings, sqlite_db.factory, LoginResolver(sqlite_db.factory), RenderCache(2))
    ctx.backend_factory = ReportBackend
    with session_scope(sqlite_db.factory, actor="test") as s:
        u = factories.user(s)
        case, old_chain = factories.case(s, report=REPORT)  # its study has no stored file
    user = UserInfo(u.id, u.username, Role.reviewer)
    state = review_actions.open_case(ctx, user, ReviewState(), case.id).state
    frames = list(generation.stream_fresh_chain(ctx, user, state))
    streaming = [html for _s, html, _n in frames[:-1] if html]
    assert streaming and all("cx-streaming" in html for html in streaming)
    shown = [html.count('class="cx-step ') for html in streaming]
    assert shown == sorted(shown) and len(set(shown)) >= 2  # steps appear one after another
    final_state, final_html, note = frames[-1]
    assert "stored a reference chain" in note and 'data-act="accept"' in final_html
    assert final_state.chain_id == old_chain.id  # the review stays on the model's chain
    with sqlite_db.factory() as s:
        chains = s.scalars(select(Chain).where(Chain.case_id == case.id).order_by(Chain.id)).all()
        assert [c.id for c in chains][0] == old_chain.id and len(chains) == 2
        assert chains[-1].source.value == "report" and chains[-1].steps
        assert chains[-1].source_detail == "report-miner/rules-v1"


def test_without_a_configured_model_the_button_says_so(sqlite_db, settings) -> None:  # noqa: ANN001
    ctx = AppContext(settings, sqlite_db.factory, LoginResolver(sqlite_db.factory), RenderCache(2))
    from chestx.compose import reasoner_config
    from services.generation import configured

    assert not configured(reasoner_config(settings))  # hf without CHESTX_MODEL_PATH: the app passes None
    ctx.backend_factory = None
    assert not ctx.can_generate
    with session_scope(sqlite_db.factory, actor="test") as s:
        u = factories.user(s)
        case, _chain = factories.case(s)
    user = UserInfo(u.id, u.username, Role.reviewer)
    state = review_actions.open_case(ctx, user, ReviewState(), case.id).state
    (_state, _html, note), *_ = list(generation.stream_fresh_chain(ctx, user, state))
    assert "No model is configured" in note
