"""Content-addressed storage of de-identified image payloads under one root folder.

Contract: a payload lives at ``root/<sha[:2]>/<sha><suffix>`` where ``sha`` is the image's PIXEL
hash (:func:`~imaging.prepare.pixel_sha256`), so re-importing the same image, even from
another lossless transfer syntax, finds the file already there and keeps the first one. Writes are
atomic: a temporary file in the same folder, fsync, then a hard link (or rename) into place, so a
reader never sees a partial file and a crash leaves at most a stray ``.tmp-*`` file. Functions
take and return paths RELATIVE to ``root`` (what the database stores) and refuse any path that
would leave ``root``.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

SUFFIXES = frozenset({".dcm", ".png"})
_SHA256 = re.compile(r"[0-9a-f]{64}")


def payload_path(*, sha256: str, suffix: str) -> Path:
    """The relative path of a payload: ``ab/abcdef...<suffix>``."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError("sha256 must be 64 lower-case hex digits")
    if suffix not in SUFFIXES:
        raise ValueError(f"suffix must be one of {sorted(SUFFIXES)}")
    return Path(sha256[:2]) / f"{sha256}{suffix}"


def store_payload(*, root: Path, sha256: str, suffix: str, payload: bytes) -> tuple[Path, bool]:
    """Write ``payload`` unless its file exists; returns (relative path, created_new).

    Safe against concurrent writers of the same image: exactly one sees ``created_new`` True.
    """
    relative = payload_path(sha256=sha256, suffix=suffix)
    target = Path(root) / relative
    if target.exists():
        return relative, False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        created = _publish(Path(tmp_name), target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    _fsync_dir(target.parent)
    return relative, created


def load_payload(*, root: Path, relative_path: Path | str) -> bytes:
    """The bytes of a stored payload. Raises FileNotFoundError when it is absent."""
    return _inside(root, relative_path).read_bytes()


def remove_payload(*, root: Path, relative_path: Path | str) -> bool:
    """Delete a stored payload (an import rolled back); returns whether a file was removed."""
    target = _inside(root, relative_path)
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    _fsync_dir(target.parent)
    return True


def _publish(tmp: Path, target: Path) -> bool:
    """Move ``tmp`` to ``target`` unless ``target`` exists; True when this call created it."""
    try:
        os.link(tmp, target)  # atomic create-if-absent: fails if another writer got there first
        return True
    except FileExistsError:
        return False
    except OSError:  # a filesystem without hard links: rename is atomic but last-writer-wins
        existed = target.exists()
        os.replace(tmp, target)
        return not existed


def _inside(root: Path, relative_path: Path | str) -> Path:
    base = Path(root).resolve()
    target = (base / relative_path).resolve()
    if not target.is_relative_to(base) or target == base:
        raise ValueError(f"{relative_path} is not a path inside the image store")
    return target


def _fsync_dir(folder: Path) -> None:
    """Persist the directory entry too (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
