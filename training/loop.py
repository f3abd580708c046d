"""The feedback loop: its configuration, and when a loop run is due.

Contract: :class:`LoopConfig` is the loop's configuration (``chestx loop --config loop.yaml``,
the admin page's loop YAML), checked by :meth:`LoopConfig.from_dict`. :func:`trigger_state` says
whether a loop run is due: at least ``min_new_verified`` cases verified since the last loop run
began, or ``schedule_hours`` since it began with at least one new verified case. The loop run
itself is :mod:`training.loop_run` (executed by a worker, never here: the web app and the CLI
import this module to decide, not to train).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review_db.errors import ValidationError
from review_db.models import Case, Chain, ChainReview
from review_db.types import CaseStatus, RunKind, utcnow
from training import runs
from training.entry_points import PRM_KINDS
from training.gate import METRICS

# The loop configuration shipped with the code (the admin page's default).
SHIPPED_CONFIG = Path(__file__).resolve().parent / "configs" / "loop.yaml"


@dataclass
class LoopConfig:
    """The loop's configuration (``chestx loop --config loop.yaml``)."""

    base_model: str | None = field(
        default=None, metadata={"help": "Registered as version 'base' on the first run."}
    )
    min_new_verified: int = field(
        default=50, metadata={"help": "Run when this many cases were verified since the last run."}
    )
    schedule_hours: float | None = field(
        default=None, metadata={"help": "Or run this often (if anything new)."}
    )
    poll_seconds: float = field(default=60.0, metadata={"help": "How often the worker checks the trigger."})
    stages: dict[str, bool] = field(default_factory=lambda: {"sft": True, "prm": True, "rl": False})
    prm_kind: str = field(default="text", metadata={"help": "'text' (MiniLM, CPU) or 'trl' (PRMTrainer)."})
    promote_metric: str = field(
        default="composite", metadata={"help": "composite | accuracy | radrscore | nll"}
    )
    promote_margin: float = field(default=0.01, metadata={"help": "The candidate must win by at least this."})
    split_seed: int = field(
        default=0, metadata={"help": "Patient split seed: keep it fixed, test stays test."}
    )
    validation_share: float = field(default=0.1, metadata={"help": "Share of patients in validation."})
    include_demo: bool = field(
        default=False,
        metadata={"help": "Train on demo cases too: only to try the loop on a demo install."},
    )
    test_share: float = field(default=0.2, metadata={"help": "Share of patients held out for evaluation."})
    isolation: str = field(
        default="subprocess", metadata={"help": "Stages in their own process, or 'inline'."}
    )
    launcher: list[str] = field(
        default_factory=list, metadata={"help": "e.g. [accelerate, launch, --config_file, F]"}
    )
    stale_minutes: float = field(
        default=10.0, metadata={"help": "A job without heartbeat this long is failed."}
    )
    sft: dict[str, Any] = field(default_factory=dict, metadata={"help": "training.sft arguments."})
    prm: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "training.prm_text / prm_trl arguments."}
    )
    rl: dict[str, Any] = field(default_factory=dict, metadata={"help": "training.grpo arguments."})
    eval: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "training.evaluate.EvalConfig fields."}
    )
    fault: dict[str, Any] | None = field(
        default=None, metadata={"help": "Fault injection: {stage, after_step, mode}."}
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValidationError(
                f"unknown loop settings: {', '.join(unknown)} (known: {', '.join(sorted(names))})"
            )
        config = cls(**data)
        if config.isolation not in ("subprocess", "inline"):
            raise ValidationError("isolation must be 'subprocess' or 'inline'")
        if config.prm_kind not in PRM_KINDS:
            raise ValidationError("prm_kind must be 'text' or 'trl'")
        if config.promote_metric not in METRICS:
            raise ValidationError(f"promote_metric must be one of {', '.join(METRICS)}")
        return config

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Trigger:
    due: bool
    reason: str
    new_verified: int
    since: dt.datetime | None


def new_verified(*, session: Session, since: dt.datetime | None) -> int:
    """Cases verified (a review submitted) after ``since`` (all verified cases when None)."""
    last_review = (
        select(Chain.case_id, func.max(ChainReview.submitted_at).label("at"))
        .join(ChainReview, ChainReview.chain_id == Chain.id)
        .group_by(Chain.case_id)
        .subquery()
    )
    stmt = (
        select(func.count())
        .select_from(Case)
        .join(last_review, last_review.c.case_id == Case.id)
        .where(Case.status == CaseStatus.verified)
    )
    if since is not None:
        stmt = stmt.where(last_review.c.at > since)
    return int(session.scalar(stmt) or 0)


def trigger_state(*, session: Session, config: LoopConfig, now: dt.datetime | None = None) -> Trigger:
    """Whether a loop run is due (see the module docstring)."""
    now = now or utcnow()
    last = runs.last_job(session=session, kind=RunKind.loop, statuses=(*runs.FINISHED, *runs.ACTIVE))
    since = (last.started_at or last.created_at) if last else None
    count = new_verified(session=session, since=since)
    if count >= config.min_new_verified:
        return Trigger(
            True,
            f"{count} cases verified since the last run (threshold {config.min_new_verified})",
            count,
            since,
        )
    if (
        config.schedule_hours
        and count
        and (since is None or now - since >= dt.timedelta(hours=config.schedule_hours))
    ):
        return Trigger(
            True, f"scheduled every {config.schedule_hours} h; {count} new verified cases", count, since
        )
    return Trigger(
        False,
        f"{count} cases verified since the last run; waiting for {config.min_new_verified}",
        count,
        since,
    )
