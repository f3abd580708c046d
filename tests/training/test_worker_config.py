"""A worker process gets the deployment's configuration from a file only its user can read: never
on its command line (which every user of the machine can read), never from the app's settings."""

from __future__ import annotations

import stat
from pathlib import Path

from review_db.engine import session_scope
from review_db.models import TrainingRun
from review_db.types import RunStatus
from training import runs
from training.context import WorkerConfig
from training.launch import config_path, follow, spawn, worker_command


def _worker(tmp_path: Path) -> WorkerConfig:
    return WorkerConfig(
        database_url="postgresql+psycopg://chestx:s3cret-pw@db.example/chestx",
        runs_dir=tmp_path / "runs",
        image_dir=tmp_path / "images",
        cache_dir=tmp_path / "cache",
        pseudonym_key=b"k3y-0123456789",
        busy_timeout_ms=1234,
    )


def test_the_config_file_is_private_and_round_trips(tmp_path: Path) -> None:
    worker = _worker(tmp_path)
    path = config_path(worker, 7)
    path.parent.mkdir(parents=True)
    path.write_text("{}", encoding="utf-8")
    path.chmod(0o644)  # an older, readable file: saving must not keep its mode
    worker.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert WorkerConfig.load(path) == worker
    assert "s3cret-pw" not in repr(worker) and "k3y" not in repr(worker)


def test_the_command_line_names_the_file_and_no_secret(tmp_path: Path) -> None:
    worker = _worker(tmp_path)
    command = worker_command(7, config=config_path(worker, 7), launcher=["accelerate", "launch"])
    assert command[:2] == ["accelerate", "launch"]
    assert command[-3:] == ["7", "--config", str(config_path(worker, 7))]
    secrets = ("s3cret", "k3y", worker.pseudonym_key.hex())
    assert not any(secret in part for secret in secrets for part in command)


def test_a_spawned_worker_runs_from_its_file_and_removes_it(settings) -> None:  # noqa: ANN001
    """A loop with nothing to train on, through a real worker process: it opens the database and
    reads the pseudonym key from its file alone, then removes the file."""
    from chestx.cli.common import database
    from chestx.compose import worker_config

    factory = database()
    with session_scope(factory, actor="test") as s:
        run_id = runs.start_job(
            session=s, kind="loop", config={"loop": {"base_model": "none"}}, created_by="test"
        ).id
    worker = worker_config(settings)
    proc = spawn(run_id, worker=worker)
    assert not any(worker.pseudonym_key.hex() in str(a) for a in proc.args)
    assert follow(proc, factory=factory, run_id=run_id) == 0  # no `worker`: the worker cleans up itself
    assert not config_path(worker, run_id).exists()
    with factory() as s:
        run = s.get(TrainingRun, run_id)
        assert run.status is RunStatus.succeeded, worker.log_path(run_id).read_text()
        assert run.metrics["decision"] == "nothing to train on"
