"""The offline demo: accounts, the real chest radiograph from ``pydicom-data`` and demo cases.

Contract: :func:`seed_demo` is idempotent (users are found by name, cases by ``external_id``
"demo:...", studies by pixel hash) and needs nothing but this repository and the installed
``pydicom-data`` package: no network, no model, nothing from ../shared. Every case, study and
chain it writes is marked demo content (``is_demo``; chains have source "demo"), and every
report says it was written for the demo.

The chains were written by hand for the demo, about the images as they look: RG1 (a real PA
chest radiograph from the DICOM sample sets) shows multiple rounded opacities in both lungs.
Some steps are deliberately wrong or vague, so that a reviewer has something to correct. None of
this is a clinical read.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.data import get_testdata_file
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from imaging import render_for_display
from review_db import store
from review_db.engine import session_scope
from review_db.errors import ChestXError
from review_db.models import Case, Chain, User
from review_db.types import ChainSource, Role, TaskType
from services.importing import Intake

DEMO_USER = "demo"
DEMO_EDUCATOR = "demo-educator"
DEMO_SENIOR = "demo-senior"  # the (inactive) account that reviewed the verified demo cases
# A documented password: the demo listens on 127.0.0.1 and is for trying the app, not for use.
DEMO_PASSWORD = "chestx-demo"
DEMO_NOTE = "DEMO CONTENT written for the ChestX Review demo; not a clinical report."
_LEASE = dt.timedelta(minutes=5)


@dataclass
class DemoInfo:
    """What :func:`seed_demo` did and how to log in."""

    username: str = DEMO_USER
    password: str = DEMO_PASSWORD
    educator: str = DEMO_EDUCATOR
    created_cases: list[int] = field(default_factory=list)
    existing_cases: int = 0


class DemoUnavailable(ChestXError):
    """The demo's real radiograph is not installed (the ``[demo]`` extra, package pydicom-data)."""


def rg1_path() -> Path:
    """The real chest radiograph shipped by ``pydicom-data`` (never downloaded)."""
    path = get_testdata_file("RG1_UNCI.dcm", download=False)
    if path is None:
        raise DemoUnavailable(
            "the demo needs the real chest radiograph of the pydicom-data package: "
            "pip install 'chestx-review[demo]' (or serve with --no-demo)"
        )
    return Path(path)


