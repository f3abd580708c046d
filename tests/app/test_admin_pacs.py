"""The admin page's imports section in a real browser: an import in progress is followed by the
page's timer (no click) until it is done, what it skipped or rejected is listed with the reason,
and an import made meanwhile from files appears on "Refresh"."""

from __future__ import annotations

import pytest

from tests.app.conftest import login
from tests.conftest import ARTIFACTS, rg1_path

pytestmark = pytest.mark.browser

ADMIN = "pacs-admin"
SOURCE = "http://pacs.example:8042/dicom-web"


def _row_says(page, import_id: int, *texts: str) -> None:  # noqa: ANN001
    """Wait until the imports table's row of ``import_id`` shows every text."""
    page.wait_for_function(
        "([id, texts]) => { const r = document.querySelector(`#cx-admin-imports tr[data-import='${id}']`);"
        " return r && texts.every(t => r.innerText.includes(t)); }",
        arg=[import_id, list(texts)],
    )


def test_the_admin_follows_an_import_and_reads_what_it_did_not_import(live, new_page) -> None:  # noqa: ANN001
    from services.import_runs import ImportRecorder
    from services.importing import Intake, import_images
    from vocab.imports import ImportKind, Outcome

    live.user(ADMIN, "admin")
    recorder = ImportRecorder.start(
        factory=live.factory, kind=ImportKind.dicomweb, source=SOURCE, actor="test", total=4
    )
    try:
        recorder.count(Outcome.imported, "instance 0a1b2c3d4e5f")
        page = new_page()
        login(page, live, ADMIN, path="/admin/")
        _row_says(page, recorder.import_id, "DICOMweb", SOURCE, "Running", "1 / 4 · 1 imported")
        assert page.locator(f"#cx-admin-imports tr[data-import='{recorder.import_id}'] progress").count() == 1

        # The PACS import moves on: the page follows it without a click (the admin timer).
        recorder.count(Outcome.recognised, "instance 1a1b2c3d4e5f")
        recorder.count(Outcome.skipped, "instance 2a1b2c3d4e5f", "body part EXTREMITY, not CHEST")
        _row_says(page, recorder.import_id, "3 / 4 · 1 imported · 1 recognised · 1 skipped")
        recorder.count(Outcome.rejected, "instance 3a1b2c3d4e5f", "has pixel data that cannot be decoded")
        recorder.finish()
        _row_says(page, recorder.import_id, "Done", "4 / 4")
        page.click(f"#cx-import-problems-{recorder.import_id} summary")
        problems = page.inner_text(f"#cx-import-problems-{recorder.import_id}")
        assert "skipped: body part EXTREMITY, not CHEST (1: instance 2a1b2c3d4e5f)" in problems
        assert "rejected: has pixel data that cannot be decoded (1: instance 3a1b2c3d4e5f)" in problems

        # A file import made meanwhile (the timer has stopped): "Refresh" shows it.
        files = ImportRecorder.start(
            factory=live.factory, kind=ImportKind.files, source="command line (1 path)", actor="test"
        )
        settings = live.settings
        intake = Intake(key=settings.key_bytes(), image_dir=settings.image_dir)
        import_images(factory=live.factory, intake=intake, paths=[rg1_path()], actor="test", recorder=files)
        page.click("#cx-admin-refresh")
        _row_says(page, files.import_id, "files", "command line (1 path)", "Done", "1 / 1 · 1 recognised")
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#cx-admin-imports").screenshot(path=str(ARTIFACTS / "admin-imports.png"))
    finally:
        recorder.finish()  # never leave a running import behind for the other tests' admin pages
