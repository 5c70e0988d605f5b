"""A load that changes only when its source updates: its cadence is found in the history, and
headroom is bought only for windows an update can land in, still calibrated."""

from __future__ import annotations

import numpy as np
import pytest
from scaling_builders import T0, series

from ebbtide.scaling.forecasting import Calibrated, Naive
from ebbtide.scaling.forecasting.cadence import Cadence, detect_cadence

pytestmark = pytest.mark.unit

STEP = 15.0
HORIZON = 240.0
UPDATE = 300.0


def held(updates: np.ndarray, *, every: float = UPDATE) -> np.ndarray:
    """``updates`` each held for ``every`` seconds, read every ``STEP`` seconds."""
    return np.repeat(updates, round(every / STEP))


def test_a_five_minute_update_read_every_15s_is_found_with_its_last_update() -> None:
    rng = np.random.default_rng(1)
    values = held(500 + rng.normal(0, 50, 40))
    cadence = detect_cadence(series(values), step=STEP)
    assert cadence is not None
    assert cadence.period == pytest.approx(UPDATE)
    last_change = T0 + STEP * (values.size - round(UPDATE / STEP))
    assert cadence.anchor == pytest.approx(last_change)


def test_an_update_that_repeats_its_value_does_not_hide_the_cadence() -> None:
    rng = np.random.default_rng(2)
    updates = 500 + rng.normal(0, 50, 40)
    updates[[5, 17, 30]] = updates[[4, 16, 29]]
    cadence = detect_cadence(series(held(updates)), step=STEP)
    assert cadence is not None and cadence.period == pytest.approx(UPDATE)


def test_a_load_that_changes_at_every_sample_or_irregularly_has_no_cadence() -> None:
    rng = np.random.default_rng(3)
    assert detect_cadence(series(500 + rng.normal(0, 5, 2000)), step=STEP) is None
    runs = rng.integers(2, 40, 60)
    irregular = np.repeat(500 + rng.normal(0, 50, runs.size), runs)
    assert detect_cadence(series(irregular), step=STEP) is None


def test_an_update_is_within_a_window_only_when_its_time_falls_in_it() -> None:
    cadence = Cadence(period=300.0, anchor=1000.0)
    assert cadence.update_within(1000.0, 1300.0)
    assert not cadence.update_within(1000.0, 1299.0)
    assert cadence.update_within(1550.0, 1700.0)
    assert not cadence.update_within(1300.0, 1599.0)


def test_headroom_is_bought_only_for_windows_an_update_can_land_in_and_stays_calibrated() -> None:
    rng = np.random.default_rng(4)
    values = held(np.maximum(0.0, 500 + np.cumsum(rng.normal(0, 30, 400))))
    forecaster = Calibrated(Naive())
    memo: object | None = None
    ahead = round(HORIZON / STEP)
    quiet_widths: list[float] = []
    misses = due = 0
    for end in range(2000, values.size - ahead):
        forecast = forecaster.forecast(series(values[:end]), horizon=HORIZON, step=STEP, memo=memo)
        memo = forecast.memo
        assert forecast.peak is not None
        upper = forecast.peak.quantile(0.95)
        # The sample at index end - 1 is the last one seen; an update lands at multiples of 20.
        update_due = (end + ahead - 1) // 20 > (end - 1) // 20
        if update_due:
            due += 1
            misses += float(np.max(values[end : end + ahead])) > upper
        else:
            quiet_widths.append(upper - forecast.value)
    # Until the quiet windows have residuals of their own they borrow the others' (cautious).
    assert max(quiet_widths[len(quiet_widths) // 4 :]) == pytest.approx(0.0, abs=1e-9)
    assert 0.02 <= misses / due <= 0.09