def phantom(kind: str, *, size: int = 768, seed: int = 7) -> np.ndarray:
    """A synthetic PA chest phantom (uint8, air dark): "normal", "effusion" or "pneumothorax".

    Only for the demo: two lung fields, mediastinum, spine, ribs and the finding drawn with
    simple shapes, plus a little noise. Deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.full((size, size), 40.0, dtype=np.float32)
    body = ((x - 0.5) / 0.46) ** 2 + ((y - 0.55) / 0.52) ** 2 < 1
    img[body] = 170
    lungs = {}
    for side, cx in (("right", 0.31), ("left", 0.69)):  # patient's right is the viewer's left
        mask = ((x - cx) / 0.16) ** 2 + ((y - 0.47) / 0.30) ** 2 < 1
        lungs[side] = mask
        img[mask] = 70
    img[(np.abs(x - 0.5) < 0.035) & body] = 215  # spine
    for k in range(8):  # ribs: faint arcs across both lungs
        arc = np.abs(y - (0.22 + 0.07 * k) - 0.06 * np.cos((x - 0.5) * 6)) < 0.006
        img[arc & (lungs["right"] | lungs["left"])] += 35
    heart = ((x - 0.55) / 0.14) ** 2 + ((y - 0.66) / 0.12) ** 2 < 1
    img[heart] = 190
    if kind == "effusion":  # a meniscus at the right base
        meniscus = lungs["right"] & (y > 0.62 + 0.05 * np.cos((x - 0.31) * 9))
        img[meniscus] = 185
    elif kind == "pneumothorax":  # lucent rim without lung markings at the left apex, a pleural line
        rim = lungs["left"] & (((x - 0.69) / 0.16) ** 2 + ((y - 0.47) / 0.30) ** 2 > 0.55) & (y < 0.5)
        img[rim] = 35
        line = lungs["left"] & (np.abs(((x - 0.69) / 0.16) ** 2 + ((y - 0.47) / 0.30) ** 2 - 0.55) < 0.02)
        img[line & (y < 0.5)] = 150
    elif kind != "normal":
        raise ValueError(f"unknown phantom {kind!r}")
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class DemoCase:
    key: str
    image: str  # rg1 | rg1-lung | phantom-normal | phantom-effusion | phantom-pneumothorax
    task_type: TaskType
    question: str
    options: Sequence[str]
    answer: str | None
    steps: Sequence[str]
    model_answer: str | None
    report: str
    prior: str | None = None
    verified_by_senior: bool = False


_RG1_REPORT = (
    f"{DEMO_NOTE}\n\nPA chest radiograph. Multiple well-defined rounded opacities of varying size in "
    "both lungs, most in the mid and lower zones. No pleural effusion. No pneumothorax. Heart size "
    "within normal limits.\n\nImpression: multiple bilateral pulmonary nodules; metastases should "
    "be considered."
)

CASES: tuple[DemoCase, ...] = (
    DemoCase(
        key="rg1-nodules",
        image="rg1",
        task_type=TaskType.single_choice,
        question="Which finding best describes this chest radiograph?",
        options=(
            "No acute abnormality",
            "Multiple bilateral pulmonary nodules",
            "Large left pleural effusion",
            "Right pneumothorax",
        ),
        answer="B",
        steps=(
            "This is a PA chest radiograph with adequate inspiration and no rotation.",
            "Multiple rounded opacities are seen, confined to the right lung.",
            "The opacities are well defined and vary in size, up to about 3 cm.",
            "The costophrenic angles are sharp, so there is no pleural effusion.",
            "No visceral pleural line is seen, so there is no pneumothorax.",
            "The heart is enlarged.",
            "Multiple well-defined nodules of varying size suggest metastatic disease.",
        ),
        model_answer="B",
        report=_RG1_REPORT,
    ),
    DemoCase(
        key="rg1-effusion",
        image="rg1",
        task_type=TaskType.binary,
        question="Is there a pleural effusion?",
        options=("Yes", "No"),
        answer="B",
        steps=(
            "Both costophrenic angles are sharp.",
            "There is no meniscus sign at either lung base.",
            "The diaphragmatic contours are clearly seen on both sides.",
            "Therefore there is no pleural effusion.",
        ),
        model_answer="B",
        report=_RG1_REPORT,
    ),
    DemoCase(
        key="rg1-temporal",
        image="rg1-lung",
        prior="rg1",
        task_type=TaskType.temporal,
        question="Compared with the prior chest X-ray, how has the appearance changed?",
        options=("Improved", "Unchanged", "Worsened"),
        answer="B",
        steps=(
            "The prior and current studies are both PA chest radiographs.",
            "The rounded opacities in both lungs have the same number and size on both studies.",
            "A new opacity has appeared at the left base.",
            "No new effusion or pneumothorax is seen.",
        ),
        model_answer="C",
        report=f"{DEMO_NOTE}\n\nComparison with the prior study: the pulmonary nodules are unchanged.",
    ),
    DemoCase(
        key="phantom-effusion",
        image="phantom-effusion",
        task_type=TaskType.single_choice,
        question="Which abnormality is shown on this synthetic phantom?",
        options=("Right pleural effusion", "Left pneumothorax", "No abnormality"),
        answer="A",
        steps=(
            "This synthetic image shows two lung fields, the mediastinum and the spine.",
            "There is a homogeneous opacity at the right lung base.",
            "Its upper border is curved, like a meniscus.",
            "The left lung is clear.",
            "A basal opacity with a meniscus indicates a right pleural effusion.",
        ),
        model_answer="A",
        report=f"{DEMO_NOTE}\n\nSynthetic phantom with a right pleural effusion.",
    ),
    DemoCase(
        key="phantom-pneumothorax",
        image="phantom-pneumothorax",
        task_type=TaskType.multiple_choice,
        question="Which findings are present on this synthetic phantom? Choose all that apply.",
        options=("Left pneumothorax", "Right pleural effusion", "Cardiomegaly"),
        answer="A",
        steps=(
            "There is a lucent rim without lung markings at the left apex.",
            "A thin pleural line separates the rim from the lung.",
            "The right costophrenic angle is blunted.",
            "The heart is of normal size.",
        ),
        model_answer="A,B",
        report=f"{DEMO_NOTE}\n\nSynthetic phantom with a left apical pneumothorax.",
    ),
    DemoCase(
        key="rg1-verified",
        image="rg1",
        task_type=TaskType.single_choice,
        question="Where are the pulmonary nodules on this radiograph?",
        options=("Right lung only", "Left lung only", "Both lungs"),
        answer="C",
        steps=(
            "This is a PA chest radiograph.",
            "Rounded opacities are seen in the right lung.",
            "The left lung is clear.",
            "The nodules are therefore unilateral.",
        ),
        model_answer="A",
        report=_RG1_REPORT,
        verified_by_senior=True,
    ),
    DemoCase(
        key="phantom-verified",
        image="phantom-normal",
        task_type=TaskType.binary,
        question="Is this synthetic phantom normal?",
        options=("Yes", "No"),
        answer="A",
        steps=(
            "Both lung fields are clear.",
            "The heart size is normal.",
            "There is no effusion or pneumothorax.",
        ),
        model_answer="A",
        report=f"{DEMO_NOTE}\n\nSynthetic phantom without abnormality.",
        verified_by_senior=True,
    ),
)


def _image_files(folder: Path) -> dict[str, Path]:
    """The demo's source images: RG1 itself, a lung-window rendering of it, and phantoms."""

    files = {"rg1": rg1_path()}
    rendering = render_for_display(files["rg1"], preset="lung", max_side=1024)
    files["rg1-lung"] = folder / "rg1-lung.png"
    rendering.to_pil().save(files["rg1-lung"])
    for kind in ("normal", "effusion", "pneumothorax"):
        path = folder / f"phantom-{kind}.png"
        Image.fromarray(phantom(kind), mode="L").save(path)
        files[f"phantom-{kind}"] = path
    return files


