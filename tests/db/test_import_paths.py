"""``chestx import images FOLDER`` stays inside the folder it was given: a link leading out of it
is refused by name (nothing of it stored), the files inside are imported; a file name's newline
is printed escaped, so it cannot forge a line of the report."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from chestx.compose import intake, ready_database
from review_db.models import Study
from services.importing import expand_paths, import_images
from tests.conftest import rg1_path


def _folder_with_a_link_out(tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = outside / "other-patient.dcm"
    shutil.copy(rg1_path("RG1_UNCR.dcm"), secret)
    given = tmp_path / "given"
    (given / "sub").mkdir(parents=True)
    shutil.copy(rg1_path("RG1_UNCI.dcm"), given / "sub" / "inside.dcm")
    (given / "link.dcm").symlink_to(secret)
    (given / "linked-folder").symlink_to(outside, target_is_directory=True)
    return given, secret


def test_expand_paths_pairs_each_found_file_with_its_folder(tmp_path: Path) -> None:
    given, secret = _folder_with_a_link_out(tmp_path)
    found = list(expand_paths([given, secret]))
    assert found == [(given / "link.dcm", given), (given / "sub" / "inside.dcm", given), (secret, None)]


def test_a_link_out_of_the_folder_is_refused_by_name(settings, tmp_path: Path) -> None:  # noqa: ANN001
    given, _secret = _folder_with_a_link_out(tmp_path)
    factory = ready_database(settings)
    report = import_images(factory=factory, intake=intake(settings), paths=[given], actor="test")
    assert report.imported == [str(given / "sub" / "inside.dcm")]
    assert [name for name, _ in report.rejected] == [str(given / "link.dcm")]
    assert "escapes its folder" in report.rejected[0][1]
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Study)) == 1


def test_a_file_named_directly_is_read_even_through_a_link(settings, tmp_path: Path) -> None:  # noqa: ANN001
    link = tmp_path / "chosen.dcm"
    link.symlink_to(rg1_path())
    factory = ready_database(settings)
    report = import_images(factory=factory, intake=intake(settings), paths=[link], actor="test")
    assert report.imported == [str(link)] and report.ok


def test_a_newline_in_a_file_name_is_escaped_in_the_cli_report(settings, tmp_path: Path) -> None:  # noqa: ANN001
    from chestx.cli import app

    forged = tmp_path / "scan.dcm\nrejected: nothing; 999 images imported"
    forged.write_bytes(b"not an image")
    result = CliRunner().invoke(app, ["import", "images", str(forged)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    rejected = [line for line in lines if line.startswith("rejected:")]
    assert len(rejected) == 1 and "scan.dcm\\nrejected: nothing" in rejected[0]
    assert not any(line.startswith("rejected: nothing") for line in lines)
