"""The error scale's seasonal part: how far the load moved at this phase one season ago."""

from __future__ import annotations

import numpy as np
import pytest
from scaling_builders import HOUR, series

from ebbtide.scaling.forecasting import Calibrated, Naive
from ebbtide.scaling.forecasting.seasonal_scale import seasonal_scales

pytestmark = pytest.mark.unit

STEP = 15.0
HORIZON = 240.0
SEASON = HOUR
JUMP_AT = 1800.0  # the load jumps half-way through every season...
JUMP_FOR = 300.0  # ...for five minutes


def hourly_jumps(seasons: float, *, seed: int = 1) -> np.ndarray:
    """A load of 100 (with a little noise) that jumps to 400 at the same phase every season."""
    times = np.arange(0.0, seasons * SEASON, STEP)
    phase = times % SEASON
    jumping = (phase >= JUMP_AT) & (phase < JUMP_AT + JUMP_FOR)
    noise = np.random.default_rng(seed).normal(0.0, 2.0, times.size)
    return np.asarray(np.where(jumping, 400.0, 100.0) + noise, dtype=np.float64)


def test_the_phase_where_the_load_jumped_a_season_ago_has_a_large_scale() -> None:
    # Now is two minutes before this season's jump: a season ago the load jumped by 300.
    values = hourly_jumps(2.0 + (JUMP_AT - 120.0) / SEASON)
    scales = seasonal_scales(series(values, step=STEP), season=SEASON, horizon=HORIZON, step=STEP)
    assert scales is not None
    assert scales.peak > 50.0 and scales.end > 50.0


def test_a_calm_phase_a_season_ago_has_the_scale_of_its_noise() -> None:
    values = hourly_jumps(2.0 + 600.0 / SEASON)  # ten minutes into a season: calm then
    scales = seasonal_scales(series(values, step=STEP), season=SEASON, horizon=HORIZON, step=STEP)
    assert scales is not None
    assert scales.end < 10.0


def test_no_seasonal_scale_without_a_season_of_history() -> None:
    values = hourly_jumps(0.9)
    assert seasonal_scales(series(values, step=STEP), season=SEASON, horizon=HORIZON, step=STEP) is None


def test_a_season_raises_the_headroom_before_a_jump_that_recurs() -> None:
    history = series(hourly_jumps(2.0 + (JUMP_AT - 120.0) / SEASON), step=STEP)
    plain = Calibrated(Naive()).forecast(history, horizon=HORIZON, step=STEP)
    seasonal = Calibrated(Naive(), season=SEASON).forecast(history, horizon=HORIZON, step=STEP)
    assert plain.at_horizon is not None and seasonal.at_horizon is not None
    # The same residuals (the model's own), at the scale of the jump a season ago.
    assert seasonal.at_horizon.scale > 2 * plain.at_horizon.scale
    assert seasonal.at_horizon.quantile(0.99) > plain.at_horizon.quantile(0.99) + 100.0