def _ensure_user(session: Session, name: str, role: Role, password: str, *, active: bool = True) -> User:
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        user = store.add_user(session=session, username=name, password=password, role=role)
        user.active = active
    return user


def _studies(factory: sessionmaker[Session], intake: Intake, folder: Path) -> dict[str, int]:

    ids: dict[str, int] = {}
    for name, path in _image_files(folder).items():
        prepared = intake.prepare(path, patient_id=f"demo-patient-{name.split('-')[0]}")
        with session_scope(factory, actor="system:demo") as session:
            study, _ = store.add_study(
                session=session, prepared=prepared, image_root=intake.image_dir, is_demo=True
            )
            ids[name] = study.id
    return ids


def _verify(session: Session, chain_id: int, senior: User, spec: DemoCase) -> None:
    """Review a demo case as the senior reviewer, with a correction, a rejection and an added step."""
    chain = session.get(Chain, chain_id)
    steps = sorted(chain.steps, key=lambda s: s.position)
    verdicts = ["accept"] * len(steps)
    if spec.key == "rg1-verified":
        verdicts[1] = "correct"
        verdicts[2] = "reject"
        verdicts[3] = "correct"
    for step, verdict in zip(steps, verdicts, strict=True):
        corrected = None
        if verdict == "correct" and step.position == 1:
            corrected = "Rounded opacities are seen in both lungs, most in the mid and lower zones."
        elif verdict == "correct":
            corrected = "The nodules are therefore bilateral."
        store.record_verdict(
            session=session,
            step_id=step.id,
            reviewer_id=senior.id,
            verdict=verdict,
            corrected_text=corrected,
            comment="Several nodules project over the left lung." if verdict == "reject" else "",
            request_id=f"demo-{spec.key}-{step.position}",
            lease=_LEASE,
        )
    if spec.key == "rg1-verified":
        store.add_step(
            session=session,
            chain_id=chain_id,
            reviewer_id=senior.id,
            after_position=2,
            text="Compare both lungs zone by zone before calling the disease unilateral.",
            lease=_LEASE,
        )
    agree = spec.model_answer == spec.answer
    store.submit_review(
        session=session,
        chain_id=chain_id,
        reviewer_id=senior.id,
        answer_verdict="agree" if agree else "disagree",
        corrected_answer=None if agree else spec.answer,
        time_spent_s=95.0,
        lease=_LEASE,
    )


def seed_demo(*, factory: sessionmaker[Session], intake: Intake) -> DemoInfo:
    """Create (or find) the demo accounts and cases; returns how to log in and what was created."""
    info = DemoInfo()
    with session_scope(factory, actor="system:demo") as session:
        _ensure_user(session, DEMO_USER, Role.reviewer, DEMO_PASSWORD)
        _ensure_user(session, DEMO_EDUCATOR, Role.educator, DEMO_PASSWORD)
        _ensure_user(session, DEMO_SENIOR, Role.reviewer, secrets.token_urlsafe(24), active=False)
        existing = set(session.scalars(select(Case.external_id).where(Case.external_id.like("demo:%"))))
    todo = [c for c in CASES if f"demo:{c.key}" not in existing]
    info.existing_cases = len(CASES) - len(todo)
    if not todo:
        return info
    with tempfile.TemporaryDirectory(prefix="chestx-demo-") as tmp:
        studies = _studies(factory, intake, Path(tmp))
    for spec in todo:
        with session_scope(factory, actor="system:demo") as session:
            case = store.create_case(
                session=session,
                study_id=studies[spec.image],
                prior_study_id=studies[spec.prior] if spec.prior else None,
                task_type=spec.task_type,
                question=spec.question,
                options=list(spec.options),
                reference_answer=spec.answer,
                report=spec.report,
                external_id=f"demo:{spec.key}",
                is_demo=True,
                required_reviews=1,
                priority=1 if spec.key == "rg1-nodules" else 0,
            )
            chain = store.add_chain(
                session=session,
                case_id=case.id,
                steps=list(spec.steps),
                final_answer=spec.model_answer,
                source=ChainSource.demo,
                source_detail="written by hand for the ChestX Review demo",
                raw_output="<think>" + " ".join(spec.steps) + f"</think><answer>{spec.model_answer}</answer>",
            )
            if spec.verified_by_senior:
                senior = session.scalar(select(User).where(User.username == DEMO_SENIOR))
                _verify(session, chain.id, senior, spec)
            info.created_cases.append(case.id)
    return info
