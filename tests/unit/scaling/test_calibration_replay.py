"""A replay stands in for a model's own residuals until it has enough, and is made again only
every ``REPLAY_EVERY`` seconds (or for another horizon), not every round."""

from __future__ import annotations

import numpy as np
from scaling_builders import series

from ebbtide.scaling.forecasting import Calibrated, Forecast, Naive
from ebbtide.scaling.forecasting.calibration import REPLAY_EVERY, REPLAY_ORIGINS
from ebbtide.scaling.series import LoadSeries

STEP = 15.0


class CountingNaive(Naive):
    """The naive forecast, counting its calls."""

    calls = 0

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast:
        self.calls += 1
        return super().forecast(history, horizon=horizon, step=step, memo=memo)


def rounds(model: Calibrated, load: LoadSeries, *, start: int, count: int, horizon: float) -> object | None:
    """Forecast from the first ``start`` .. ``start + count`` samples, the memo threaded through."""
    memo: object | None = None
    for end in range(start, start + count):
        history = load.until(float(load.times[end - 1]))
        memo = model.forecast(history, horizon=horizon, step=STEP, memo=memo).memo
    return memo


def test_a_replay_is_made_once_per_period_while_it_stands_in() -> None:
    rng = np.random.default_rng(7)
    load = series(100 + rng.normal(0, 10, size=600))
    counting = CountingNaive()
    # Rounds within one period, too few for 20 residuals of the model's own: the replay stands in
    # throughout, made in the first round only (at most REPLAY_ORIGINS forecasts), then one
    # forecast per round.
    count = 19
    assert count * STEP < REPLAY_EVERY
    rounds(Calibrated(counting), load, start=200, count=count, horizon=60.0)
    assert count < counting.calls <= REPLAY_ORIGINS + count


def test_another_horizon_is_replayed_afresh() -> None:
    rng = np.random.default_rng(8)
    load = series(100 + rng.normal(0, 10, size=400))
    counting = CountingNaive()
    model = Calibrated(counting)
    memo = rounds(model, load, start=200, count=2, horizon=60.0)
    before = counting.calls
    model.forecast(load.until(float(load.times[201])), horizon=120.0, step=STEP, memo=memo)
    assert counting.calls - before > 1  # a replay for the new horizon, not the old one's residuals
