"""Progress ticks: the bounded loss curve the dashboards draw."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from training.progress import LossHistory, ProgressCallback


def test_loss_history_is_bounded_and_evenly_spaced() -> None:
    history = LossHistory(max_points=50)
    for step in range(1, 10_001):
        history.add(step, 1.0 / step)
        assert len(history.points()) <= 50
    points = history.points()
    steps = [s for s, _ in points]
    assert steps[0] == 1 and steps[-1] == 10_000  # the whole run, and the latest point
    gaps = {b - a for a, b in zip(steps[:-2], steps[1:-1], strict=True)}
    assert gaps == {history.stride}, gaps  # evenly spaced (the latest point aside)
    assert len(points) >= 25  # halving keeps at least half of the room in use
    assert all(loss == pytest.approx(1.0 / s) for s, loss in points)


def test_short_runs_keep_every_point() -> None:
    history = LossHistory(max_points=500)
    for step in (5, 10, 15):
        history.add(step, 2.0)
    assert history.points() == [[5, 2.0], [10, 2.0], [15, 2.0]]


def test_progress_ticks_carry_the_loss_curve() -> None:
    ticks: list[dict] = []
    callback = ProgressCallback(ticks.append, stage="sft", min_interval_s=0.0, max_loss_points=10)
    state = SimpleNamespace(is_world_process_zero=True, global_step=0, max_steps=40, epoch=0.0)
    callback.on_train_begin(None, state, None)
    for step in range(1, 41):
        state.global_step, state.epoch = step, step / 40
        callback.on_log(None, state, None, logs={"loss": 5.0 - step / 10})
        callback.on_log(None, state, None, logs={"eval_loss": 9.0})  # not a training loss
        callback.on_step_end(None, state, None)
    callback.on_log(None, state, None, logs={"loss": float("nan")})  # never written to JSON
    callback.on_train_end(None, state, None)

    last = ticks[-1]
    assert last["step"] == 40 and last["loss_history"][-1] == [40, pytest.approx(1.0)]
    assert 5 <= len(last["loss_history"]) <= 10
    assert ticks[0]["loss_history"] == []
