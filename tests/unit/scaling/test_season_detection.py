"""Season detection: a cycle of the load is a season, a slow wander with wiggles on it is not."""

from __future__ import annotations

import numpy as np
import pytest
from scaling_builders import DAY, HOUR, T0

from ebbtide.scaling.forecasting.seasonality import cycles, detect_season
from ebbtide.scaling.series import LoadSeries

pytestmark = pytest.mark.unit

FIVE_MINUTES = 300.0


def history(values: np.ndarray, *, step: float) -> LoadSeries:
    return LoadSeries(times=T0 + step * np.arange(values.size), values=values)


@pytest.mark.parametrize("seed", range(30))
def test_a_random_walk_has_no_season(seed: int) -> None:
    # A random walk's autocorrelation decays slowly with wiggles on it, some of them local maxima
    # above the correlation floor (at 6 to 15 hours for seeds 6, 11, 15 and 25 of these).
    rng = np.random.default_rng(seed)
    walk = 100 + np.cumsum(rng.normal(0, 1, int(3 * DAY / FIVE_MINUTES)))
    assert detect_season(history(walk, step=FIVE_MINUTES), step=15.0) is None


def test_a_daily_season_under_bursts_is_found() -> None:
    rng = np.random.default_rng(4)
    times = np.arange(0, 3 * DAY, FIVE_MINUTES)
    daily = 50 + 30 * np.sin(2 * np.pi * times / DAY)
    # Bursts that linger for an hour make short lags alike, as in tweet volumes: their wiggles
    # (a 2.6-hour one here) outscore the daily peak unless they must be cycles.
    bursts = 20 * np.convolve(rng.exponential(1.0, times.size) ** 2, np.ones(12) / 12, mode="same")
    season = detect_season(history(daily + bursts, step=FIVE_MINUTES), step=15.0)
    assert season is not None and abs(season - DAY) < HOUR


def test_a_peak_is_a_cycle_only_when_half_its_lag_is_at_most_half_as_alike() -> None:
    correlation = np.array([1.0, 0.9, 0.8, 0.2, 0.6, 0.75, 0.7, 0.5, 0.5])
    # Lag 4 (0.6) against lag 2 (0.8): a wiggle. Lag 8 (0.5) against lag 4 (0.6): a wiggle too.
    # Lag 6 (0.7) against lag 3 (0.2): a cycle.
    assert cycles(correlation, np.array([4, 6, 8])).tolist() == [False, True, False]
