"""The replayed world: the grid, the metrics lag, start-up delay, immediate scale-down, the
summary's figures and the timeline CSV."""

from __future__ import annotations

import io

import numpy as np
import pytest
from scaling_builders import T0, series, settings

from ebbtide.scaling.backtest import ReplayConditions, run_backtest
from ebbtide.scaling.timeline_csv import write_timeline_csv

pytestmark = pytest.mark.unit

CONDITIONS = ReplayConditions(step=60.0, metrics_lag=60.0, startup_delay=180.0)


def step_load() -> np.ndarray:
    """400 for 5 minutes, 1000 for 10, then 200 for 5, one sample a minute."""
    return np.array([400.0] * 5 + [1000.0] * 10 + [200.0] * 5)


def test_replicas_follow_the_load_late_by_the_lag_and_ready_later_by_the_startup_delay() -> None:
    timeline = run_backtest(series(step_load(), step=60), settings=settings(), conditions=CONDITIONS).timeline
    desired, ready = timeline.desired_replicas.tolist(), timeline.ready_replicas.tolist()
    # The jump at minute 5 is seen at minute 6 (lag), and ready at minute 9 (start-up delay).
    assert desired[:6] == [4] * 6 and desired[6:16] == [10] * 10
    assert ready[:9] == [4] * 9 and ready[9:16] == [10] * 7
    # The drop at minute 15 is seen at minute 16, and replicas go at once.
    assert desired[16:] == ready[16:] == [2] * 4


def test_summary_counts_overload_replica_hours_and_changes() -> None:
    result = run_backtest(series(step_load(), step=60), settings=settings(), conditions=CONDITIONS)
    timeline, summary = result.timeline, result.summary
    # Overloaded while 1000 meets 4 ready replicas: 4 x 100 / 0.7 = 571 < 1000, minutes 5-8.
    assert summary.overload_share == pytest.approx(4 / 20)
    assert summary.replica_hours == pytest.approx(timeline.desired_replicas.sum() / 60)
    assert summary.changes == 2
    assert summary.steps == 20


def test_the_grid_holds_each_sample_until_the_next() -> None:
    trace = series([100.0, 500.0], step=150, start=T0)
    timeline = run_backtest(trace, settings=settings(), conditions=CONDITIONS).timeline
    assert timeline.timestamps.tolist() == [T0, T0 + 60, T0 + 120]
    assert timeline.load.tolist() == [100.0, 100.0, 100.0]


def test_an_end_after_the_trace_holds_the_last_sample() -> None:
    conditions = ReplayConditions(step=60.0, metrics_lag=60.0, startup_delay=0.0, end=T0 + 300)
    timeline = run_backtest(
        series([100.0, 500.0], step=60), settings=settings(), conditions=conditions
    ).timeline
    assert timeline.load.tolist() == [100.0] + [500.0] * 5


def test_timeline_csv_has_one_row_per_step() -> None:
    result = run_backtest(series(step_load(), step=60), settings=settings(), conditions=CONDITIONS)
    out = io.StringIO()
    write_timeline_csv(result.timeline, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "timestamp,load,predicted_load,desired_replicas,ready_replicas"
    assert len(lines) == 1 + 20
    assert lines[1].endswith(",400.0,,4,4")
    assert lines[1].startswith("2023-11-14T22:13:20Z")


def test_an_empty_trace_is_refused() -> None:
    with pytest.raises(ValueError, match="no samples"):
        run_backtest(series([]), settings=settings(), conditions=CONDITIONS)


def test_a_replay_given_an_initial_count_starts_with_that_many_ready() -> None:
    # The autoscaling yardstick starts every policy at one ready replica.
    trace = series([1000.0] * 40)
    conditions = ReplayConditions(step=15.0, metrics_lag=60.0, startup_delay=120.0, initial=1)
    timeline = run_backtest(trace, settings=settings(max_replicas=50), conditions=conditions).timeline
    assert timeline.ready_replicas[0] == 1
    # Asked for once the first sample is visible, ready a start-up delay later.
    assert timeline.ready_replicas[4 + 8 - 1] == 1
    assert timeline.ready_replicas[4 + 8] == 10
