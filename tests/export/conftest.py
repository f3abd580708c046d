"""Fixtures of the export tests: a database of reviewed chains built through the real store."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from chestx.compose import intake
from review_db import store
from review_db.engine import session_scope
from review_db.models import Chain, ModelVersion
from review_db.types import Role
from tests import factories
from tests.export.helpers import review


@dataclass
class Seeded:
    """What :func:`seeded` made (ids only: the objects' session is closed)."""

    reviewers: dict[str, int] = field(default_factory=dict)  # username -> id
    chains: dict[str, int] = field(default_factory=dict)  # label -> chain id
    shared_patient: str = "P-00000000shared01"


def _case(s, *, patient: str | None = None, steps=None, task_type="single_choice", model=None, **over):  # noqa: ANN001
    study = factories.study(s, **({"patient_pseudonym": patient} if patient else {}))
    case = store.create_case(
        session=s,
        study_id=study.id,
        task_type=task_type,
        question=over.pop("question", "Which finding is present?"),
        options=over.pop("options", None) or ["No acute findings", "Pneumothorax", "Effusion"],
        reference_answer="A",
        required_reviews=over.pop("required_reviews", 1),
        **over,
    )
    chain = store.add_chain(
        session=s,
        case_id=case.id,
        steps=list(steps or ("The lungs are clear.", "A pleural line is seen.", "The heart size is normal.")),
        final_answer="B",
        source="model",
        model_version_id=model,
    )
    return chain


def seed(factory) -> Seeded:  # noqa: ANN001
    """Twelve single-reviewer chains, a shared patient, two double-reviewed chains (one
    adjudicated), a demo case, an unreviewed case and a case short of its required reviews."""
    out = Seeded()
    with session_scope(factory, actor="test:seed") as s:
        people = {
            name: factories.user(s, name=name, role=role)
            for name, role in (("alice", Role.reviewer), ("bob", Role.reviewer), ("carol", Role.admin))
        }
        out.reviewers = {name: u.id for name, u in people.items()}
        v1 = ModelVersion(name="chestx-v1", base_model="tiny", status="promoted", metrics={}, notes="")
        s.add(v1)
        s.flush()
        for i in range(12):
            chain = _case(
                s,
                model=v1.id if i % 2 else None,
                task_type="binary" if i % 3 == 0 else "single_choice",
                options=["Yes", "No"] if i % 3 == 0 else None,
            )
            verdicts = (
                ["accept", ("correct", f"No pleural line is seen ({i})."), "accept"]
                if i % 2
                else ["accept"] * 3
            )
            review(
                s,
                chain,
                people["alice"],
                verdicts,
                answer="A" if i % 4 == 1 else None,
                added=[(0, "The mediastinum is normal.")] if i == 1 else (),
            )
            out.chains[f"single{i}"] = chain.id
        for label in ("shared_a", "shared_b"):
            chain = _case(s, patient=out.shared_patient)
            review(s, chain, people["alice"], ["accept", "reject", "accept"])
            out.chains[label] = chain.id
        chain = _case(s, required_reviews=2)
        review(s, chain, people["alice"], ["accept", "reject", "accept"], answer="A")
        review(s, chain, people["bob"], ["accept", "accept", "accept"])
        out.chains["disputed"] = chain.id
        chain = _case(s, required_reviews=2)
        review(s, chain, people["alice"], ["accept", "reject", "accept"], answer="A")
        review(s, chain, people["bob"], ["accept", "accept", "accept"])
        review(s, chain, people["carol"], ["accept", "reject", "accept"], answer="A", adjudication=True)
        out.chains["adjudicated"] = chain.id
        chain = _case(s, required_reviews=2)
        review(s, chain, people["alice"], ["accept", "accept", "reject"], answer="C")
        review(s, chain, people["bob"], ["accept", "accept", "reject"], answer="C")
        out.chains["agreed"] = chain.id
        chain = _case(s, is_demo=True)
        review(s, chain, people["bob"], ["accept", "accept", "accept"])
        out.chains["demo"] = chain.id
        out.chains["unreviewed"] = _case(s).id
        chain = _case(s, required_reviews=2)
        review(s, chain, people["bob"], ["reject", "accept", "accept"])
        out.chains["half_reviewed"] = chain.id
    return out


@pytest.fixture
def seeded(db) -> Seeded:  # noqa: ANN001
    return seed(db.factory)


@pytest.fixture
def seeded_sqlite(sqlite_db) -> Seeded:  # noqa: ANN001
    return seed(sqlite_db.factory)


def chain_row(factory, chain_id: int) -> Chain:  # noqa: ANN001
    with factory() as s:
        return s.get(Chain, chain_id)


@dataclass
class ImageDB:
    """A SQLite database whose studies came through the real import, from files with PHI."""

    factory: object
    settings: object
    sources: list  # the imported files (they hold the PHI markers)
    chains: dict[str, int] = field(default_factory=dict)
    reviewer_name: str = "phi-reviewer-zq"


@pytest.fixture(scope="session")
def image_db(sqlite_template, tmp_path_factory) -> ImageDB:  # noqa: ANN001
    """Two real radiographs (RG1) and a small PNG, imported through ``import_images``; reviewed
    single-image cases, one temporal case (two images) and one double-reviewed case."""
    import shutil

    import numpy as np
    from PIL import Image
    from sqlalchemy.orm import sessionmaker

    from chestx.settings import Settings
    from review_db.engine import make_engine
    from review_db.models import Case
    from services.importing import import_images
    from tests.conftest import rg1_path
    from tests.export.helpers import phi_dicom

    root = tmp_path_factory.mktemp("export-images")
    shutil.copy(sqlite_template, root / "db.sqlite3")
    engine = make_engine(f"sqlite:///{root / 'db.sqlite3'}")
    factory = sessionmaker(engine, expire_on_commit=False)
    settings = Settings(home=root / "home", pseudonym_key="image-db-key-0123456789")
    sources = [phi_dicom(root, rg1_path(), n=n) for n in (1, 2)]
    png = root / "small.png"
    Image.fromarray((np.arange(64 * 48) % 251).astype(np.uint8).reshape(48, 64), mode="L").save(png)
    sources.append(png)
    report = import_images(
        factory=factory,
        intake=intake(settings),
        paths=sources,
        actor="test",
        question="Is there a pneumothorax?",
        options=["Yes", "No"],
        reference_answer="B",
    )
    assert report.ok and len(report.case_ids) == 3, report.rejected
    out = ImageDB(factory=factory, settings=settings, sources=sources)
    with session_scope(factory, actor="test") as s:
        reviewer = factories.user(s, name=out.reviewer_name)
        second = factories.user(s, name="phi-second-reviewer")
        cases = [s.get(Case, cid) for cid in report.case_ids]
        for i, case in enumerate(cases):
            chain = store.add_chain(
                session=s,
                case_id=case.id,
                source="model",
                final_answer="A",
                steps=[
                    "The lungs are clear.",
                    "A thin pleural line is seen at the apex.",
                    "So the answer is A.",
                ],
            )
            review(
                s,
                chain,
                reviewer,
                ["accept", ("correct", "No pleural line is seen."), "reject"],
                answer="B",
                added=[(0, "The mediastinum is midline.")],
            )
            out.chains[f"image{i}"] = chain.id
        temporal = store.create_case(
            session=s,
            study_id=cases[1].study_id,
            prior_study_id=cases[0].study_id,
            task_type="temporal",
            question="Compared with the prior study, has the effusion changed?",
            options=["Improved", "Unchanged", "Worsened"],
            reference_answer="B",
        )
        chain = store.add_chain(
            session=s,
            case_id=temporal.id,
            source="model",
            final_answer="C",
            steps=["The prior shows a small effusion.", "The effusion is larger now."],
        )
        review(s, chain, reviewer, ["accept", ("correct", "The effusion is unchanged.")], answer="B")
        review(s, chain, second, ["accept", ("correct", "No change in the effusion.")], answer="B")
        out.chains["temporal"] = chain.id
    return out
