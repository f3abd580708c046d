"""Importing images and predictions through the CLI, on a real database, with real DICOM files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from chestx.compose import database, intake
from review_db.models import Case, Chain, Study
from review_db.types import ChainSource, TaskType
from services.importing import import_images, import_predictions, split_question
from tests.conftest import REAL_OUTPUTS, rg1_path

runner = CliRunner()
PHI_NAME, PHI_ID = "Zaphod^Beeblebrox^Q", "PHI-ID-4242-XYZ"


@pytest.fixture
def cli_env(settings, monkeypatch: pytest.MonkeyPatch):
    """The CLI against a fresh SQLite database under a temporary CHESTX_HOME."""
    from chestx.cli import app

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(app, list(args), input=stdin)

    return invoke


def _stored_bytes(home: Path) -> bytes:
    """Every byte the import left under CHESTX_HOME: database (and its WAL) and stored images."""
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def _phi_dicom(tmp_path: Path) -> Path:
    ds = pydicom.dcmread(rg1_path())
    ds.PatientName, ds.PatientID = PHI_NAME, PHI_ID
    ds.InstitutionName = "Ministry of Truth Hospital"
    path = tmp_path / "phi.dcm"
    ds.save_as(path)
    return path


def test_import_rg1_all_transfer_syntaxes_recognises_lossless_copies(cli_env, settings) -> None:
    paths = [str(rg1_path(f"RG1_{ts}.dcm")) for ts in ("UNCI", "UNCR", "J2KR", "J2KI")]
    result = cli_env(
        "import", "images", *paths, "--question", "Is there a pneumothorax?", "-o", "Yes", "-o", "No"
    )
    assert result.exit_code == 0, result.output
    # UNCI is new; UNCR and J2KR decode to the same pixels; J2KI is lossy, so a different image.
    assert "2 images imported, 2 already present, 0 rejected" in result.output

    with database(settings)() as s:
        studies = s.scalars(select(Study)).all()
        assert len(studies) == 2 and {st.source_format for st in studies} == {"dicom"}
        assert all((settings.image_dir / st.stored_path).is_file() for st in studies)
        cases = s.scalars(select(Case)).all()
        assert len(cases) == 4 and {c.task_type for c in cases} == {TaskType.binary}


def test_phi_reaches_no_byte_of_database_or_files(cli_env, settings, tmp_path: Path) -> None:
    source = _phi_dicom(tmp_path)
    result = cli_env("import", "images", str(source))
    assert result.exit_code == 0, result.output
    stored = _stored_bytes(settings.home)
    assert len(stored) > 1_000_000  # the image is there ...
    for marker in (PHI_NAME, PHI_ID, "Beeblebrox", "Ministry of Truth"):  # ... its identifiers are not
        assert marker.encode() not in stored
        assert marker not in result.output


@pytest.mark.postgres
def test_phi_reaches_no_byte_of_postgres(db, settings, tmp_path: Path) -> None:
    if db.backend != "postgres":
        pytest.skip("PostgreSQL variant")
    report = import_images(
        factory=db.factory,
        intake=intake(settings),
        paths=[_phi_dicom(tmp_path)],
        actor="test",
        question="Which finding?",
        options=["A thing", "Another"],
    )
    assert report.ok and len(report.imported) == 1
    url = db.url.replace("postgresql+psycopg", "postgresql")
    dump = subprocess.run(["pg_dump", "--data-only", url], capture_output=True, check=True).stdout
    assert b"studies" in dump
    for marker in (PHI_NAME, PHI_ID, "Beeblebrox", "Ministry of Truth"):
        assert marker.encode() not in dump


def _count_rows(settings) -> tuple[int, int, int]:

    with database(settings)() as s:
        return (
            s.scalar(select(func.count()).select_from(Study)),
            s.scalar(select(func.count()).select_from(Case)),
            len([p for p in settings.image_dir.rglob("*") if p.is_file()])
            if settings.image_dir.exists()
            else 0,
        )


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    good = rg1_path().read_bytes()
    files = {
        "truncated": good[: len(good) // 2],
        "garbage": bytes(range(256)) * 64,
        "text": b"Findings: none. This is a report, not an image.\n",
    }
    out = {}
    for name, data in files.items():
        out[name] = tmp_path / f"{name}.dcm"
        out[name].write_bytes(data)
    ds = pydicom.dcmread(rg1_path())
    del ds.PixelData
    out["no_pixels"] = tmp_path / "no_pixels.dcm"
    ds.save_as(out["no_pixels"])
    return out


@pytest.mark.parametrize("kind", ["truncated", "garbage", "text", "no_pixels"])
def test_bad_file_is_named_with_reason_and_writes_nothing(
    cli_env, settings, tmp_path: Path, kind: str
) -> None:
    bad = _bad_files(tmp_path)[kind]
    result = cli_env(
        "import", "images", str(bad), "--question", "Is there an effusion?", "-o", "Yes", "-o", "No"
    )
    assert result.exit_code == 1
    assert f"rejected: {bad}" in result.output
    assert "Traceback" not in result.output
    assert _count_rows(settings) == (0, 0, 0)


def test_batch_imports_good_files_and_reports_each_bad_one(cli_env, settings, tmp_path: Path) -> None:
    bad = _bad_files(tmp_path)
    good = tmp_path / "good.dcm"
    shutil.copy(rg1_path(), good)
    result = cli_env("import", "images", str(bad["truncated"]), str(good), str(bad["text"]))
    assert result.exit_code == 1
    assert "1 images imported, 0 already present, 2 rejected" in result.output
    assert f"rejected: {bad['truncated']}" in result.output and f"rejected: {bad['text']}" in result.output
    assert _count_rows(settings)[0] == 1


def test_non_chest_image_imports_with_a_warning(cli_env, settings) -> None:
    result = cli_env("import", "images", str(rg1_path("RG3_UNCI.dcm")))
    assert result.exit_code == 0
    assert "warning:" in result.output and "chest" in result.output.lower()


def test_failed_transaction_removes_the_image_it_stored(sqlite_db, settings, tmp_path: Path) -> None:
    # A question that fails validation after the image was stored: the rollback removes the file.
    report = import_images(
        factory=sqlite_db.factory,
        intake=intake(settings),
        paths=[rg1_path()],
        actor="test",
        question="Which?",
        options=["only one"],
        task_type="single_choice",
    )
    assert not report.ok and "at least two options" in report.rejected[0][1]
    assert not settings.image_dir.exists() or not any(p.is_file() for p in settings.image_dir.rglob("*"))
    with sqlite_db.factory() as s:
        assert s.scalar(select(func.count()).select_from(Study)) == 0


FIXTURE = [
    {
        "question": "Which findings are in this chest X-ray? Options:\nA) pleural effusion on the left\n"
        "B) no acute findings\nC) cardiomegaly\nLet's think step by step. Enclose the reasoning within "
        "<think></think> and the answer within <answer></answer>.",
        "answer": "<answer> B </answer>",
        "pred": "system\nYou are a helpful assistant.\nuser\nWhich findings?\nassistant\n"
        "<think> The lungs are clear without focal consolidation. "
        "There is no pleural effusion, e.g. no blunting of the costophrenic angles. "
        "The cardiac silhouette is normal in size. </think><answer> B </answer>",
        "reason_steps": ["The lungs are clear.", "No effusion is seen.", "The heart size is normal."],
        "original_report": "Findings: Lungs are clear. No effusion. Normal heart size. "
        "Impression: Normal chest.",
    },
    {"question": "broken item without pred"},
]


def test_import_predictions_creates_cases_with_model_and_reference_chains(
    sqlite_db, settings, tmp_path
) -> None:
    path = tmp_path / "preds.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in FIXTURE))
    report = import_predictions(factory=sqlite_db.factory, intake=intake(settings), path=path, actor="test")
    assert report.imported == ["preds.jsonl#0"] and report.rejected[0][0] == "preds.jsonl#1"
    with sqlite_db.factory() as s:
        case = s.scalars(select(Case)).one()
        assert case.options[0] == "pleural effusion on the left" and case.reference_answer == "B"
        chains = {c.source: c for c in s.scalars(select(Chain))}
        assert [st.text for st in chains[ChainSource.report].steps] == FIXTURE[0]["reason_steps"]
        model = chains[ChainSource.imported]
        assert model.final_answer == "B" and len(model.steps) == 3
        assert model.steps[1].text.startswith("There is no pleural effusion, e.g. no blunting")
    again = import_predictions(factory=sqlite_db.factory, intake=intake(settings), path=path, actor="test")
    assert again.recognised == ["preds.jsonl#0"] and not again.imported


def test_split_question_reads_chestx_reasoner_prompts() -> None:
    stem, options = split_question(FIXTURE[0]["question"])
    assert stem == "Which findings are in this chest X-ray?"
    assert options == ["pleural effusion on the left", "no acute findings", "cardiomegaly"]


@pytest.mark.skipif(not REAL_OUTPUTS.exists(), reason="../shared/data is absent")
def test_import_the_102_real_outputs(sqlite_db, settings) -> None:
    report = import_predictions(
        factory=sqlite_db.factory, intake=intake(settings), path=REAL_OUTPUTS, actor="test"
    )
    assert len(report.imported) == 102 and report.ok
    with sqlite_db.factory() as s:
        model_chains = s.scalars(select(Chain).where(Chain.source == ChainSource.imported)).all()
        assert len(model_chains) == 102
        assert all(len(c.steps) >= 2 for c in model_chains)
