"""The files of an export: a hashing file handle, the list of files written, JSON encoding.

Contract: everything here writes below one folder (the export's temporary folder) and nowhere
else. Every file's sha256 is known when it is closed (computed while writing, not by reading the
file back), so the manifest costs no second pass. The sinks that write rows and tables in each
file format are in :mod:`exports.formats`; where files go is :class:`exports.placement.Layout`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

try:  # orjson is several times faster than json; it comes with gradio, and json does the same job
    import orjson

    loads = orjson.loads

    def dumps_line(obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)

except ImportError:  # pragma: no cover - exercised only where orjson is absent
    loads = json.loads

    def dumps_line(obj: Any) -> bytes:
        return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class HashingFile:
    """A binary file that hashes what is written to it (sha256) and counts the bytes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.sha = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self._fh.write(data)

    def flush(self) -> None:
        self._fh.flush()

    def tell(self) -> int:
        return self.size

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
            self.closed = True


class Files:
    """The files of an export so far: relative path -> (sha256, bytes)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries: dict[str, dict[str, Any]] = {}

    def add_bytes(self, relpath: str, data: bytes) -> bool:
        """Write ``data`` at ``relpath`` once; False when it is already there (a shared image)."""
        if relpath in self.entries:
            return False
        target = self.root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.entries[relpath] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        return True

    def add_hashed(self, relpath: str, handle: HashingFile) -> None:
        self.entries[relpath] = {"sha256": handle.sha.hexdigest(), "bytes": handle.size}

    def data_hash(self, exclude: Iterable[str] = ("README.md", "manifest.json")) -> str:
        """sha256 over the sorted (path, sha256) of the data files: the export's snapshot hash."""
        skip = set(exclude)
        digest = hashlib.sha256()
        for relpath in sorted(self.entries):
            if relpath not in skip:
                digest.update(f"{relpath}\x00{self.entries[relpath]['sha256']}\n".encode())
        return digest.hexdigest()
