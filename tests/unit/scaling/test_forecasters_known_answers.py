"""Each forecaster on synthetic series whose future is known: a line, a sine with a trend, a
constant."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scaling_builders import DAY, T0, series

from ebbtide.scaling.forecasting import HoltWinters, Linear, ModelName, SeasonalNaive
from ebbtide.scaling.forecasting.base import Forecaster
from ebbtide.scaling.series import LoadSeries

pytestmark = pytest.mark.unit

STEP = 300.0  # five-minute samples
HORIZON = 900.0


def seasonal_with_trend(days: float, *, noise: float = 0.0, seed: int = 0) -> LoadSeries:
    """``500 + 0.001 load/s trend + 200 sin(2 pi t / day)`` (+ Gaussian noise), every 5 min."""
    count = int(days * DAY / STEP)
    times = T0 + STEP * np.arange(count)
    return LoadSeries(times=times, values=truth(times) + np.random.default_rng(seed).normal(0, noise, count))


def truth(times: np.ndarray) -> np.ndarray:
    elapsed = times - T0
    return 500 + 0.001 * elapsed + 200 * np.sin(2 * np.pi * elapsed / DAY)


def at_horizon(history: LoadSeries) -> float:
    return float(truth(np.array([history.last_time + HORIZON]))[0])


def test_linear_extends_a_line_exactly() -> None:
    line = series([100 + 3 * i for i in range(50)], step=15)
    forecast = Linear().forecast(line, horizon=60, step=15)
    assert forecast.value == pytest.approx(100 + 3 * 49 + 3 * 4)
    assert (forecast.model, forecast.note) == (ModelName.LINEAR, "")


def test_linear_extends_an_irregular_line_exactly() -> None:
    times = T0 + np.array([0, 7, 30, 31, 55, 90, 120.5])
    line = LoadSeries(times=times, values=10 + 0.5 * (times - T0))
    forecast = Linear().forecast(line, horizon=30, step=15)
    assert forecast.value == pytest.approx(10 + 0.5 * 150.5)


def test_linear_fits_only_its_window() -> None:
    # A step change long ago must not tilt the line fitted to the flat recent part.
    values = [1000.0] * 100 + [200.0] * 100
    forecast = Linear(window=600).forecast(series(values), horizon=300, step=15)
    assert forecast.value == pytest.approx(200.0)


def test_linear_holds_a_single_sample_and_says_so() -> None:
    forecast = Linear().forecast(series([42.0]), horizon=60, step=15)
    assert forecast.value == 42.0
    assert "fewer than two samples" in forecast.note


def test_linear_never_predicts_negative_load() -> None:
    falling = series([100 - 10 * i for i in range(10)])
    assert Linear().forecast(falling, horizon=3600, step=15).value == 0.0


def test_seasonal_naive_follows_a_sine_with_a_trend() -> None:
    history = seasonal_with_trend(3)
    forecast = SeasonalNaive(season=DAY).forecast(history, horizon=HORIZON, step=STEP)
    assert forecast.model is ModelName.SEASONAL_NAIVE
    assert forecast.value == pytest.approx(at_horizon(history), rel=0.01)


def test_seasonal_naive_without_a_season_of_history_falls_back_to_linear() -> None:
    history = seasonal_with_trend(0.8)
    forecast = SeasonalNaive(season=DAY).forecast(history, horizon=HORIZON, step=STEP)
    assert forecast.model is ModelName.LINEAR
    assert "SeasonalNaive" in forecast.note and "used Linear" in forecast.note


def test_holt_winters_follows_a_sine_with_a_trend() -> None:
    history = seasonal_with_trend(4, noise=5.0)
    forecast = HoltWinters(season=DAY).forecast(history, horizon=HORIZON, step=STEP)
    assert forecast.model is ModelName.HOLT_WINTERS
    assert forecast.value == pytest.approx(at_horizon(history), rel=0.03)


@pytest.mark.parametrize(
    ("season", "days", "why"),
    [
        pytest.param(DAY, 1.5, "two full seasons", id="too little history"),
        pytest.param(None, 4, "no seasonality", id="no season"),
    ],
)
def test_holt_winters_falls_back_to_linear_and_says_why(season: float | None, days: float, why: str) -> None:
    history = seasonal_with_trend(days)
    forecast = HoltWinters(season=season).forecast(history, horizon=HORIZON, step=STEP)
    assert forecast.model is ModelName.LINEAR
    assert why in forecast.note
    assert forecast.value == Linear().forecast(history, horizon=HORIZON, step=STEP).value


CONSTANT_MODELS = [Linear(), SeasonalNaive(season=DAY), HoltWinters(season=DAY)]


@pytest.mark.parametrize("model", CONSTANT_MODELS, ids=lambda m: str(m.name))
def test_a_constant_load_is_forecast_as_that_constant(model: Forecaster) -> None:
    # statsmodels may warn while fitting a flat series: the forecaster records the warnings
    # (tests turn warnings into errors, so one escaping would fail here).
    flat = series([250.0] * int(3 * DAY / STEP), step=STEP)
    forecast = model.forecast(flat, horizon=HORIZON, step=STEP)
    assert forecast.model is model.name
    assert forecast.value == pytest.approx(250.0, abs=1e-6)


@hypothesis_settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.floats(min_value=0, max_value=1e5), min_size=1, max_size=300),
    horizon=st.floats(min_value=1, max_value=7200),
)
def test_forecasts_are_finite_and_never_negative(values: list[float], horizon: float) -> None:
    history = series(values, step=600)
    for model in (Linear(), SeasonalNaive(season=8 * 3600), HoltWinters(season=8 * 3600)):
        forecast = model.forecast(history, horizon=horizon, step=600)
        assert math.isfinite(forecast.value) and forecast.value >= 0
