"""The offline demo: idempotent, labelled, built only from this repository and pydicom-data."""

from __future__ import annotations

import inspect

import pytest
from sqlalchemy import func, select

from chestx.compose import intake
from review_db.models import Case, Chain, Study, User
from review_db.store.users import authenticate
from review_db.types import CaseStatus
from services import demo


def test_seed_demo_is_idempotent_and_labelled(sqlite_db, settings) -> None:  # noqa: ANN001
    first = demo.seed_demo(factory=sqlite_db.factory, intake=intake(settings))
    second = demo.seed_demo(factory=sqlite_db.factory, intake=intake(settings))
    assert len(first.created_cases) == len(demo.CASES) and second.created_cases == []
    assert second.existing_cases == len(demo.CASES)
    with sqlite_db.factory() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == len(demo.CASES)
        assert all(c.is_demo for c in s.scalars(select(Case)))
        assert all(st.is_demo for st in s.scalars(select(Study)))
        assert {c.source.value for c in s.scalars(select(Chain))} == {"demo"}
        assert all(demo.DEMO_NOTE in c.report for c in s.scalars(select(Case)))
        real = s.scalar(select(Study).where(Study.modality == "CR"))
        assert (real.view, real.width, real.height) == ("PA", 1841, 1955)  # RG1 from pydicom-data
        verified = s.scalar(select(func.count()).select_from(Case).where(Case.status == CaseStatus.verified))
        assert verified == sum(c.verified_by_senior for c in demo.CASES)
        assert (
            authenticate(session=s, username=demo.DEMO_USER, password=demo.DEMO_PASSWORD).role.value
            == "reviewer"
        )
        assert not s.scalar(select(User).where(User.username == demo.DEMO_SENIOR)).active


def test_demo_does_not_depend_on_shared_data() -> None:
    code = inspect.getsource(demo).split('"""', 2)[2]  # without the module docstring
    assert "shared" not in code and "../" not in code


def test_phantoms_show_their_finding() -> None:
    normal, effusion = demo.phantom("normal"), demo.phantom("effusion")
    base = slice(int(0.7 * 768), int(0.75 * 768)), slice(int(0.25 * 768), int(0.35 * 768))
    assert effusion[base].mean() > normal[base].mean() + 50  # the right base is opaque
    assert (demo.phantom("normal") == normal).all()  # deterministic


def test_without_the_demo_extra_the_demo_says_how_to_install_it(sqlite_db, settings, monkeypatch) -> None:  # noqa: ANN001
    """A plain install (no pydicom-data): the demo names the extra to install, nothing is seeded."""
    monkeypatch.setattr(demo, "get_testdata_file", lambda *a, **k: None)
    with pytest.raises(demo.DemoUnavailable, match=r"chestx-review\[demo\]"):
        demo.seed_demo(factory=sqlite_db.factory, intake=intake(settings))
    with sqlite_db.factory() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0
