"""While the load's history is younger than an hour, the forecast's part asks for at most twice
what the reactive rule asks for: a calibration resting on minutes of errors must not size the
capacity for hours. An older history is not capped, nor is the full history of a policy whose
history window is shorter than an hour."""

from __future__ import annotations

import numpy as np
import pytest
from scaling_builders import HOUR, FixedPeak, Scaler, predictive, series, settings

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.forecasting import ModelName, PeakDistribution
from ebbtide.scaling.planner import YOUNG_HISTORY
from ebbtide.scaling.series import LoadSeries

pytestmark = pytest.mark.unit

STEP = 15.0


HALF_HOUR = HOUR / 2


def scaler(*, forecast: float, history: float = 6 * HOUR) -> Scaler:
    """Three replicas at 100 per replica, reading ``history`` of load; the forecast's quantile is
    ``forecast`` whatever the load."""
    sure = PeakDistribution.of(base=forecast, scale=1.0, residuals=np.zeros(1))
    policy = settings(prediction=predictive(ModelName.NAIVE, history=history))
    return Scaler(policy, replicas=3, forecaster=FixedPeak(sure, at_horizon=sure))


def flat(load: float, *, span: float, before: Scaler, lag: float = 0.0) -> LoadSeries:
    """A flat ``load`` sampled every ``STEP`` seconds over ``span`` seconds, up to ``lag``
    seconds before the scaler's next tick."""
    count = round(span / STEP) + 1
    end = before.now + STEP - lag
    return series(np.full(count, load), step=STEP, start=end - STEP * (count - 1))


def test_a_young_history_asks_for_at_most_twice_the_reactive_count() -> None:
    # 300 at 100 per replica: the reactive rule asks for 3; the forecast's 5000 would ask for 50.
    young = scaler(forecast=5000.0)
    decision = young.tick(flat(300.0, span=HOUR / 6, before=young))
    assert (decision.desired_replicas, decision.reason) == (6, reasons.SCALE_UP_ON_FORECAST)


def test_the_cap_follows_the_reactive_count() -> None:
    young = scaler(forecast=5000.0)
    assert young.tick(flat(2000.0, span=HOUR / 6, before=young)).desired_replicas == 40


def test_a_forecast_within_the_cap_is_left_alone() -> None:
    young = scaler(forecast=450.0)
    assert young.tick(flat(300.0, span=HOUR / 6, before=young)).desired_replicas == 5


def test_a_history_of_an_hour_is_no_longer_capped() -> None:
    grown = scaler(forecast=5000.0)
    decision = grown.tick(flat(300.0, span=YOUNG_HISTORY, before=grown))
    assert (decision.desired_replicas, decision.reason) == (50, reasons.SCALE_UP_ON_FORECAST)


def test_the_cap_takes_no_replica_away() -> None:
    # Ten replicas, a load the reactive rule would carry on one: the forecast's 900 may hold nine.
    young = scaler(forecast=900.0)
    young.replicas = 10
    decision = young.tick(flat(100.0, span=HOUR / 6, before=young))
    assert (decision.desired_replicas, decision.reason) == (9, reasons.SCALE_DOWN_ON_LOAD)


def test_a_short_history_window_is_capped_until_it_is_full() -> None:
    # The policy reads half an hour: twenty minutes of it are young, all of it is not.
    short = scaler(forecast=5000.0, history=HALF_HOUR)
    assert short.tick(flat(300.0, span=HALF_HOUR * 2 / 3, before=short)).desired_replicas == 6
    decision = short.tick(flat(300.0, span=HALF_HOUR, before=short))
    assert (decision.desired_replicas, decision.reason) == (50, reasons.SCALE_UP_ON_FORECAST)


def test_a_full_short_history_window_is_never_capped_again() -> None:
    # Every round reads the last half hour, as the sliding window does, for two hours.
    short = scaler(forecast=5000.0, history=HALF_HOUR)
    wanted = [short.tick(flat(300.0, span=HALF_HOUR, before=short)).desired_replicas for _ in range(480)]
    assert set(wanted) == {50}


def test_a_full_window_read_behind_the_metrics_lag_is_not_capped() -> None:
    # The newest sample is half a minute old: the read spans less than the window, yet it
    # reaches back as far as the window does.
    lagging = scaler(forecast=5000.0, history=HALF_HOUR)
    decision = lagging.tick(flat(300.0, span=HALF_HOUR - 30.0, before=lagging, lag=30.0))
    assert decision.desired_replicas == 50


def test_an_hour_long_history_read_behind_the_metrics_lag_is_not_capped() -> None:
    lagging = scaler(forecast=5000.0)
    decision = lagging.tick(flat(300.0, span=YOUNG_HISTORY - 30.0, before=lagging, lag=30.0))
    assert decision.desired_replicas == 50
