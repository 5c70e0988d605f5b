"""A scale-down on the forecast to a replica's full capacity, only where the load's own history
shows that it does not come back after falling as it has now (:mod:`ebbtide.scaling.rebound`)."""

from __future__ import annotations

import numpy as np
import pytest
from scaling_builders import HOUR, FixedPeak, Scaler, predictive, series, settings

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.forecasting import ModelName
from ebbtide.scaling.forecasting.peak import PeakDistribution
from ebbtide.scaling.rebound import rebound

pytestmark = pytest.mark.unit

STEP = 15.0
PERIOD = 180.0


def swinging(high: float, low: float, *, samples: int) -> np.ndarray:
    """A minute at ``high``, a minute at ``low``, and so on: ``samples`` of it, ending on ``low``
    just after a fall."""
    cycle = np.repeat([high, low], 4)
    values = np.tile(cycle, samples // cycle.size + 2)
    return values[values.size - samples - 3 : values.size - 3]


def settled(high: float, low: float, *, samples: int) -> np.ndarray:
    """Twenty minutes at ``high``, a fall to ``low`` held for twenty minutes, a slow climb back
    over twenty, and so on: ``samples`` of it, ending five samples after a fall."""
    climb = np.linspace(low, high, 80)
    cycle = np.concatenate((np.full(80, high), np.full(80, low), climb))
    values = np.tile(cycle, samples // cycle.size + 2)
    end = (samples // cycle.size + 1) * cycle.size + 80 + 5
    return values[end - samples : end]


def test_a_load_that_swings_may_come_back_by_its_whole_swing() -> None:
    values = swinging(1000.0, 600.0, samples=800)
    assert rebound(series(values), period=PERIOD, step=STEP, quantile=0.99) == pytest.approx(1000 / 600)


def test_a_load_that_fell_and_stayed_down_is_not_expected_back() -> None:
    values = settled(1000.0, 600.0, samples=1200)
    assert rebound(series(values), period=PERIOD, step=STEP, quantile=0.99) == pytest.approx(1.0)


def test_a_fall_never_seen_before_gives_no_rebound() -> None:
    values = np.concatenate((np.full(400, 1000.0), [600.0]))
    assert rebound(series(values), period=PERIOD, step=STEP, quantile=0.99) is None
    assert rebound(series([1000.0, 600.0]), period=PERIOD, step=STEP, quantile=0.99) is None


def test_a_rise_from_no_load_is_unbounded() -> None:
    values = np.tile(np.repeat([500.0, 1.0, 0.0, 0.0], 4), 50)[:-11]
    assert rebound(series(values), period=PERIOD, step=STEP, quantile=0.99) == np.finfo(np.float64).max


def test_no_load_now_gives_no_rebound() -> None:
    values = np.tile(np.repeat([500.0, 0.0], 4), 100)[:-3]
    assert rebound(series(values), period=PERIOD, step=STEP, quantile=0.99) is None


# The forecast after the fall: the load at the horizon stays at 600 (six replicas at target), but
# the upper quantile of the peak until a removed replica could be back reaches 1,050: eleven
# replicas at target, eight at capacity (100 / 0.7 each).
AFTER_THE_FALL = FixedPeak(
    PeakDistribution.of(base=600.0, scale=100.0, residuals=np.full(50, 4.5)),
    at_horizon=PeakDistribution.of(base=600.0, scale=100.0, residuals=np.zeros(50)),
)


@pytest.mark.parametrize(
    ("history", "replicas", "reason"),
    [
        (settled(1000.0, 600.0, samples=1200), 8, reasons.SCALE_DOWN_ON_FORECAST),
        (swinging(1500.0, 600.0, samples=480), 10, reasons.STABILISING),
    ],
    ids=["settled", "swinging"],
)
def test_a_scale_down_to_capacity_waits_for_a_load_that_comes_back(
    history: np.ndarray, replicas: int, reason: str
) -> None:
    policy = settings(scale_down_window=600.0, prediction=predictive(ModelName.NAIVE))
    scaler = Scaler(policy, replicas=10, forecaster=AFTER_THE_FALL, reach=HOUR)
    scaler.tick(1000.0)
    reading = series(history, start=scaler.now + STEP - STEP * (history.size - 1))
    decision = scaler.tick(reading)
    assert (decision.desired_replicas, decision.reason) == (replicas, reason)
