"""Holt-Winters' fitted model is reused between refits, rolled forward exactly as statsmodels
would filter, and its warnings are recorded rather than raised."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from scaling_builders import DAY, T0, series
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from ebbtide.scaling.forecasting import HoltWinters
from ebbtide.scaling.forecasting.holt_winters import HoltWintersMemo
from ebbtide.scaling.forecasting.holt_winters_fit import estimate
from ebbtide.scaling.series import LoadSeries

pytestmark = pytest.mark.unit

PER_SEASON = 24


def daily(count: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    index = np.arange(count)
    return 100 + 0.05 * index + 30 * np.sin(2 * np.pi * index / PER_SEASON) + rng.normal(0, 2, count)


def test_rolling_forward_matches_statsmodels_filtering_with_the_same_weights() -> None:
    values = daily(24 * 8)
    fitted = estimate(values[:120], per_season=PER_SEASON, start=None)
    rolled = fitted.state.advance(values[120:], fitted.params)

    initial = ExponentialSmoothing(
        values[:120],
        trend="add",
        seasonal="add",
        seasonal_periods=PER_SEASON,
        initialization_method="heuristic",
    ).fit(
        smoothing_level=fitted.params.alpha,
        smoothing_trend=fitted.params.beta,
        smoothing_seasonal=fitted.params.gamma,
        optimized=False,
    )
    full = ExponentialSmoothing(
        values,
        trend="add",
        seasonal="add",
        seasonal_periods=PER_SEASON,
        initialization_method="known",
        initial_level=initial.params["initial_level"],
        initial_trend=initial.params["initial_trend"],
        initial_seasonal=initial.params["initial_seasons"],
    ).fit(
        smoothing_level=fitted.params.alpha,
        smoothing_trend=fitted.params.beta,
        smoothing_seasonal=fitted.params.gamma,
        optimized=False,
    )
    expected = full.forecast(PER_SEASON + 3)
    ours = [rolled.predict(ahead) for ahead in range(1, PER_SEASON + 4)]
    np.testing.assert_allclose(ours, expected, rtol=1e-9)


def test_fractional_horizons_interpolate_between_bins() -> None:
    fitted = estimate(daily(24 * 4), per_season=PER_SEASON, start=None)
    state = fitted.state
    assert state.predict(2.25) == pytest.approx(0.75 * state.predict(2) + 0.25 * state.predict(3))


def hourly(values: np.ndarray, *, first: int = 0) -> LoadSeries:
    """``values`` as hourly samples, the first one ``first`` hours after a whole hour."""
    return series(values, step=3600.0, start=T0 - T0 % 3600 + 3600 * first)


def test_the_fitted_model_is_reused_until_a_twelfth_of_the_window_is_new() -> None:
    values = daily(24 * 6)
    model = HoltWinters(season=DAY)
    window = 24 * 4
    memo: object | None = None
    estimated_at = []
    for end in range(window, window + 20):
        history = hourly(values[end - window : end], first=end - window)
        forecast = model.forecast(history, horizon=3600, step=3600, memo=memo)
        memo = forecast.memo
        assert isinstance(memo, HoltWintersMemo)
        estimated_at.append(memo.estimated_bin)
    # The window holds 95 complete bins: a refit once 8 new bins have been seen.
    changes = [i for i in range(1, len(estimated_at)) if estimated_at[i] != estimated_at[i - 1]]
    assert changes == [8, 16]


def test_a_reused_model_forecasts_like_one_rolled_forward_by_hand() -> None:
    values = daily(24 * 5)
    model = HoltWinters(season=DAY)
    first = model.forecast(hourly(values[:100]), horizon=3600, step=3600)
    memo = first.memo
    assert isinstance(memo, HoltWintersMemo)
    second = model.forecast(hourly(values[:103]), horizon=3600, step=3600, memo=memo)
    # Bins 99..101 are new and complete (102 still fills); then bin 102 is folded in
    # provisionally. Its one sample is at its start, so the target is one bin after it.
    state = memo.state.advance(values[99:102], memo.params).advance(values[102:103], memo.params)
    assert second.value == pytest.approx(max(0.0, state.predict(1.0)))


def test_warnings_raised_while_fitting_are_recorded_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = ExponentialSmoothing.fit

    def warning_fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        warnings.warn("Optimization failed to converge.", ConvergenceWarning, stacklevel=2)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ExponentialSmoothing, "fit", warning_fit)
    forecast = HoltWinters(season=DAY).forecast(hourly(daily(24 * 3)), horizon=3600, step=3600)
    assert forecast.warnings == ("ConvergenceWarning: Optimization failed to converge.",)
