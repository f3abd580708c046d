"""Progress reporting: from a trainer's callbacks to a sink (the database row, a test's list).

Contract: :class:`ProgressCallback` is a ``transformers.TrainerCallback`` that turns the trainer's
events into ``{"stage", "step", "total", "loss", "eta_s", "epoch", "loss_history"}`` dicts and
hands them to a sink no more often than every ``min_interval_s`` seconds (always on the first and
the last step), so a fast loop does not turn into a database write per step. Only the main
process of a distributed run reports. ``loss_history`` is the run's loss curve as ``[[step,
loss], ...]`` (what ``services.dashboards.metrics.loss_curve`` reads), bounded by
:class:`LossHistory`: at most ``max_points`` points, evenly spaced over the whole run, plus the
latest one. (A stage's heartbeat between steps is :class:`training.worker.Heartbeat`'s.)

ETA is the mean time per step so far times the steps left: honest for the steady state of a
training run, which is what people watch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

Sink = Callable[[dict[str, Any]], None]
MAX_LOSS_POINTS = 500  # the dashboards draw at most this many points per curve


class LossHistory:
    """A bounded loss curve: every ``stride``-th logged loss, the stride doubling when full.

    Halving (keep every other point, double the stride) keeps the points evenly spaced over the
    whole run in O(1) memory, however long it trains; the latest point is always reported too,
    since it is the one people read.
    """

    def __init__(self, max_points: int = MAX_LOSS_POINTS) -> None:
        if max_points < 2:
            raise ValueError("a loss history needs room for at least two points")
        self.max_points = max_points
        self.stride = 1
        self._kept: list[list[float]] = []
        self._seen = 0
        self._last: list[float] | None = None

    def add(self, step: int, loss: float) -> None:
        point = [int(step), float(loss)]
        if self._seen % self.stride == 0:
            self._kept.append(point)
            if len(self._kept) >= self.max_points:  # one slot stays free for the latest point
                self._kept = self._kept[::2]
                self.stride *= 2
        self._seen += 1
        self._last = point

    def points(self) -> list[list[float]]:
        """``[[step, loss], ...]`` in step order, at most ``max_points`` long."""
        if self._last is None or (self._kept and self._kept[-1] == self._last):
            return [list(p) for p in self._kept]
        return [*(list(p) for p in self._kept), list(self._last)]


def _trainer_callback_base() -> type:
    from transformers import TrainerCallback

    return TrainerCallback


class ProgressCallback(_trainer_callback_base()):  # type: ignore[misc]
    """Reports step, total, loss and ETA to ``sink`` (see module docstring)."""

    def __init__(
        self,
        sink: Sink,
        *,
        stage: str,
        min_interval_s: float = 2.0,
        on_step: Callable[[int], None] | None = None,
        max_loss_points: int = MAX_LOSS_POINTS,
    ) -> None:
        self.sink = sink
        self.stage = stage
        self.min_interval_s = min_interval_s
        self.on_step = on_step  # fault injection and tests: called after every optimiser step
        self._t0: float | None = None
        self._last_report = 0.0
        self._loss: float | None = None
        self.history = LossHistory(max_loss_points)

    def _report(self, state: Any, *, force: bool = False) -> None:
        if not state.is_world_process_zero:
            return
        now = time.monotonic()
        if not force and now - self._last_report < self.min_interval_s:
            return
        self._last_report = now
        step, total = int(state.global_step), int(state.max_steps or 0)
        elapsed = now - (self._t0 or now)
        eta = elapsed / step * (total - step) if step and total else None
        self.sink(
            {
                "stage": self.stage,
                "step": step,
                "total": total,
                "loss": self._loss,
                "eta_s": round(eta, 1) if eta is not None else None,
                "epoch": round(float(state.epoch or 0.0), 3),
                "loss_history": self.history.points(),
            }
        )

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._t0 = time.monotonic()
        self._report(state, force=True)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if logs and "loss" in logs:
            self._loss = float(logs["loss"])
            if math.isfinite(self._loss):  # the column is JSON: NaN and inf do not belong in it
                self.history.add(int(state.global_step), self._loss)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._report(state, force=state.global_step >= (state.max_steps or 0))
        if self.on_step is not None:
            self.on_step(int(state.global_step))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._report(state, force=True)
