"""What a worker needs from the deployment, and a run as its stage sees it.

Contract: :class:`WorkerConfig` is the plain configuration of a worker process (the database, the
folders, the pseudonym key of the exports it snapshots). The composition root (``chestx``: the
CLI, the web app) builds it from its settings and passes it down; a worker process reads it from
a file only its user can read (:func:`training.launch.spawn`), so no secret is ever on a command
line, and this package never reads the settings itself.

:class:`RunContext` is what a stage (:mod:`training.stages`, :mod:`training.loop_run`) is given:
the run's id, kind and config, its folder, database access (:meth:`RunContext.transaction`),
progress reporting (:meth:`RunContext.report`, :meth:`RunContext.callbacks`) and, for the loop,
how to execute a child run in this process (``run_inline``, supplied by :mod:`training.worker`).
A stage returns a :class:`StageResult`: its metrics, its output folder, and the registry writes
to commit in the same transaction as its success.

Fault injection (tests, drills): a run config ``{"fault": {"after_step": N, "mode": "raise" |
"kill"}}`` makes the training stop after optimiser step N, by an exception (the worker records
the failure) or by ``os._exit`` (as if the OOM killer struck: whoever waits records it).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from review_db.engine import session_scope
from training import runs


@dataclass(frozen=True)
class WorkerConfig:
    """Where a worker finds the database and the files; secrets stay out of its ``repr``."""

    database_url: str = field(repr=False)  # may hold the database password
    runs_dir: Path  # run-<id> folders: outputs and logs
    image_dir: Path  # the image store the exports read
    cache_dir: Path  # caches shared by runs (precomputed SFT rows)
    pseudonym_key: bytes = field(repr=False)  # keyed pseudonyms of the snapshot exports
    busy_timeout_ms: int = 30_000  # SQLite's wait for the write lock

    def run_dir(self, run_id: int) -> Path:
        """The folder of a run's outputs and log: ``<runs_dir>/run-<id>``."""
        return Path(self.runs_dir) / f"run-{run_id}"

    def log_path(self, run_id: int) -> Path:
        """The worker's log (its stdout and stderr) of a run."""
        return self.run_dir(run_id) / "worker.log"

    def save(self, path: Path) -> Path:
        """Write this config to ``path``, readable by this user only (it holds secrets)."""
        data = {
            "database_url": self.database_url,
            "runs_dir": str(self.runs_dir),
            "image_dir": str(self.image_dir),
            "cache_dir": str(self.cache_dir),
            "pseudonym_key": self.pseudonym_key.hex(),
            "busy_timeout_ms": self.busy_timeout_ms,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT; this one must not
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        return path

    @classmethod
    def load(cls, path: Path) -> WorkerConfig:
        """The config :meth:`save` wrote."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            database_url=data["database_url"],
            runs_dir=Path(data["runs_dir"]),
            image_dir=Path(data["image_dir"]),
            cache_dir=Path(data["cache_dir"]),
            pseudonym_key=bytes.fromhex(data["pseudonym_key"]),
            busy_timeout_ms=int(data["busy_timeout_ms"]),
        )


class InjectedFault(RuntimeError):
    """Raised by fault injection ("mode": "raise")."""


@dataclass
class StageResult:
    """What a stage hands back: metrics, its output folder, and registry writes to commit with success."""

    metrics: dict[str, Any]
    checkpoint: str | None = None
    snapshot_hash: str | None = None
    finalize: Callable[[Session], dict[str, Any]] | None = None  # session -> extra metrics


@dataclass
class RunContext:
    """A run as its stage sees it: config, folders, database access and progress reporting."""

    run_id: int
    kind: str
    config: dict[str, Any]
    worker: WorkerConfig
    factory: sessionmaker[Session]
    out_dir: Path
    main_process: bool = True
    base_model_version_id: int | None = None
    run_inline: Callable[[int], int] | None = None  # executes a child run here; its exit status
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return f"system:training:run-{self.run_id}"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        with session_scope(self.factory, actor=self.actor) as session:
            yield session

    def report(self, progress: dict[str, Any]) -> None:
        if self.main_process:
            runs.write_progress(self.factory, self.run_id, progress)

    def callbacks(self, stage: str) -> list[Any]:
        """The trainer callbacks of a stage: progress to the database, and fault injection."""
        from training.progress import ProgressCallback  # lazy: subclasses transformers' TrainerCallback

        return [ProgressCallback(self.report, stage=stage, on_step=self._fault_hook())]

    def _fault_hook(self) -> Callable[[int], None] | None:
        fault = self.config.get("fault") or {}
        if not fault.get("after_step"):
            return None
        after, mode = int(fault["after_step"]), fault.get("mode", "raise")

        def hook(step: int) -> None:
            if step < after:
                return
            if mode == "kill":
                os._exit(137)  # no handler runs, no status is written: a hard crash
            raise InjectedFault(f"fault injected after step {step}")

        return hook


Stage = Callable[[RunContext], StageResult]
