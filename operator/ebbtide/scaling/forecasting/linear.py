"""``Linear``: the least-squares trend of the recent past, extrapolated to the horizon."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ebbtide.scaling.forecasting.base import Forecast, ModelName
from ebbtide.scaling.series import LoadSeries

# The fitting window, unless given: long enough that the slope is not just noise (at least ten
# samples), short enough to follow a change of trend (four horizons: extrapolating a line one
# window-length ahead amplifies the slope's error, a quarter of one keeps it small).
WINDOW_HORIZONS = 4.0
WINDOW_MIN_SAMPLES = 10


@dataclass(frozen=True)
class Linear:
    """Fits ``value = a + b * time`` by least squares over the last ``window`` seconds of history
    and returns the line's value ``horizon`` seconds after the last sample.

    ``window`` None means ``max(4 * horizon, 10 * step)``. With fewer than two samples in the
    window the last value is held (a line needs two points), and the note says so. A negative
    extrapolation is cut to zero.
    """

    window: float | None = None

    @property
    def name(self) -> ModelName:
        return ModelName.LINEAR

    def forecast(
        self, history: LoadSeries, *, horizon: float, step: float, memo: object | None = None
    ) -> Forecast:
        window = self.window
        if window is None:
            window = max(WINDOW_HORIZONS * horizon, WINDOW_MIN_SAMPLES * step)
        recent = history.since(history.last_time - window)
        if len(recent) < 2:
            return Forecast(
                value=max(0.0, history.last_value),
                model=ModelName.LINEAR,
                note="Linear: fewer than two samples in the window; held the last value",
            )
        # The closed-form least-squares line: for two parameters a general solver (np.polyfit,
        # LAPACK through a threaded BLAS) costs far more than the fit, forty times more on a busy
        # node where the BLAS threads wait for cores. Times are taken relative to the last sample,
        # which keeps the sums well conditioned (Unix seconds squared would lose precision) and
        # makes the intercept the fitted value now.
        times = recent.times - history.last_time
        centred = times - times.mean()
        spread = float(np.dot(centred, centred))
        slope = float(np.dot(centred, recent.values - recent.values.mean())) / spread
        now = float(recent.values.mean()) - slope * float(times.mean())
        return Forecast(value=max(0.0, now + slope * horizon), model=ModelName.LINEAR)
