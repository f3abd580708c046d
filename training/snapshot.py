"""Snapshots of the verified data: the exports one training run trains and evaluates on.

Contract: :func:`snapshot` asks :func:`exports.build_export` for an export of each kind of the
verified chains (de-identified with the deployment's pseudonym key, split by patient, the test
split marked held out in the manifest) and returns the folders with their hashes and sizes;
the trainers read them through :mod:`training.data`. Raises :class:`~exports.EmptySelection`
when there is nothing to export.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from exports import ExportFilter, build_export


@dataclass(frozen=True)
class Snapshot:
    """The exports one loop run trains and evaluates on."""

    root: Path
    dirs: dict[str, Path]  # kind -> export folder
    hashes: dict[str, str]  # kind -> that export's snapshot hash
    rows: dict[str, dict[str, int]]  # kind -> split -> rows

    @property
    def snapshot_hash(self) -> str:
        """One hash over the component exports (what ``training_runs.snapshot_hash`` stores)."""
        joined = "\n".join(f"{k}:{v}" for k, v in sorted(self.hashes.items()))
        return hashlib.sha256(joined.encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "dirs": {k: str(v) for k, v in self.dirs.items()},
            "hashes": self.hashes,
            "rows": self.rows,
            "snapshot_hash": self.snapshot_hash,
        }


def snapshot(
    *,
    session_factory: sessionmaker[Session],
    key: bytes,
    image_root: Path,
    out_dir: Path,
    kinds: Sequence[str] = ("sft", "prm"),
    split_seed: int = 0,
    validation_share: float = 0.1,
    test_share: float = 0.2,
    fmt: str = "jsonl",
    include_demo: bool = False,
) -> Snapshot:
    """Export ``kinds`` of the verified data into ``out_dir/<kind>`` (atomic, see the export).

    ``key`` is the deployment's pseudonym key and ``image_root`` its image store. The split seed
    and shares must stay the same across runs, so that a patient once in test stays in test; the
    loop config holds them. Demo cases are left out unless ``include_demo``. Raises
    :class:`~exports.EmptySelection` when there is nothing to export.
    """
    dirs, hashes, rows = {}, {}, {}
    for kind in kinds:
        result = build_export(
            session_factory=session_factory,
            kind=kind,
            out_dir=Path(out_dir) / kind,
            key=key,
            image_root=image_root,
            fmt=fmt,
            split_seed=split_seed,
            validation_share=validation_share,
            test_share=test_share,
            images="png" if kind == "sft" else "none",
            filters=ExportFilter(include_demo=include_demo),
            command=f"chestx loop (snapshot {kind})",
        )
        dirs[kind], hashes[kind], rows[kind] = result.out_dir, result.snapshot_hash, dict(result.rows)
    return Snapshot(Path(out_dir), dirs, hashes, rows)
