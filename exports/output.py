"""Where an export lands: a folder that appears whole or not at all, and zip archives of it.

Contract: :func:`atomic_output_dir` yields a temporary sibling of the output folder; when the
block ends normally the temporary folder is renamed onto the output (an atomic rename on one
filesystem), and on any error or interruption it is removed, so a reader never sees a partial
export. An existing output is refused unless ``overwrite``, and even then only when it is empty
or an earlier export (it holds our ``manifest.json``): ``--overwrite`` never deletes a folder it
did not make. :func:`zip_folder` writes a deterministic zip (sorted entries, fixed timestamps).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

from exports.formats import FORMATS
from review_db.errors import ValidationError

MANIFEST = "manifest.json"
MANIFEST_MARKER = "chestx_export"  # key every manifest carries
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_STORED = {".png"} | {f.suffix for f in FORMATS.values() if f.compressed}


class EmptySelection(ValidationError):
    """Nothing matched the export's filters (or nothing survived consolidation); nothing written."""


class OutputExists(ValidationError):
    """The output folder exists and ``overwrite`` was not given (or it is not an earlier export)."""


def is_export_dir(path: Path) -> bool:
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and MANIFEST_MARKER in data


def check_output(out_dir: Path, *, overwrite: bool) -> None:
    """Refuse an output folder that exists, unless ``overwrite`` and it is ours or empty."""
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if not overwrite:
        raise OutputExists(f"{out_dir} already exists; choose another --out or pass --overwrite")
    if not out_dir.is_dir() or out_dir.is_symlink():
        raise OutputExists(f"{out_dir} exists and is not a folder; it is left alone")
    if any(out_dir.iterdir()) and not is_export_dir(out_dir):
        raise OutputExists(f"{out_dir} is not an earlier export (no {MANIFEST}); it is left alone")


@contextlib.contextmanager
def atomic_output_dir(out_dir: Path, *, overwrite: bool) -> Iterator[Path]:
    """A temporary folder beside ``out_dir`` that becomes ``out_dir`` when the block succeeds."""
    out_dir = Path(out_dir).absolute()
    check_output(out_dir, overwrite=overwrite)
    made_parent = not out_dir.parent.exists()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        _fsync_tree(tmp)
        check_output(out_dir, overwrite=overwrite)  # someone may have created it meanwhile
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(out_dir, old)
            os.rename(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out_dir)
    except BaseException:  # KeyboardInterrupt too: never leave a half-written export behind
        shutil.rmtree(tmp, ignore_errors=True)
        if made_parent:
            with contextlib.suppress(OSError):
                out_dir.parent.rmdir()  # only if still empty
        raise


def _fsync_tree(root: Path) -> None:
    """Flush file contents before the rename publishes them (a crash must not publish holes)."""
    for folder, _dirs, names in os.walk(root):
        for name in names:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def zip_folder(folder: Path, zip_path: Path) -> Path:
    """Zip ``folder``'s files (paths relative to it) into ``zip_path``, written atomically."""
    zip_path = Path(zip_path)
    tmp = zip_path.with_name(f".{zip_path.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_ZIP_TIME)
                # PNG and the compressed formats (Parquet) are compressed already: store them.
                stored = path.suffix in _STORED
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with open(path, "rb") as src, archive.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(tmp, zip_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return zip_path
