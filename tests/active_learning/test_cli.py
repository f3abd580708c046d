"""``chestx prioritize`` and a loop run's end, scoring with a real text PRM folder (all-MiniLM-L6-v2
features; its head set by hand so that the test knows which step it distrusts: one that asserts a
finding the report never names)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from review_db.engine import read_session, session_scope
from review_db.models import StepScore, TrainingRun
from review_db.store import priorities as stored
from review_db.types import RunKind, RunStatus
from tests import factories
from training.context import RunContext, WorkerConfig
from training.loop_run import _prioritize
from training.prm_features import FEATURES, Encoder, EvidenceFeaturizer
from training.prm_text import TextPRM

REPORT = "Findings: The heart is normal in size. The lungs are clear."
CALM = ("The heart is normal in size.", "The lungs are clear.", "So the answer is A.")
ALARM = ("The heart is normal in size.", "There is a large pneumothorax.", "So the answer is A.")


@pytest.fixture(scope="module")
def prm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A text PRM folder whose head distrusts steps naming a finding the report does not."""
    coef = np.zeros(len(FEATURES), dtype=np.float32)
    coef[FEATURES.index("n_unnamed_findings")] = -4.0
    n = len(FEATURES)
    prm = TextPRM(EvidenceFeaturizer(Encoder()), np.zeros(n, np.float32), np.ones(n, np.float32), coef, 2.0)
    out = tmp_path_factory.mktemp("prm") / "prm"
    prm.save(out, encoder_path=None)
    return out


def _cli(*args: str):  # noqa: ANN202
    from chestx.cli import app

    return CliRunner().invoke(app, ["prioritize", *args], catch_exceptions=False)


@pytest.fixture
def seeded(settings) -> dict[str, int]:  # noqa: ANN001
    from chestx.cli.common import database

    factory = database()
    with session_scope(factory, actor="test") as s:
        calm = factories.case(s, steps=CALM, report=REPORT)[0].id
        alarm = factories.case(s, steps=ALARM, report=REPORT)[0].id
    return {"calm": calm, "alarm": alarm}


def test_prioritize_scores_with_the_given_prm_and_prints_the_order(settings, seeded, prm_dir: Path) -> None:  # noqa: ANN001
    from chestx.cli.common import database

    result = _cli("--strategy", "lowest", "--prm", str(prm_dir))
    assert result.exit_code == 0, result.output
    assert "strategy lowest: 2 open case(s) ordered, steps scored by PRM prm: 6" in result.output
    lines = [line for line in result.output.splitlines() if line.strip().startswith("case")]
    assert lines[0].split()[1] == str(seeded["alarm"]) and "weakest step 2" in lines[0]
    with read_session(database()) as s:
        p = dict(s.execute(select(StepScore.step_id, StepScore.p_correct)).all())
    assert len(p) == 6 and min(p.values()) < 0.2 < 0.8 < max(p.values())

    refused = _cli("--strategy", "random")
    assert refused.exit_code == 1 and "unknown strategy 'random'" in refused.output
    fifo = _cli("--no-score", "--strategy", "fifo", "--show", "0")
    assert fifo.exit_code == 0 and fifo.output.strip() == "strategy fifo: 2 open case(s) ordered"


def test_prioritize_takes_the_newest_prm_run_and_says_when_there_is_none(
    settings, seeded, prm_dir: Path
) -> None:  # noqa: ANN001
    from chestx.cli.common import database

    none = _cli("--show", "0")
    assert none.exit_code == 0 and "no trained PRM yet" in none.output
    factory = database()
    with session_scope(factory, actor="test") as s:
        run = TrainingRun(kind=RunKind.prm, status=RunStatus.succeeded, checkpoint=str(prm_dir), config={})
        s.add(run)
        s.flush()
        run_id = run.id
    done = _cli("--strategy", "disagreement")
    assert done.exit_code == 0 and f"steps scored by PRM run {run_id}: 6" in done.output
    with read_session(factory) as s:
        reasons = stored.priority_reasons(session=s, case_ids=list(seeded.values()))
    assert reasons[seeded["calm"]].endswith(f"(PRM run {run_id})")


def test_a_loop_run_ends_by_prioritizing_and_never_fails_for_it(db, prm_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    with session_scope(db.factory, actor="test") as s:
        case_id = factories.case(s, steps=ALARM, report=REPORT)[0].id
    worker = WorkerConfig(db.url, tmp_path, tmp_path, tmp_path, b"k" * 16)
    ctx = RunContext(7, "loop", {}, worker, db.factory, tmp_path, main_process=False)
    assert _prioritize(ctx, None, None) == {"skipped": "no PRM trained in this run"}
    done = _prioritize(ctx, str(prm_dir), 8)
    assert done == {"strategy": "fifo", "cases": 1, "scored_steps": 3, "prm": "PRM run 8"}
    with read_session(db.factory) as s:
        assert stored.priority_reasons(session=s, case_ids=[case_id]) == {case_id: "first in, first out"}
    failed = _prioritize(ctx, str(tmp_path / "gone"), 9)
    assert failed["error"].startswith("FileNotFoundError")
