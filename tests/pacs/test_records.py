"""The record of each import (``imports``): written by ``chestx import images`` with its progress bar,
exact under concurrent counting, bounded, free of file names, and rendered escaped for the admin
page."""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path

from sqlalchemy import func, select, update
from typer.testing import CliRunner

from chestx.web.admin.imports_panel import imports_html
from review_db.models import AuditLog, ImportRun
from services.import_runs import MAX_PROBLEMS, ImportRecorder, any_moving, recent_imports, safe_source
from tests.conftest import rg1_path
from tests.pacs.conftest import synthetic
from vocab.imports import ImportKind, ImportStatus, Outcome


def test_chestx_import_images_shows_progress_and_records_the_import(settings, tmp_path: Path) -> None:  # noqa: ANN001
    from chestx.cli import app
    from chestx.cli.common import database

    folder = tmp_path / "Doe_John_chest"  # a file or folder name may carry a patient's name
    synthetic(folder, "Doe_John_1.dcm", seed=1)
    (folder / "Doe_John_2.dcm").write_bytes(b"not a dicom at all")
    result = CliRunner().invoke(app, ["import", "images", str(folder), str(rg1_path())])
    assert result.exit_code == 1  # one file rejected; the good ones imported
    assert re.search(r"importing images: +\d+%\|.*\| \d/3 \[", result.stderr)  # the tqdm bar, total known
    assert "2 images imported, 0 already present, 1 rejected" in result.stdout
    with database()() as s:
        run = s.scalars(select(ImportRun)).one()
        audited = s.scalars(select(AuditLog).where(AuditLog.entity == "imports")).all()
    assert (run.kind, run.status, run.source) == (
        ImportKind.files,
        ImportStatus.done,
        "command line (2 paths)",
    )
    assert (run.total, run.imported, run.recognised, run.rejected) == (3, 2, 0, 1)
    assert len(run.problems) == 1 and run.problems[0][:2] == ["rejected", "file 2"]
    assert "Doe" not in str(run.problems) and all("Doe" not in str(a.after) for a in audited)


def test_counts_are_exact_when_threads_count_into_one_record(db) -> None:  # noqa: ANN001
    recorder = ImportRecorder.start(factory=db.factory, kind=ImportKind.receiver, source="A to B", actor="t")

    def count(n: int) -> None:
        for i in range(60):
            recorder.count(Outcome.rejected if i % 2 else Outcome.imported, f"item {n}.{i}", "why")

    threads = [threading.Thread(target=count, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recorder.finish(error="the sender aborted the association")
    with db.factory() as s:
        run = s.get(ImportRun, recorder.import_id)
        assert (run.imported, run.rejected, run.status) == (120, 120, ImportStatus.failed)
        assert len(run.problems) == min(120, MAX_PROBLEMS)
        # Started and finished are audited, not the 240 counts.
        assert s.scalar(select(func.count()).where(AuditLog.entity == "imports")) == 2


def test_a_running_import_that_stopped_moving_is_shown_stalled(sqlite_db) -> None:  # noqa: ANN001
    moving = ImportRecorder.start(
        factory=sqlite_db.factory, kind=ImportKind.dicomweb, source="http://p", actor="t"
    )
    stuck = ImportRecorder.start(factory=sqlite_db.factory, kind=ImportKind.files, source="x", actor="t")
    with sqlite_db.factory() as s, s.begin():
        old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        s.execute(update(ImportRun).where(ImportRun.id == stuck.import_id).values(updated_at=old))
    with sqlite_db.factory() as s:
        shown = {i["id"]: i for i in recent_imports(session=s)}
    assert shown[stuck.import_id]["stalled"] and not shown[moving.import_id]["stalled"]
    assert any_moving([shown[moving.import_id]]) and not any_moving([shown[stuck.import_id]])
    assert 'data-status="stalled"' in imports_html(list(shown.values()))


def test_the_admin_html_escapes_what_a_record_holds() -> None:
    now = dt.datetime.now(dt.UTC)
    counts = dict.fromkeys(Outcome, 0) | {Outcome.imported: 3, Outcome.rejected: 1}
    row = {
        "id": 7, "kind": ImportKind.receiver, "source": "<script>x</script> to CHESTX",
        "status": ImportStatus.running, "stalled": False, "total": 10, "counts": counts,
        "problems": [("rejected", "instance ab", "<b>bad</b>")], "error": None, "started_at": now,
        "updated_at": now, "finished_at": None,
    }  # fmt: skip
    html = imports_html([row])
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;bad&lt;/b&gt;" in html
    assert '<progress max="10" value="4">' in html and "4 / 10 · 3 imported · 1 rejected" in html


def test_a_record_keeps_no_credentials_of_a_url() -> None:
    assert safe_source("http://u:secret@pacs:8042/dicom-web?key=1") == "http://pacs:8042/dicom-web"
