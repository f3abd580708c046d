"""The export page without a browser: the form's parsing, the progress relay, and a build on a
real database (SQLite and PostgreSQL) that offers its zip once, or says why there is nothing."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest

from chestx.web.auth import LoginResolver, UserInfo
from chestx.web.context import AppContext
from chestx.web.export.form import ExportForm, GradioProgress
from chestx.web.export.page import build_zip, export_root
from imaging import RenderCache
from review_db.engine import session_scope
from review_db.errors import PermissionDenied, ValidationError
from review_db.types import Role
from tests import factories
from tests.export.helpers import review


def test_the_form_becomes_export_options() -> None:
    form = ExportForm.parse(
        {
            "kind": "prm",
            "fmt": "parquet",
            "images": "default",
            "policy": "majority",
            "date_from": "2026-01-01",
            "date_to": " 2026-01-31 ",
            "task_types": ["binary"],
            "model_versions": [],
            "reviewers": ["ann", "bob"],
            "min_reviews": "2",
            "only_agreed": True,
            "include_demo": None,
            "seed": 7.0,
            "unknown": "ignored",
        }
    )
    options = form.options()
    f = options.pop("filters")
    assert options["kind"] == "prm" and options["fmt"] == "parquet" and options["images"] is None
    assert options["policy"] == "majority" and options["split_seed"] == 7
    assert f.reviewed_from == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert f.reviewed_to == dt.datetime(2026, 2, 1, tzinfo=dt.UTC)  # the form's "to" day is inclusive
    assert f.task_types == ("binary",) and f.reviewers == ("ann", "bob") and f.min_reviews == 2
    assert f.only_agreed and not f.include_demo
    command = options["command"]
    assert command.startswith("chestx export prm --format parquet --policy majority")
    assert "<2 named>" in command and "ann" not in command  # usernames never reach the card


def test_form_defaults_and_bad_values() -> None:
    plain = ExportForm.parse({"min_reviews": "", "seed": None}).options()
    assert plain["filters"].min_reviews is None and plain["split_seed"] == 0 and plain["kind"] == "sft"
    for values, message in (
        ({"date_from": "31/01/2026"}, "not a date"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "before"),
        ({"min_reviews": "two"}, "whole number"),
        ({"seed": 1.5}, "whole number"),
        ({"task_types": ["xray"]}, "unknown task type"),
    ):
        with pytest.raises(ValidationError, match=message):
            ExportForm.parse(values).options()


def test_progress_reaches_gradio_at_a_bounded_rate() -> None:
    calls = []
    relay = GradioProgress(lambda value, **kw: calls.append((value, kw)), every_s=3600)
    relay.start(10, "chains")
    for _ in range(10):
        relay.update(1)
    # throttled: the start and the end
    assert calls == [((0, 10), {"desc": "Exporting chains", "unit": "chains"}), ((10, 10), calls[0][1])]
    relay.start(None, "steps")
    assert calls[-1][0] == (0, None)  # unknown total: a count without a bar


@pytest.fixture
def ctx(db, settings) -> AppContext:  # noqa: ANN001
    return AppContext(
        settings=settings, factory=db.factory, resolver=LoginResolver(db.factory), render_cache=RenderCache(2)
    )


def _researcher(ctx: AppContext) -> UserInfo:
    with session_scope(ctx.factory, actor="test") as s:
        u = factories.user(s, role=Role.researcher)
        return UserInfo(u.id, u.username, u.role)


def test_an_empty_selection_says_so_and_offers_nothing(ctx: AppContext) -> None:
    user = _researcher(ctx)
    html = build_zip(ctx, user, ExportForm(kind="prm"), lambda *a, **k: None)
    assert "cx-error" in html and "nothing to export" in html and "/download/" not in html
    assert len(ctx.downloads) == 0 and list(export_root(ctx).iterdir()) == []  # no folder left


def test_a_build_offers_its_zip_to_its_user_once(ctx: AppContext) -> None:
    user = _researcher(ctx)
    with session_scope(ctx.factory, actor="test") as s:
        reviewer = factories.user(s)
        for _ in range(3):
            _case, chain = factories.case(s)
            review(s, chain, reviewer, ["accept", "reject", ("correct", "The heart is enlarged.")])
    seen = []
    html = build_zip(ctx, user, ExportForm(kind="prm"), lambda value, **kw: seen.append(value))
    assert "Export ready" in html and "6 rows" in html  # prm: the model's chain and the verified one
    assert seen[0] == 0 and (3, 3) in seen  # 3 chains read
    token = html.split('href="/download/')[1].split('"')[0]
    other = UserInfo(user.id + 1000, "someone", Role.researcher)
    assert ctx.downloads.take(token=token, user=other) is None
    entry = ctx.downloads.take(token=token, user=user)
    with zipfile.ZipFile(entry.path) as archive:
        assert {"manifest.json", "README.md"} <= set(archive.namelist())
    assert ctx.downloads.take(token=token, user=user) is None  # once
    ctx.downloads.served(entry)
    assert list(export_root(ctx).iterdir()) == []


def test_only_researchers_and_admins_build(ctx: AppContext) -> None:
    with pytest.raises(PermissionDenied):
        build_zip(ctx, UserInfo(1, "rev", Role.reviewer), ExportForm(), lambda *a, **k: None)


def test_every_choice_of_the_form_reads_as_words_not_ids() -> None:
    """Issue 13 point 12: the page showed ``single_choice``, ``sft``, ``adjudicator``."""
    from chestx.web.export.form import FORMATS, IMAGE_CHOICES, KINDS, POLICIES, TASK_TYPES

    for choices in (KINDS, FORMATS, IMAGE_CHOICES, POLICIES, TASK_TYPES):
        for label, value in choices:
            assert "_" not in label and label != value and label[0].isupper(), (label, value)
    assert ("Single choice", "single_choice") in TASK_TYPES
    assert dict(KINDS)["PRM: step labels for a process reward model"] == "prm"
